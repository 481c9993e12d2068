"""Replays the official SDKs' captured frames (captures/*.jsonl) over a raw WebSocket.

The captures (copied from the shared fixtures, spec/sdk-wire.md) hold, for each connection
google-genai 3.4.0 or @google/genai 2.32.0 made, its handshake (with the exact request path,
``//ws/…``, ``?key=``/``?access_token=`` included) and every frame it sent. Audio/video
``data`` values were cut to placeholders like ``"AABg...<2136 chars b64>"``; frames holding
one are left out, never whole connections.

Most captured setups ask for ``responseModalities: ["TEXT"]``, which Google's Live models
no longer answer (issue 12): replayed as captured, such a setup gets Google's 1007, and the
replays of whole sessions run against a ``permissive`` server so that the frames after
those setups are still exercised. The others get AUDIO replies (the default): their words
come as outputTranscription when the setup asks for it, else only as audio.
"""

from __future__ import annotations

import asyncio
import base64
import json
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from live_client import MODEL_NAME
from openlive.engines.emulator.placeholder import placeholder_pcm
from openlive.session.models import ModelCatalog

pytestmark = pytest.mark.interop

CAPTURES = Path(__file__).parent / "captures"
TRUNCATED = "...<"
TIMEOUT = 20
EXPLICIT_ACTIVITY_WITH_VAD = (
    "Explicit activity control is not supported when automatic activity detection is enabled.")
TEXT_REFUSED = ("closed", 1007, "Cannot extract voices from a non-audio request.")


def _current_model(message: Any) -> Any:
    """The captures (google-genai 3.4 / @google/genai, 2026-11) name models that Google has
    since shut down (gemini-live-2.5-flash-preview, 2025-12-09) or made up (gemini-x): the
    setup is replayed as captured but for a model this server serves (Google refuses the
    others with 1008, as openlive does: tests/session/test_state.py)."""
    setup = message.get("setup") if isinstance(message, dict) else None
    if isinstance(setup, dict) and isinstance(setup.get("model"), str):
        name = setup["model"]
        if ModelCatalog().resolve(name) is None and "/" not in name.removeprefix("models/"):
            prefix = "models/" if name.startswith("models/") else ""
            return {**message, "setup": {**setup, "model": prefix + MODEL_NAME}}
    return message


def load_connections() -> list[tuple[str, str, list[str]]]:
    """(capture name, raw request path, client->server frames as sent) per connection."""
    files = sorted(CAPTURES.glob("*.jsonl"))
    assert len(files) >= 60, f"SDK captures missing from {CAPTURES}"
    out = []
    for path in files:
        paths: dict[Any, str] = {}
        frames: dict[Any, list[str]] = {}
        for line in path.read_text(encoding="utf-8").splitlines():
            rec = json.loads(line)
            conn = rec.get("conn")
            if rec.get("event") == "handshake":
                paths[conn] = rec["raw_path"]
                frames[conn] = []
            elif rec.get("dir") == "client->server":
                frames[conn].append(json.dumps(_current_model(rec["json"])))
        for conn, raw_path in paths.items():
            out.append((f"{path.stem}#{conn}", raw_path, frames[conn]))
    return out


CONNECTIONS = load_connections()


def unique_setups() -> list[str]:
    seen: dict[str, None] = {}
    for _, _, frames in CONNECTIONS:
        for frame in frames:
            if json.loads(frame).keys() == {"setup"}:
                seen.setdefault(frame)
    return list(seen)


def asks_text(setup: str) -> bool:
    """The captured setup asks for TEXT replies (camelCase or snake_case, as sent)."""
    s = json.loads(setup)["setup"]
    cfg = s.get("generationConfig") or s.get("generation_config") or {}
    return "TEXT" in (cfg.get("responseModalities") or cfg.get("response_modalities") or ())


def transcribed(setup: str) -> bool:
    """The captured setup asks for the transcript of the model's audio."""
    s = json.loads(setup)["setup"]
    return "outputAudioTranscription" in s or "output_audio_transcription" in s


def vad_disabled(setup: dict[str, Any]) -> bool:
    s = setup["setup"]
    cfg = s.get("realtimeInputConfig") or s.get("realtime_input_config") or {}
    aad = cfg.get("automaticActivityDetection") or cfg.get("automatic_activity_detection") or {}
    return bool(aad.get("disabled"))


