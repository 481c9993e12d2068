"""Raw WebSocket clients written the way Google's guides and popular clients write them.

The code under test is the client shape of Google's "Get started with the Live API using
WebSockets" cookbook (Python ``websockets``; key in ``?key=``; every server frame decoded
with ``raw.decode("ascii")``), plus the paths and message shapes other real clients send
(spec/clients.md): ``//ws/…`` double slashes, a base-URL path prefix, pipecat's
all-snake_case setup, and the deprecated ``realtime_input.media_chunks`` audio.

Google's Live models answer in AUDIO only, which is also the default when a setup names no
modality (issue 12): a client reads the reply's words from ``outputTranscription``, which
it asks for with ``output_audio_transcription`` in its setup.
"""

from __future__ import annotations

import asyncio
import base64
import json
import math
import struct
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

pytestmark = pytest.mark.interop

METHOD = "google.ai.generativelanguage.{version}.GenerativeService.BidiGenerateContent"
HOST_PATH = "/ws/" + METHOD
TIMEOUT = 10
AUDIO_MIME = "audio/pcm;rate=24000"
AUDIO_TOKENS_PER_SECOND = 32  # Google's count for audio (ai.google.dev: token counting)


def live_uri(server: Any, *, prefix: str = "", version: str = "v1beta", key: str = "KEY") -> str:
    path = prefix + HOST_PATH.format(version=version)
    return f"ws://127.0.0.1:{server.port}{path}?key={key}"


def decode(raw: bytes) -> dict[str, Any]:
    """The cookbook client's decoding: it calls .decode("ascii") on every message, so it
    needs binary frames of ASCII-only JSON."""
    assert isinstance(raw, bytes), f"expected a binary frame, got {type(raw).__name__}"
    return json.loads(raw.decode("ascii"))


async def setup_session(ws: ClientConnection, setup: dict[str, Any]) -> dict[str, Any]:
    await ws.send(json.dumps(setup))
    first = decode(await ws.recv())
    assert first == {"setupComplete": {}}, first
    return first


async def read_turn(ws: ClientConnection) -> tuple[str, list[dict[str, Any]]]:
    """Read frames until turnComplete, like the cookbook's receive loop: the text is that of
    text parts and of outputTranscription (the words of AUDIO replies)."""
    text, messages = [], []
    async for raw in ws:
        msg = decode(raw)
        messages.append(msg)
        content = msg.get("serverContent", {})
        for part in content.get("modelTurn", {}).get("parts", []):
            text.append(part.get("text", ""))
        text.append(content.get("outputTranscription", {}).get("text", ""))
        if content.get("turnComplete"):
            break
    return "".join(text), messages


def audio_of(messages: list[dict[str, Any]]) -> bytes:
    """The reply's audio: every inlineData part, each Live's 24 kHz PCM."""
    parts = [p for m in messages
             for p in m.get("serverContent", {}).get("modelTurn", {}).get("parts", [])]
    assert all(p.get("inlineData", {}).get("mimeType") == AUDIO_MIME for p in parts), parts
    return b"".join(base64.b64decode(p["inlineData"]["data"]) for p in parts)


def pcm_tone(seconds: float = 0.1, rate: int = 16000) -> bytes:
    samples = int(seconds * rate)
    return b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * i / rate)))
                    for i in range(samples))


