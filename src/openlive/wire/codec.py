"""Frames in, models out (and back): JSON parsing with Google's error texts. No I/O."""

from __future__ import annotations

import json
from collections.abc import Generator
from typing import Any

from pydantic import ValidationError
from pydantic.alias_generators import to_snake
from pydantic_core import PydanticCustomError, from_json

from .base import decode_base64
from .client_messages import ClientMessage
from .content import Blob
from .errors import INVALID_ARGUMENT, INVALID_JSON, LiveError
from .server_messages import ServerMessage

_TYPE_LABELS = {
    "int": "TYPE_INT32",
    "int32": "TYPE_INT32",  # base.Int32 and friends: out of the proto type's range
    "int64": "TYPE_INT64",
    "finite": "TYPE_FLOAT",  # NaN or an infinity in a float field
    "float": "TYPE_FLOAT",
    "bool": "TYPE_BOOL",
    "string": "TYPE_STRING",
    "str": "TYPE_STRING",
    "bytes": "TYPE_BYTES",
    "literal": "TYPE_ENUM",
    "model": "TYPE_MESSAGE",
    "dict": "TYPE_MESSAGE",
    "list": "TYPE_MESSAGE (repeated)",
}


# The size of one client message. Google documents no limit on a Live message's size or
# shape (the Live API pages, the WebSockets API reference and spec/protocol.md §5 are
# silent); openlive's own limits, past which the session closes with 1009, the WebSocket
# code for "a message that is too big for it to process" (RFC 6455 §7.4.1):
# - 16 MiB a frame (the server's max_msg_size, MAX_CLIENT_MESSAGE in server/app.py);
# - MAX_PARTS parts and MAX_OBJECTS JSON objects in one message. Validating a part costs
#   about 5-15 µs on the event loop, so the 1M parts that fit in 15 MiB blocked every
#   session for 10-16 s; 10,000 parts (a long conversation's history) cost 50-150 ms.
MAX_PARTS = 10_000
MAX_OBJECTS = 100_000
_SHAPE_CHECK_BYTES = 64 * 1024  # a smaller frame cannot hold MAX_PARTS parts


class _TooMany(Exception):
    pass


def check_message_shape(frame: str) -> None:
    """Refuse a frame holding more than MAX_PARTS parts or MAX_OBJECTS objects, before the
    schema builds them: a cheap count of ``{`` clears almost every frame; a frame with more
    braces is scanned by the C JSON parser, which stops at the first count past its limit
    (the 1M-part frame: after 100,000 objects). Parts are the items of every ``parts``
    list (the key is the same in camelCase and snake_case)."""
    if len(frame) <= _SHAPE_CHECK_BYTES or frame.count("{") <= MAX_PARTS:
        return
    counter = _count_shape()
    next(counter)
    try:  # each object, as the parser finishes it, is sent to the counter (and dropped)
        json.loads(frame, object_hook=counter.send)
    except _TooMany as exc:
        raise LiveError(1009, f"openlive: one message holds {exc}: send less at a "
                              "time") from None
    except (ValueError, RecursionError):
        return  # not JSON, or too deep: the schema's parser says so in Google's words


def _count_shape() -> Generator[None, dict[str, Any], None]:
    """Counts the objects sent to it and the items of their ``parts`` lists; raises
    _TooMany past a limit. A generator's ``send`` as the parser's hook costs about half a
    function's call: the 1M-part frame is refused after 24 ms instead of 55 ms, a frame of
    10,000 parts passes in 5 ms instead of 20 ms (2 cores)."""
    objects = parts = 0
    while True:
        obj = yield None  # None replaces the object: nothing is kept
        objects += 1
        if objects > MAX_OBJECTS:
            raise _TooMany(f"more than {MAX_OBJECTS} JSON objects")
        items = obj.get("parts")
        if type(items) is list:
            parts += len(items)
            if parts > MAX_PARTS:
                raise _TooMany(f"more than {MAX_PARTS} parts")


def parse_client_frame(frame: str | bytes) -> ClientMessage:
    """Parse one client frame (text or binary), or raise LiveError(1007, Google's reason);
    1009 for a message past openlive's size limits (:func:`check_message_shape`)."""
    if isinstance(frame, bytes | bytearray):
        try:
            frame = bytes(frame).decode("utf-8")
        except UnicodeDecodeError:
            raise LiveError(1007, INVALID_JSON + "Unexpected token.") from None
    check_message_shape(frame)
    if "NaN" in frame or "Infinity" in frame:
        _refuse_non_finite_tokens(frame)
    try:
        return ClientMessage.model_validate_json(frame, context={"strict": True})
    except ValidationError as exc:
        raise LiveError(1007, describe_error(exc)) from None


