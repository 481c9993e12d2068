"""Hypothesis strategies for client frames: near-valid Live messages (both key spellings,
fields of the wrong type, unknown fields, odd base64, huge and non-finite numbers), their
mutations, and raw junk (bytes, broken UTF-8, deep nesting)."""

from __future__ import annotations

import base64
import json

from hypothesis import strategies as st

from openlive.session import GEMINI_LIVE_MODELS

MODELS = [f"models/{m}" for m in GEMINI_LIVE_MODELS] + [
    "models/openlive-emulator", GEMINI_LIVE_MODELS[0], "models/nope", "", "models/"]

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=12))
json_values = st.recursive(
    scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                     st.dictionaries(st.text(max_size=8), inner, max_size=3)),
    max_leaves=8)


def b64(data: bytes, urlsafe: bool) -> str:
    return (base64.urlsafe_b64encode if urlsafe else base64.b64encode)(data).decode()


pcm = st.binary(max_size=64)
blobs = st.builds(
    lambda data, urlsafe, mime, junk: {"data": junk if junk is not None else b64(data, urlsafe),
                                       **({"mimeType": mime} if mime is not None else {})},
    pcm, st.booleans(),
    st.sampled_from([None, "audio/pcm", "audio/pcm;rate=16000", "audio/pcm;rate=24000",
                     "audio/pcm;rate=0", "audio/pcm;rate=-5", "audio/wav", "image/jpeg",
                     "video/mp4", "audio/pcm;rate=99999999999"]),
    st.one_of(st.none(), st.sampled_from(["", "!!", "A", "AAA=", "====", "AAAA"]),
              st.text(max_size=6)))
texts = st.text(max_size=40)
parts = st.one_of(
    st.builds(lambda t: {"text": t}, texts),
    st.builds(lambda b: {"inlineData": b}, blobs),
    st.builds(lambda n, a: {"functionCall": {"name": n, "args": a}},
              st.sampled_from(["f", "get_weather", ""]),
              st.dictionaries(st.text(max_size=4), scalars, max_size=2)),
    json_values)
contents = st.fixed_dictionaries(
    {"parts": st.lists(parts, max_size=3)},
    optional={"role": st.sampled_from(["user", "model", "system", "", "tool"])})

setups = st.fixed_dictionaries({"model": st.sampled_from(MODELS)}, optional={
    "generationConfig": st.fixed_dictionaries({}, optional={
        "responseModalities": st.lists(st.sampled_from(["AUDIO", "TEXT", "IMAGE", "x"]),
                                       max_size=2),
        "temperature": st.one_of(st.floats(), st.text(max_size=3)),
        "maxOutputTokens": st.integers(min_value=-5, max_value=2**40)}),
    "systemInstruction": contents,
    "sessionResumption": st.one_of(st.just({}), st.builds(lambda h: {"handle": h},
                                                          st.sampled_from(["h1", "x", ""]))),
    "contextWindowCompression": st.one_of(
        st.just({"slidingWindow": {}}),
        st.builds(lambda t, g: {"triggerTokens": t, "slidingWindow": {"targetTokens": g}},
                  st.integers(min_value=-1, max_value=10**7),
                  st.integers(min_value=-1, max_value=10**7))),
    "realtimeInputConfig": st.fixed_dictionaries({}, optional={
        "automaticActivityDetection": st.fixed_dictionaries({}, optional={
            "disabled": st.booleans(),
            "silenceDurationMs": st.integers(min_value=-10, max_value=10**6),
            "prefixPaddingMs": st.integers(min_value=-10, max_value=10**6)}),
        "activityHandling": st.sampled_from(["NO_INTERRUPTION",
                                             "START_OF_ACTIVITY_INTERRUPTS", "bad"]),
        "turnCoverage": st.sampled_from(["TURN_INCLUDES_ALL_INPUT", "bad"])}),
    "outputAudioTranscription": st.just({}),
    "inputAudioTranscription": st.just({}),
    "tools": st.lists(st.fixed_dictionaries({}, optional={
        "functionDeclarations": st.lists(st.fixed_dictionaries(
            {"name": st.sampled_from(["f", "get_weather", ""])},
            optional={"behavior": st.sampled_from(["NON_BLOCKING", "BLOCKING", "x"])}),
            max_size=2)}), max_size=2),
    "unknownField": json_values,
})

