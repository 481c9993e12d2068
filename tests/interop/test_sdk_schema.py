"""Schema parity with the newest google-genai: every field of the SDK's own Live config and
Part types that it serialises for the Developer API reaches openlive's parser and is accepted,
except what Google's proto refuses (issue 12).

The walk uses the SDK's types and its own converters, as ``live.py`` calls them
(``_LiveConnectParameters_to_mldev``, ``_LiveClientContent_to_mldev``), so a new SDK release
is checked by upgrading ``google-genai`` and running this file. The version tested is pinned
below; to re-run on a new SDK: ``pip install -U google-genai``, update ``TESTED_SDK`` and run
``pytest tests/interop/test_sdk_schema.py``; a failure names the field and the reason.
"""

from __future__ import annotations

import enum
import inspect
import json
import types as pytypes
import typing
from collections.abc import Callable, Iterator
from importlib.metadata import version
from typing import Any

import pydantic
import pytest
from google.genai import _common, types
from google.genai import _live_converters as lc
from google.genai.client import Client

from openlive.wire.codec import parse_client_frame
from openlive.wire.errors import LiveError

TESTED_SDK = "3.6.1"
MODEL = "models/gemini-3.8-live"

# What Google's proto refuses although the SDK's type allows it (the reason is Google's
# proto-JSON check): topK is an int32 in GenerationConfig, the SDK's type a float.
REFUSED = {
    "top_k": "(TYPE_INT32), 0.5",
    "generation_config.top_k": "(TYPE_INT32), 0.5",
}
# What the SDK refuses itself before anything is sent on the Developer API (its message).
SDK_REFUSES = {
    "explicit_vad_signal", "session_resumption.transparent",
    "speech_config.multi_speaker_voice_config.speaker_voice_configs",
}
PART_SDK_REFUSES = {"function_call.partial_args", "function_call.will_continue"}  # Vertex only
SKIPPED = {"http_options"}  # client-side options, never on the wire

_api = Client(api_key="schema-walk")._api_client


def _sample(annotation: Any) -> Any:
    """One value for a field: the first non-None member of a union, one item of a list,
    the first specified enum member, a model class (walked into)."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (typing.Union, pytypes.UnionType):
        for arg in args:
            value = _sample(arg) if arg is not type(None) else None
            if value is not None:
                return value
        return None
    if origin is list:
        value = _sample(args[0])
        return None if value is None else [value]
    simple = {bool: True, int: 1, float: 0.5, str: "en-US", bytes: b"\x00\x01"}
    if annotation in simple:
        return simple[annotation]
    if inspect.isclass(annotation) and issubclass(annotation, enum.Enum):
        members = [m for m in annotation if "UNSPECIFIED" not in m.name]
        return (members or list(annotation))[0]
    if inspect.isclass(annotation) and issubclass(annotation, pydantic.BaseModel):
        return annotation
    return None


def _leaves(model: type[pydantic.BaseModel], depth: int = 0
            ) -> Iterator[tuple[str, Callable[[], dict[str, Any]]]]:
    """(dotted path, a builder of ``{field: value}``) for each leaf field of ``model``."""
    for name, info in model.model_fields.items():
        if name in SKIPPED:
            continue
        value = _sample(info.annotation)
        if inspect.isclass(value) and issubclass(value, pydantic.BaseModel):
            if depth < 3:
                listed = typing.get_origin(info.annotation) is list or "list[" in str(
                    info.annotation)
                for path, inner in _leaves(value, depth + 1):
                    def build(inner=inner, cls=value, name=name, listed=listed):
                        item = cls(**inner())
                        return {name: [item] if listed else item}
                    yield f"{name}.{path}", build
            continue
        if value is not None:
            yield name, lambda name=name, value=value: {name: value}


def _config_leaves() -> list[tuple[str, Callable[[], dict[str, Any]]]]:
    return list(_leaves(types.LiveConnectConfig))


def _setup_frame(config: types.LiveConnectConfig) -> str:
    """The setup as google-genai's live.py builds it for the Developer API."""
    request = _common.convert_to_dict(lc._LiveConnectParameters_to_mldev(
        api_client=_api,
        from_object=types.LiveConnectParameters(model=MODEL, config=config).model_dump(
            exclude_none=True)))
    request.pop("config", None)
    request = _common.encode_unserializable_types(request)
    request.setdefault("setup", {})["model"] = MODEL
    return json.dumps(request)