def _refuse_non_finite_tokens(frame: str) -> None:
    """Refuse the bare tokens NaN, Infinity and -Infinity, which the parser under
    model_validate_json accepts (so does Python's json) and RFC 8259 does not: protobuf's
    JSON parser answers "Unexpected token." (json_stream_parser.cc, ParseValue). Only
    frames holding one of the words are parsed a second time, strictly; where the words
    are text in a string the frame passes. A float field also refuses NaN and the
    infinities spelled as strings (base.WireModel, allow_inf_nan=False)."""
    try:
        from_json(frame, allow_inf_nan=False)
    except ValueError as exc:
        if "recursion limit" not in str(exc):  # too deep: the general parse says so
            raise LiveError(1007, INVALID_JSON + "Unexpected token.") from None


_MEDIA_KEYS = frozenset(("realtimeInput", "realtime_input"))
_MEDIA_KINDS = frozenset(("audio", "video"))
_MIME_KEYS = frozenset(("mimeType", "mime_type"))


def parse_media_frame(frame: str | bytes) -> tuple[str, Blob] | None:
    """Fast path for the hottest frame, ``{"realtimeInput": {"audio"|"video": {data,
    mimeType}}}``: ("audio"|"video", Blob), or None for anything else (which then takes
    :func:`parse_client_frame`, the one source of error texts). Same result, half the cost."""
    head = frame[:32]
    if ("realtime" if isinstance(head, str) else b"realtime") not in head:
        return None
    try:
        obj = json.loads(frame)
    except (ValueError, RecursionError):  # nested ~1,000 deep: the general parser refuses it
        return None
    if type(obj) is not dict or len(obj) != 1:
        return None
    ((key, inner),) = obj.items()
    if key not in _MEDIA_KEYS or type(inner) is not dict or len(inner) != 1:
        return None
    ((kind, blob),) = inner.items()
    if kind not in _MEDIA_KINDS or type(blob) is not dict:
        return None
    data, mime = blob.get("data"), None
    for k, v in blob.items():
        if k in _MIME_KEYS and type(v) is str and v.isascii():
            mime = v  # (json.loads keeps a lone surrogate, which the general parser refuses)
        elif k != "data":
            return None
    if type(data) is not str:
        return None
    try:
        raw = decode_base64(data)
    except PydanticCustomError:
        return None
    return kind, Blob(mime_type=mime, data=raw)


def client_message_from_dict(data: dict[str, Any]) -> ClientMessage:
    """Like parse_client_frame for an already-decoded JSON object."""
    try:
        return ClientMessage.model_validate(data, context={"strict": True})
    except ValidationError as exc:
        raise LiveError(1007, describe_error(exc)) from None


def encode_server_message(message: ServerMessage) -> bytes:
    """camelCase JSON, None fields left out, bytes as standard base64. ASCII only, as Google
    sends it (non-ASCII as \\uXXXX): the cookbook's raw client decodes frames as ASCII."""
    return message.model_dump_json(exclude_none=True, ensure_ascii=True).encode("ascii")


def parse_server_frame(frame: str | bytes) -> ServerMessage:
    """Tolerant parse of a server frame (unknown fields ignored): for clients."""
    return ServerMessage.model_validate_json(frame)


def proto_path(loc: tuple[Any, ...]) -> str:
    """Google's snake_case field path of a pydantic error location.

    ('setup', 'generationConfig', 'responseModalities', 0)
    -> 'setup.generation_config.response_modalities[0]'
    """
    out = ""
    for item in loc:
        if isinstance(item, int):
            out += f"[{item}]"
        elif isinstance(item, str) and "[" not in item and "-" not in item:
            out += ("." if out else "") + to_snake(item)
    return out


def describe_error(exc: ValidationError) -> str:
    """Google's ESF wording for the first problem pydantic found."""
    err = exc.errors(include_url=False)[0]
    etype = err["type"]
    loc = tuple(err["loc"])
    if etype == "json_invalid":
        if "recursion limit" in err["msg"]:
            # protobuf's JSON parser stops at a depth of 100: "Message too deep. Max
            # recursion depth reached for key '…'" (json_stream_parser.cc); pydantic's
            # parser stops at about 200 and names no key. Google's limit for Live is unmeasured.
            return INVALID_JSON + "Message too deep. Max recursion depth reached."
        return INVALID_JSON + "Unexpected token."
    if etype == "unknown_name":
        name = err["ctx"]["name"]
        where = proto_path(loc)
        at = f" at '{where}'" if where else ""
        return INVALID_JSON + f'Unknown name "{name}"{at}: Cannot find field.'
    if not loc and etype in ("model_type", "model_attributes_type", "dict_type"):
        return INVALID_JSON + 'Unknown name "": Root element must be a message.'
    if not loc:
        return INVALID_ARGUMENT
    kind = etype.split("_", 1)[0]
    label = _TYPE_LABELS.get(kind, "TYPE_MESSAGE")
    try:
        shown = json.dumps(err.get("input"))
    except (TypeError, ValueError):
        shown = repr(err.get("input"))
    if len(shown) > 40:
        shown = shown[:40] + "…"
    return INVALID_JSON + f"Invalid value at '{proto_path(loc)}' ({label}), {shown}"