async def test_cookbook_raw_websocket_text_turn(serve):
    """The guide's flow: setup (model, and the transcript of the audio reply),
    setupComplete, client_content, read until turnComplete; every frame is binary ASCII
    JSON in Google's order: the audio, one part a message (a 2.x model), its transcript in
    its own message, generationComplete, turnComplete with the usage."""
    server = await serve()
    async with asyncio.timeout(TIMEOUT):
        async with connect(live_uri(server),
                           additional_headers={"Content-Type": "application/json"}) as ws:
            await setup_session(ws, {"setup": {"model": "models/gemini-2.0-flash-exp",
                                               "output_audio_transcription": {}}})
            await ws.send(json.dumps({"client_content": {
                "turns": [{"role": "user", "parts": [{"text": "Hello?"}]}],
                "turn_complete": True}}))
            text, messages = await read_turn(ws)
    assert text == "You said: Hello?"
    *audio, said, gen, last = messages
    assert audio and all(
        m == {"serverContent": {"modelTurn": {"role": "model", "parts": [
            {"inlineData": {"mimeType": AUDIO_MIME,
                            "data": m["serverContent"]["modelTurn"]["parts"][0][
                                "inlineData"]["data"]}}]}}}
        for m in audio), audio
    pcm = audio_of(audio)
    assert len(pcm) % 2 == 0 and pcm.strip(b"\0")  # PCM16, not silence
    assert said == {"serverContent": {"outputTranscription": {"text": "You said: Hello?"}}}
    assert gen == {"serverContent": {"generationComplete": True}}
    assert last["serverContent"] == {"turnComplete": True}
    usage = last["usageMetadata"]
    seconds = len(pcm) / (2 * 24_000)
    assert usage["responseTokenCount"] == math.ceil(seconds * AUDIO_TOKENS_PER_SECOND)
    assert usage["totalTokenCount"] == usage["promptTokenCount"] + usage["responseTokenCount"]
    assert usage["responseTokensDetails"] == [{"modality": "AUDIO",
                                               "tokenCount": usage["responseTokenCount"]}]


async def test_cookbook_decode_ascii_survives_non_ascii_text(serve):
    """Google sends ASCII JSON (non-ASCII escaped as \\uXXXX), so the cookbook's
    raw.decode("ascii") works for any language; a reply with é, ☕ and an emoji must too."""
    server = await serve()
    said = "Café ☕ – naïve 🎉"
    async with asyncio.timeout(TIMEOUT):
        async with connect(live_uri(server)) as ws:
            await setup_session(ws, {"setup": {"model": "models/gemini-2.0-flash-exp",
                                               "output_audio_transcription": {}}})
            await ws.send(json.dumps({"client_content": {
                "turns": [{"role": "user", "parts": [{"text": said}]}], "turn_complete": True}},
                ensure_ascii=False))
            text, messages = await read_turn(ws)
    assert text == f"You said: {said}"
    assert audio_of(messages)


@pytest.mark.parametrize("prefix", ["/", "/prefix", "/a/b/", "//"],
                         ids=["double-slash", "prefix", "nested-prefix-slash", "triple-slash"])
async def test_paths_with_slashes_and_prefixes(serve, prefix):
    """``//ws/…`` (both JS SDKs, and google-genai with a base URL ending in /) and
    ``/prefix/ws/…`` (a base URL with a path)."""
    server = await serve()
    async with asyncio.timeout(TIMEOUT):
        async with connect(live_uri(server, prefix=prefix)) as ws:
            await setup_session(ws, {"setup": {"model": "models/gemini-2.0-flash-exp",
                                               "outputAudioTranscription": {}}})
            await ws.send(json.dumps({"clientContent": {
                "turns": [{"role": "user", "parts": [{"text": prefix}]}], "turnComplete": True}}))
            text, messages = await read_turn(ws)
    assert text == f"You said: {prefix}"
    assert audio_of(messages)


@pytest.mark.parametrize("version", ["v1", "v1beta", "v1alpha"])
async def test_every_api_version(serve, version):
    server = await serve()
    async with asyncio.timeout(TIMEOUT):
        async with connect(live_uri(server, version=version, prefix="/")) as ws:
            await setup_session(
                ws, {"setup": {"model": "models/gemini-2.5-flash-native-audio-preview-12-2025",
                               "outputAudioTranscription": {}}})
            await ws.send(json.dumps({"realtimeInput": {"text": version}}))
            text, messages = await read_turn(ws)
    assert text == f"You said: {version}"
    assert audio_of(messages)


async def test_unknown_path_is_not_a_live_endpoint(serve):
    """A near miss (no /ws/ segment) must be refused at the handshake."""
    server = await serve()
    bad = f"ws://127.0.0.1:{server.port}/{METHOD.format(version='v1beta')}?key=KEY"
    async with asyncio.timeout(TIMEOUT):
        with pytest.raises(Exception) as info:
            async with connect(bad):
                pass
    assert "404" in str(info.value)