def explicit_activity(frame: dict[str, Any]) -> bool:
    rt = frame.get("realtimeInput") or frame.get("realtime_input") or {}
    return any(k in rt for k in ("activityStart", "activity_start", "activityEnd",
                                 "activity_end"))


async def open_with_setup(url: str, setup: str) -> tuple[ClientConnection, Any]:
    """Connect and send the setup; the first server message, or ("closed", code, reason)."""
    ws = await connect(url, max_size=None)
    await ws.send(setup)
    try:
        first = json.loads(await ws.recv())
    except ConnectionClosed as exc:
        assert exc.rcvd is not None, "closed without a close frame"
        first = ("closed", exc.rcvd.code, exc.rcvd.reason)
    return ws, first


async def expect_close(ws: ClientConnection) -> tuple[int, str]:
    with pytest.raises(ConnectionClosed) as info:
        while True:
            await ws.recv()
    assert info.value.rcvd is not None, "closed without a close frame"
    return info.value.rcvd.code, info.value.rcvd.reason


def echo_audio(word: str) -> bytes:
    """The emulator's placeholder audio (deterministic: engines/emulator/placeholder.py) of
    its answer to ``word``."""
    return placeholder_pcm(f"You said: {word}")


async def probe(ws: ClientConnection, word: str) -> tuple[str, bytes]:
    """Send a realtime text turn and read until the turn that answers it is complete; the
    text of that turn (text parts and outputTranscription; it may also hold user text left
    pending by an earlier turnComplete:false) and its audio. A turn with no text answers
    the probe when its audio is the placeholder audio of the echo."""
    await ws.send(json.dumps({"realtimeInput": {"text": word}}))
    text, audio = "", b""
    while True:
        msg = json.loads(await ws.recv())
        content = msg.get("serverContent", {})
        for part in content.get("modelTurn", {}).get("parts", []):
            text += part.get("text", "")
            if "inlineData" in part:
                assert part["inlineData"]["mimeType"] == "audio/pcm;rate=24000", part
                audio += base64.b64decode(part["inlineData"]["data"])
        text += content.get("outputTranscription", {}).get("text", "")
        if content.get("turnComplete"):
            if text.endswith(word) or (not text and audio == echo_audio(word)):
                return text, audio
            text, audio = "", b""


def stale_handle(setup: str) -> bool:
    resumption = json.loads(setup)["setup"].get("sessionResumption") or {}
    return bool(resumption.get("handle"))


async def test_every_captured_setup_gets_setup_complete(serve):
    """Each distinct setup frame either SDK sent (every LiveConnectConfig option captured)
    is answered with setupComplete; the one tuned-model name gets Google's 1008, and a
    setup asking for TEXT gets Google's 1007 (Live models answer in AUDIO only). A
    permissive server (``--permissive``) accepts those TEXT setups: everything else in them
    is valid."""
    strict, permissive = await serve(), await serve(permissive=True)
    path = "//ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent"
    setups = unique_setups()
    assert len(setups) >= 30
    assert any(map(asks_text, setups))

    async def one(server: Any, setup: str) -> tuple[str, Any]:
        ws, first = await open_with_setup(f"ws://127.0.0.1:{server.port}{path}?key=test",
                                          setup)
        await ws.close()
        return setup, first

    async with asyncio.timeout(TIMEOUT):
        results = await asyncio.gather(*(one(strict, s) for s in setups))
        lenient = await asyncio.gather(*(one(permissive, s) for s in setups if asks_text(s)))
    for setup, result in results:
        if json.loads(setup)["setup"]["model"].startswith("tunedModels/"):
            assert result[:2] == ("closed", 1008), (setup, result)
            assert "tunedModels/my-tuned is not found for API version v1beta" in result[2]
        elif stale_handle(setup):  # the captures' handles were never issued by this server
            assert result == ("closed", 1008, "BidiGenerateContent session not found"), result
        elif asks_text(setup):
            assert result == TEXT_REFUSED, (setup, result)
        else:
            assert result == {"setupComplete": {}}, (setup, result)
    assert lenient and all(result == {"setupComplete": {}} for _, result in lenient), lenient


