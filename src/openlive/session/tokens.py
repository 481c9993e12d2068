"""Ephemeral tokens (spec/protocol.md §1, spec/sdk-wire.md §6): pure rules, no I/O.

A token is a record (a JSON-able dict) that a store keeps:
``{"name", "uses", "expire_time", "new_session_expire_time", "setup", "field_mask"}``;
times are Unix seconds and ``setup`` the constraint ``bidiGenerateContentSetup`` as JSON.
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from pydantic import ValidationError
from pydantic.alias_generators import to_snake

from ..wire import errors
from ..wire.codec import describe_error
from ..wire.errors import LiveError
from ..wire.setup import Setup

TOKEN_PREFIX = "auth_tokens/"
EXPIRE_DEFAULT = 30 * 60.0  # expireTime: now + 30 min
NEW_SESSION_DEFAULT = 60.0  # newSessionExpireTime: now + 1 min
MAX_AHEAD = 20 * 3600.0  # both must be less than 20 h in the future


class TokenRequestError(ValueError):
    """A bad POST …/auth_tokens body: HTTP 400 INVALID_ARGUMENT with this message."""


def new_token_name() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(24)


def parse_time(value: Any, field: str) -> float:
    """RFC 3339 (``2030-01-01T00:30:00Z``, ``…+00:00``, fractions) to Unix seconds."""
    if not isinstance(value, str) or not value:
        raise TokenRequestError(f"Invalid value at '{field}' (type.googleapis.com/"
                                f"google.protobuf.Timestamp), {value!r}")
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        raise TokenRequestError(f"Invalid value at '{field}' (type.googleapis.com/"
                                f"google.protobuf.Timestamp), \"{value}\"") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when.timestamp()


def format_time(seconds: float) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.UTC).isoformat().replace("+00:00", "Z")


def _get(body: dict[str, Any], camel: str) -> Any:
    return body[camel] if camel in body else body.get(to_snake(camel))


def make_token(body: dict[str, Any] | None, now: float, name: str | None = None) -> dict:
    """The token record for a create request body (both SDKs' shapes), or TokenRequestError."""
    body = body or {}
    if not isinstance(body, dict):
        raise TokenRequestError('Invalid JSON payload received. Unknown name "": '
                                "Root element must be a message.")
    known = {"uses", "expireTime", "expire_time", "newSessionExpireTime",
             "new_session_expire_time", "bidiGenerateContentSetup",
             "bidi_generate_content_setup", "fieldMask", "field_mask", "name"}
    for key in body:
        if key not in known:
            raise TokenRequestError(f'Invalid JSON payload received. Unknown name "{key}": '
                                    "Cannot find field.")
    uses_raw = _get(body, "uses")
    try:
        uses = 1 if uses_raw is None else int(uses_raw)
    except (TypeError, ValueError):
        raise TokenRequestError(f"Invalid value at 'uses' (TYPE_INT32), {uses_raw!r}") from None
    if uses < 0:
        raise TokenRequestError("uses must not be negative")
    raw_expire = _get(body, "expireTime")
    expire = now + EXPIRE_DEFAULT if raw_expire is None else parse_time(raw_expire, "expire_time")
    raw_new = _get(body, "newSessionExpireTime")
    new_session = (now + NEW_SESSION_DEFAULT if raw_new is None
                   else parse_time(raw_new, "new_session_expire_time"))
    for value, field in ((expire, "expire_time"), (new_session, "new_session_expire_time")):
        if value <= now:
            raise TokenRequestError(f"{field} must be in the future")
        if value - now >= MAX_AHEAD:
            raise TokenRequestError(f"{field} must be less than 20 hours in the future")
    setup_json = None
    raw_setup = _get(body, "bidiGenerateContentSetup")
    if raw_setup is not None:
        if not isinstance(raw_setup, dict):
            raise TokenRequestError("Invalid value at 'bidi_generate_content_setup'")
        try:
            setup = Setup.model_validate(raw_setup, context={"strict": True})
        except ValidationError as exc:
            raise TokenRequestError(describe_error(exc).replace(
                "'", "'bidi_generate_content_setup.", 1)) from None
        setup_json = setup.to_json_dict()
    raw_mask = _get(body, "fieldMask")
    mask = None
    if raw_mask is not None:
        if not isinstance(raw_mask, str):
            raise TokenRequestError("Invalid value at 'field_mask' (type.googleapis.com/"
                                    "google.protobuf.FieldMask)")
        mask = [snake_path(p) for p in raw_mask.split(",") if p.strip()]
    return {"name": name or new_token_name(), "uses": uses, "expire_time": expire,
            "new_session_expire_time": new_session, "setup": setup_json, "field_mask": mask}


def snake_path(path: str) -> str:
    """``generationConfig.temperature`` -> ``generation_config.temperature``."""
    return ".".join(to_snake(p.strip()) for p in path.strip().split("."))


def token_response(record: dict) -> dict[str, Any]:
    """What POST …/auth_tokens returns (only ``name`` matters to the SDKs)."""
    return {"name": record["name"], "expireTime": format_time(record["expire_time"]),
            "newSessionExpireTime": format_time(record["new_session_expire_time"]),
            "uses": record["uses"]}


def token_error(record: dict | None, now: float) -> LiveError | None:
    """Can this token open a connection at all (unknown or past expireTime)?"""
    if record is None:
        return LiveError(1008, errors.UNREGISTERED_CALLER, "unknown ephemeral token")
    if now >= record["expire_time"]:
        return LiveError(1008, errors.UNREGISTERED_CALLER,
                         "ephemeral token expired (past its expireTime)")
    return None


def new_session_error(record: dict, now: float) -> LiveError | None:
    """May this token start a new (not resumed) session now? Uses are counted by the store."""
    if now >= record["expire_time"]:
        return LiveError(1008, errors.UNREGISTERED_CALLER,
                         "ephemeral token expired (past its expireTime)")
    if now >= record["new_session_expire_time"]:
        return LiveError(1008, errors.UNREGISTERED_CALLER,
                         "ephemeral token past its newSessionExpireTime (no new sessions)")
    uses = record.get("uses", 1)
    if uses and record.get("used", 0) >= uses:
        return LiveError(1008, errors.UNREGISTERED_CALLER,
                         f"ephemeral token spent (all {uses} uses taken)")
    return None


_MISSING = object()


def _lookup(data: dict, path: list[str]) -> Any:
    for key in path:
        if not isinstance(data, dict) or key not in data:
            return _MISSING
        data = data[key]
    return data


def _assign(data: dict, path: list[str], value: Any) -> None:
    for key in path[:-1]:
        nxt = data.get(key)
        if not isinstance(nxt, dict):
            if value is _MISSING:
                return
            nxt = data[key] = {}
        data = nxt
    if value is _MISSING:
        data.pop(path[-1], None)
    else:
        data[path[-1]] = value


def constrain_setup(client: Setup, record: dict) -> Setup:
    """The setup a token allows: locked fields take the token's values.

    No fieldMask: the token's whole setup is the setup (the client's fields are dropped).
    A fieldMask: exactly those paths come from the token (absent there: removed). The
    client's resumption handle is always kept.
    """
    constraint = record.get("setup")
    if not constraint:
        return client
    locked = Setup.model_validate(constraint).model_dump(by_alias=False, exclude_none=True)
    mine = client.model_dump(by_alias=False, exclude_none=True)
    mask = record.get("field_mask")
    if mask is None:
        out = locked
    else:
        out = mine
        for path in mask:
            keys = path.split(".")
            _assign(out, keys, _lookup(locked, keys))
    handle = client.session_resumption and client.session_resumption.handle
    if handle:
        out.setdefault("session_resumption", {})["handle"] = handle
    return Setup.model_validate(out)