async def test_pipecat_all_snake_case_setup(serve):
    """pipecat's multimodal-live client: snake_case keys at every level of the setup."""
    server = await serve()
    async with asyncio.timeout(TIMEOUT):
        async with connect(live_uri(server)) as ws:
            await setup_session(ws, {"setup": {
                "model": "models/gemini-2.0-flash-exp",
                "generation_config": {"response_modalities": ["TEXT"],
                                      "speech_config": {"voice_config": {
                                          "prebuilt_voice_config": {"voice_name": "Puck"}}}},
                "system_instruction": {"parts": [{"text": "Be brief."}]},
                "tools": [{"function_declarations": [{
                    "name": "get_time", "description": "Current time",
                    "parameters": {"type": "object", "properties": {}}}]}],
            }})
            await ws.send(json.dumps({"client_content": {
                "turns": [{"role": "user", "parts": [{"text": "snake"}]}],
                "turn_complete": True}}))
            text, _ = await read_turn(ws)
    assert text == "You said: snake"


async def test_deprecated_media_chunks_audio_is_accepted(serve):
    """The cookbook raw client streams microphone audio as realtime_input.media_chunks; the
    session must accept it (no close) and stay usable."""
    server = await serve()
    pcm = pcm_tone()
    chunks = [
        {"data": base64.b64encode(pcm).decode(), "mime_type": "audio/pcm"},
        {"data": base64.urlsafe_b64encode(pcm).decode(), "mimeType": "audio/pcm;rate=16000"},
        {"data": base64.b64encode(pcm).decode().rstrip("="), "mime_type": "audio/pcm"},
    ]
    async with asyncio.timeout(TIMEOUT):
        async with connect(live_uri(server)) as ws:
            await setup_session(ws, {"setup": {"model": "models/gemini-2.0-flash-exp",
                                               "output_audio_transcription": {}}})
            for chunk in chunks:
                await ws.send(json.dumps({"realtime_input": {"media_chunks": [chunk]}}))
            await ws.send(json.dumps({"realtime_input": {"audio_stream_end": True}}))
            # still alive: nothing was closed, and a text turn is answered
            await ws.send(json.dumps({"realtime_input": {"text": "after audio"}}))
            text, _ = await read_turn(ws)
    assert text == "You said: after audio"


async def test_text_frames_when_configured(serve):
    """binary_frames=False: every server frame is a text frame with the same JSON. The point
    is the frame type and its JSON, checked on a TEXT reply: openlive's own emulator model
    (models/openlive-emulator), which still answers in TEXT, unlike Google's."""
    server = await serve(binary_frames=False)
    async with asyncio.timeout(TIMEOUT):
        async with connect(live_uri(server)) as ws:
            await ws.send(json.dumps({"setup": {
                "model": "models/openlive-emulator",
                "generationConfig": {"responseModalities": ["TEXT"]}}}))
            first = await ws.recv()
            assert isinstance(first, str)
            assert json.loads(first) == {"setupComplete": {}}
            await ws.send(json.dumps({"realtimeInput": {"text": "txt"}}))
            frames = []
            while True:
                raw = await ws.recv()
                assert isinstance(raw, str)
                frames.append(json.loads(raw))
                if frames[-1].get("serverContent", {}).get("turnComplete"):
                    break
    assert frames[0]["serverContent"]["modelTurn"]["parts"] == [{"text": "You said: txt"}]


async def test_bad_first_message_closes_1007(serve):
    """A guide-style client that forgets the setup gets Google's 1007 close."""
    server = await serve()
    async with asyncio.timeout(TIMEOUT):
        async with connect(live_uri(server)) as ws:
            await ws.send(json.dumps({"client_content": {"turns": [], "turn_complete": True}}))
            with pytest.raises(ConnectionClosed) as info:
                await ws.recv()
    assert info.value.rcvd is not None
    assert info.value.rcvd.code == 1007