@pytest.mark.parametrize("binary_frames", [True, False], ids=["binary", "text"])
async def test_replay_captured_sessions(serve, binary_frames):
    """Every captured connection is replayed on its own captured request path (so
    ``//ws/…``, ``/prefix/ws/…``, all three API versions, ``?key=``, ``?access_token=`` and
    ``…Constrained``), frame by frame, and must still answer a text turn at the end.

    Explicit activityStart/activityEnd with automatic VAD enabled (the flow captures do
    that) must close 1007 with Google's reason; the replay then reconnects and goes on.

    The server is permissive: most captures ask for TEXT replies, which Google now refuses
    (checked above); the frames that follow are what is replayed here. A TEXT session is
    answered in text, an AUDIO one in audio, with its transcript when it asked for one.
    """
    server = await serve(binary_frames=binary_frames, permissive=True)
    base = f"ws://127.0.0.1:{server.port}"
    sent = skipped_truncated = activity_closes = 0

    async def replay(name: str, raw_path: str, frames: list[str]) -> None:
        nonlocal sent, skipped_truncated, activity_closes
        setup, rest = frames[0], frames[1:]
        assert json.loads(setup).keys() == {"setup"}, name
        if json.loads(setup)["setup"]["model"].startswith("tunedModels/") or stale_handle(setup):
            return  # covered by test_every_captured_setup_gets_setup_complete
        ws, first = await open_with_setup(base + raw_path, setup)
        if "access_token=auth_tokens/" in raw_path:  # a token this server never minted
            assert first[:2] == ("closed", 1008), (name, first)
            return
        assert first == {"setupComplete": {}}, (name, first)
        try:
            for frame in rest:
                if TRUNCATED in frame:
                    skipped_truncated += 1
                    continue
                sent += 1
                await ws.send(frame)
                if explicit_activity(json.loads(frame)) and not vad_disabled(json.loads(setup)):
                    code, reason = await expect_close(ws)
                    assert (code, reason) == (1007, EXPLICIT_ACTIVITY_WITH_VAD), (name, frame)
                    activity_closes += 1
                    ws, first = await open_with_setup(base + raw_path, setup)
                    assert first == {"setupComplete": {}}, (name, first)
            word = f"probe-{name}"
            try:
                text, audio = await probe(ws, word)
            except ConnectionClosed as exc:
                pytest.fail(f"{name}: the server closed during replay: {exc}")
            if asks_text(setup):
                assert text.startswith("You said: ") and not audio, (name, text)
            elif transcribed(setup):
                assert text.startswith("You said: ") and audio, (name, text)
            else:  # AUDIO with no transcript: the audio is the echo's
                assert text == "" and audio == echo_audio(word), name
        finally:
            await ws.close()

    async with asyncio.timeout(TIMEOUT):
        await asyncio.gather(*(replay(*c) for c in CONNECTIONS))
    print(f"replayed {sent} frames, {skipped_truncated} truncated left out, "
          f"{activity_closes} activity closes")
    assert sent >= 60
    assert skipped_truncated >= 15  # the audio/video frames of the flow captures
    assert activity_closes >= 4


async def test_replayed_flow_answers_each_turn(serve):
    """The Python flow capture turn by turn: the emulator echoes each user turn (AUDIO with
    its transcript, as the capture's setup asks), and the turnComplete:false +
    turnComplete:true pair is answered once."""
    server = await serve()
    (name, raw_path, frames), = [c for c in CONNECTIONS if c[0].startswith("py-flow-text#")]
    async with asyncio.timeout(TIMEOUT):
        ws, first = await open_with_setup(f"ws://127.0.0.1:{server.port}{raw_path}", frames[0])
        assert first == {"setupComplete": {}}
        assert transcribed(frames[0]) and not asks_text(frames[0])
        answers = []
        try:
            for frame in frames[1:4]:  # Hello there / history (false) / turnComplete only
                await ws.send(frame)
                if json.loads(frame)["client_content"].get("turnComplete") is False:
                    continue
                text, audio = "", b""
                while True:
                    msg = json.loads(await ws.recv())
                    content = msg.get("serverContent", {})
                    for part in content.get("modelTurn", {}).get("parts", []):
                        text += part.get("text", "")
                        audio += base64.b64decode(part.get("inlineData", {}).get("data", ""))
                    text += content.get("outputTranscription", {}).get("text", "")
                    if content.get("turnComplete"):
                        break
                assert audio == placeholder_pcm(text), text  # the audio says the transcript
                answers.append(text)
        finally:
            await ws.close()
    # the history pair ("My name is Ann." answered by "Hi Ann.") leaves nothing unanswered:
    # the turnComplete starts a turn with no new user text (issue 12's seeded-history bug
    # echoed the old question)
    assert answers == ["You said: Hello there", "You said: "]