def test_the_tested_sdk_is_installed():
    assert version("google-genai") == TESTED_SDK, (
        "a new google-genai: re-run this walk and update TESTED_SDK (module docstring)")


@pytest.mark.parametrize("path,build", _config_leaves(), ids=[p for p, _ in _config_leaves()])
def test_every_live_config_field_the_sdk_sends_is_accepted_or_refused_as_google(path, build):
    config = types.LiveConnectConfig(**build())
    try:
        frame = _setup_frame(config)
    except ValueError as exc:  # the SDK's own check, before the wire
        assert path in SDK_REFUSES, f"{path}: the SDK refuses it: {exc}"
        return
    assert path not in SDK_REFUSES, f"{path}: the SDK now sends it"
    try:
        parse_client_frame(frame)
    except LiveError as exc:
        assert path in REFUSED and REFUSED[path] in exc.reason, (
            f"{path} refused: {exc.code} {exc.reason}\n{frame}")
        assert exc.code == 1007
        return
    assert path not in REFUSED, f"{path} accepted, Google refuses it\n{frame}"


@pytest.mark.parametrize("path,build", list(_leaves(types.Part)),
                         ids=[p for p, _ in _leaves(types.Part)])
def test_every_part_field_the_sdk_sends_in_client_content_is_accepted(path, build):
    try:
        part = types.Part(**build())
    except pydantic.ValidationError:
        pytest.fail(f"{path}: cannot build the SDK's own Part")
    content = types.LiveClientContent(turns=[types.Content(role="user", parts=[part])],
                                      turn_complete=True).model_dump(mode="json",
                                                                     exclude_none=True)
    try:
        wire = lc._LiveClientContent_to_mldev(from_object=content)
    except ValueError:
        assert path in PART_SDK_REFUSES, f"{path}: the SDK refuses it"
        return
    assert path not in PART_SDK_REFUSES, f"{path}: the SDK now sends it"
    # a field openlive does not know raises LiveError (1007)
    parse_client_frame(json.dumps({"client_content": wire}))


# ----------------------------------------------------------- @google/genai (Node)

JS_SDK_REFUSES = {  # the JS SDK's own refusals on the Developer API (its messages)
    "explicitVadSignal", "sessionResumption.transparent", "safetySettings.method",
    "speechConfig.multiSpeakerVoiceConfig.speakerVoiceConfigs.speaker",
    "speechConfig.multiSpeakerVoiceConfig.speakerVoiceConfigs.voiceConfig.voice",
}
JS_CLOSED = {  # a sample value with a meaning: an unknown handle is not found (1008)
    "sessionResumption.handle": "1008 BidiGenerateContent session not found",
}


@pytest.mark.parametrize("sdk", ["pinned", "newest"])
async def test_every_live_config_field_the_js_sdk_sends_is_accepted(serve, sdk):
    """tests/interop/js/schema_walk.mjs reads LiveConnectConfig from the package's own
    genai.d.ts and connects through the SDK once per leaf field (219 in 3.3.0). The server
    is permissive, so the per-model refusals (tested in tests/session/test_models.py) do
    not hide a schema gap."""
    import asyncio
    import os
    import shutil
    from pathlib import Path

    from test_js_sdk import SDKS

    node = shutil.which("node")
    assert node, "node is not installed: the JS interop tests need Node.js >= 20"
    server = await serve(permissive=True)
    js = Path(__file__).parent / "js"
    proc = await asyncio.create_subprocess_exec(
        node, "schema_walk.mjs", server.http_url, cwd=js,
        env={**os.environ, "OPENLIVE_GENAI_MODULE": SDKS[sdk]},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    async with asyncio.timeout(240):
        out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()[-2000:]
    results = json.loads(out.decode().strip().splitlines()[-1])
    assert len(results) > 100  # the walk is real
    wrong = []
    for r in results:
        if r["path"] in JS_SDK_REFUSES:
            ok = r["outcome"] == "sdk-refuses"
        elif r["path"] in JS_CLOSED:
            ok = r["outcome"] == "closed" and r["detail"] == JS_CLOSED[r["path"]]
        else:
            ok = r["outcome"] == "accepted"
        if not ok:
            wrong.append(r)
    assert not wrong, wrong