messages = st.one_of(
    st.builds(lambda s: {"setup": s}, setups),
    st.builds(lambda t, c: {"clientContent": {"turns": t, **c}},
              st.lists(contents, max_size=3),
              st.fixed_dictionaries({}, optional={"turnComplete": json_values})),
    st.builds(lambda body: {"realtimeInput": body}, st.fixed_dictionaries({}, optional={
        "audio": blobs, "video": blobs, "text": texts, "mediaChunks": st.lists(blobs, max_size=2),
        "activityStart": st.just({}), "activityEnd": st.just({}),
        "audioStreamEnd": st.booleans()})),
    st.builds(lambda frs: {"toolResponse": {"functionResponses": frs}}, st.lists(
        st.fixed_dictionaries({}, optional={
            "id": st.sampled_from(["function-call-1", "function-call-2", "x", ""]),
            "name": st.sampled_from(["f", "get_weather"]),
            "response": json_values,
            "scheduling": st.sampled_from(["INTERRUPT", "WHEN_IDLE", "SILENT", "bad"])}),
        max_size=2)),
    st.builds(lambda u: {"contextUpdate": u}, st.fixed_dictionaries({}, optional={
        "systemInstruction": contents, "tools": json_values})),
    st.dictionaries(st.sampled_from(["setup", "clientContent", "realtimeInput",
                                     "toolResponse", "contextUpdate", "client_content",
                                     "realtime_input", "x"]), json_values, max_size=2),
    json_values,
)


def snake(obj: object) -> object:
    """The same message with snake_case keys (both SDK spellings must parse alike)."""
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            out["".join("_" + c.lower() if c.isupper() else c for c in k)] = snake(v)
        return out
    if isinstance(obj, list):
        return [snake(v) for v in obj]
    return obj


def encode(message: object, snake_keys: bool, binary: bool) -> str | bytes:
    text = json.dumps(snake(message) if snake_keys else message)
    return text.encode() if binary else text


encoded_messages = st.builds(encode, messages, st.booleans(), st.booleans())


def nested(depth: int, kind: str) -> str:
    if kind == "list":
        return "[" * depth + "]" * depth
    return '{"realtimeInput":' + '{"a":' * depth + "1" + "}" * depth + "}"


junk = st.one_of(
    st.binary(max_size=64),
    st.text(max_size=64),
    st.builds(nested, st.integers(min_value=1, max_value=5000),
              st.sampled_from(["list", "dict"])),
    st.sampled_from(['{"setup": {"model": "m", "generationConfig": {"temperature": NaN}}}',
                     '{"realtimeInput": {"audio": {"data": "\\ud800"}}}',
                     '{"setup": {"model": "\\udfff"}}', b"\xff\xfe", "", "null", "[]",
                     '{"setup": {}, "clientContent": {}}']),
)

frames = st.one_of(encoded_messages, encoded_messages, encoded_messages, junk)


# -------------------------------------------- well-formed traffic (to get past the setup)

good_setups = st.builds(
    lambda model, fields: json.dumps({"setup": {"model": model, **fields}}),
    st.sampled_from([f"models/{m}" for m in GEMINI_LIVE_MODELS] + ["models/openlive-emulator"]),
    st.fixed_dictionaries({}, optional={
        "sessionResumption": st.one_of(st.just({}), st.just({"handle": "h1"})),
        "contextWindowCompression": st.just({"triggerTokens": 40,
                                             "slidingWindow": {"targetTokens": 10}}),
        "realtimeInputConfig": st.one_of(
            st.just({"automaticActivityDetection": {"disabled": True}}),
            st.just({"activityHandling": "NO_INTERRUPTION"})),
        "outputAudioTranscription": st.just({}),
        "tools": st.just([{"functionDeclarations": [
            {"name": "f"}, {"name": "get_weather", "behavior": "NON_BLOCKING"}]}]),
        "generationConfig": st.just({"responseModalities": ["AUDIO"]}),
    }))
good_messages = st.one_of(
    st.builds(lambda t, c: json.dumps({"clientContent": {
        "turns": [{"role": "user", "parts": [{"text": t}]}], "turnComplete": c}}),
        texts, st.booleans()),
    st.builds(lambda t: json.dumps({"realtimeInput": {"text": t}}), texts),
    st.builds(lambda n: json.dumps({"realtimeInput": {"audio": {
        "mimeType": "audio/pcm;rate=16000", "data": b64(b"\0\1" * n, False)}}}),
        st.integers(min_value=0, max_value=64)),
    st.sampled_from([json.dumps({"realtimeInput": {"activityStart": {}}}),
                     json.dumps({"realtimeInput": {"activityEnd": {}}}),
                     json.dumps({"realtimeInput": {"audioStreamEnd": True}}),
                     json.dumps({"realtimeInput": {"video": {"mimeType": "image/jpeg",
                                                             "data": "AAAA"}}})]),
    st.builds(lambda i, r: json.dumps({"toolResponse": {"functionResponses": [
        {"id": f"function-call-{i}", "name": "f", "response": r}]}}),
        st.integers(min_value=1, max_value=4), st.sampled_from([{"output": 1}, {}])),
    st.builds(lambda t: json.dumps({"contextUpdate": {"systemInstruction": {
        "parts": [{"text": t}]}}}), texts),
)
