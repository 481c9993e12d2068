"""The emulator with the speech stages: it hears realtime audio (VAD + Whisper) and answers
in speech (Piper, 24 kHz) when AUDIO is requested; barge-in; manual activity; bad audio."""

from __future__ import annotations

import asyncio
import base64
import json

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from live_client import LIVE_PATH, MODEL
from openlive.engines.emulator import EmulatorEngine

QUESTION = "What is the weather in Paris?"
CHUNK_MS = 20
#: The tests of speech input with TEXT replies (activity, stream end, partial transcripts,
#: turn coverage) read the reply as text parts: gemini models answer in AUDIO only (a TEXT
#: setup is refused, session/models.py), so they use the emulator's own model.
TEXT_MODEL = "models/openlive-emulator"


@pytest.fixture
async def emulator(serve_engine, voice_models):
    return await serve_engine(EmulatorEngine(voice=voice_models))


async def open_session(server, model: str = MODEL, **setup):
    ws = await connect(server.ws_url + LIVE_PATH, max_size=None)
    await ws.send(json.dumps({"setup": {"model": model, **setup}}))
    assert "setupComplete" in json.loads(await ws.recv())
    return ws


def silence(ms: int, rate: int = 16_000) -> bytes:
    return b"\x00\x00" * (rate * ms // 1000)


async def stream(ws, pcm: bytes, rate: int = 16_000, speed: float = 4.0) -> None:
    """Send PCM in 20 ms chunks, ``speed`` times faster than real time."""
    step = rate * 2 * CHUNK_MS // 1000
    mime = f"audio/pcm;rate={rate}"
    for i in range(0, len(pcm), step):
        await ws.send(json.dumps({"realtimeInput": {"audio": {
            "mimeType": mime, "data": base64.b64encode(pcm[i:i + step]).decode()}}}))
        await asyncio.sleep(CHUNK_MS / 1000 / speed)


async def messages_until(ws, predicate) -> list[dict]:
    got: list[dict] = []
    while True:
        msg = json.loads(await ws.recv())
        got.append(msg)
        if predicate(msg):
            return got


def is_turn_complete(msg: dict) -> bool:
    return bool(msg.get("serverContent", {}).get("turnComplete"))


def audio_parts(msgs: list[dict]) -> list[dict]:
    return [p["inlineData"] for m in msgs
            for p in m.get("serverContent", {}).get("modelTurn", {}).get("parts", [])
            if "inlineData" in p]


def transcript(msgs: list[dict], key: str) -> str:
    return "".join(m["serverContent"][key]["text"] for m in msgs
                   if key in m.get("serverContent", {}))


async def test_spoken_question_gets_spoken_answer_and_transcripts(emulator, speak):
    async with asyncio.timeout(30):
        ws = await open_session(emulator, inputAudioTranscription={},
                                outputAudioTranscription={},
                                generationConfig={"responseModalities": ["AUDIO"]})
        # 48 kHz input: resampled to 16 kHz by the server
        await stream(ws, silence(300, 48_000) + speak(QUESTION, 48_000)
                     + silence(900, 48_000), rate=48_000)
        msgs = await messages_until(ws, is_turn_complete)
        await ws.close()
    heard = transcript(msgs, "inputTranscription").lower()
    assert "weather" in heard and "paris" in heard
    finished = [m["serverContent"]["inputTranscription"] for m in msgs
                if "inputTranscription" in m.get("serverContent", {})]
    assert finished[-1].get("finished") is True
    parts = audio_parts(msgs)
    assert parts and all(p["mimeType"] == "audio/pcm;rate=24000" for p in parts)
    pcm = b"".join(base64.b64decode(p["data"]) for p in parts)
    assert len(pcm) > 24_000 * 2  # over a second of speech
    assert max(len(json.dumps(m)) for m in msgs) < 256 * 1024
    said = transcript(msgs, "outputTranscription").lower()
    assert said.startswith("you said:") and "paris" in said
    kinds = [k for m in msgs for k in m.get("serverContent", {})]
    assert kinds.index("generationComplete") < kinds.index("turnComplete")
    assert not any("text" in p for m in msgs
                   for p in m.get("serverContent", {}).get("modelTurn", {}).get("parts", []))


async def test_speech_during_playback_interrupts(emulator, speak):
    async with asyncio.timeout(40):
        ws = await open_session(emulator, generationConfig={"responseModalities": ["AUDIO"]})
        await stream(ws, speak(QUESTION) + silence(900))
        first = await messages_until(ws, lambda m: bool(audio_parts([m])))
        assert audio_parts(first)
        # the reply plays for ~3 s: speak over it (this turn is still open)
        await stream(ws, speak("Stop. Tell me about London.") + silence(900))
        msgs = await messages_until(ws, is_turn_complete)
        contents = [m.get("serverContent", {}) for m in msgs]
        assert any(c.get("interrupted") for c in contents)
        assert not any(c.get("generationComplete") for c in contents[
            next(i for i, c in enumerate(contents) if c.get("interrupted")):])
        # the new utterance is answered next
        msgs = await messages_until(ws, is_turn_complete)
        await ws.close()
    assert audio_parts(msgs)


async def test_manual_activity_brackets_the_utterance(emulator, speak):
    async with asyncio.timeout(30):
        ws = await open_session(
            emulator, TEXT_MODEL, inputAudioTranscription={},
            generationConfig={"responseModalities": ["TEXT"]},
            realtimeInputConfig={"automaticActivityDetection": {"disabled": True}})
        await ws.send(json.dumps({"realtimeInput": {"activityStart": {}}}))
        await stream(ws, speak(QUESTION), speed=20)  # no trailing silence needed
        await ws.send(json.dumps({"realtimeInput": {"activityEnd": {}}}))
        msgs = await messages_until(ws, is_turn_complete)
        await ws.close()
    assert "paris" in transcript(msgs, "inputTranscription").lower()
    text = "".join(p.get("text", "") for m in msgs
                   for p in m.get("serverContent", {}).get("modelTurn", {}).get("parts", []))
    assert text.lower().startswith("you said:") and "weather" in text.lower()


async def test_audio_stream_end_flushes_the_utterance(emulator, speak):
    async with asyncio.timeout(30):
        ws = await open_session(emulator, TEXT_MODEL,
                                generationConfig={"responseModalities": ["TEXT"]},
                                realtimeInputConfig={"automaticActivityDetection": {
                                    "silenceDurationMs": 5000}})
        await stream(ws, speak(QUESTION) + silence(100), speed=20)
        await ws.send(json.dumps({"realtimeInput": {"audioStreamEnd": True}}))
        msgs = await messages_until(ws, is_turn_complete)
        await ws.close()
    text = "".join(p.get("text", "") for m in msgs
                   for p in m.get("serverContent", {}).get("modelTurn", {}).get("parts", []))
    assert "paris" in text.lower()


@pytest.mark.parametrize("blob", [
    {"mimeType": "audio/wav", "data": "AAAA"},
    {"mimeType": "audio/pcm;rate=16000", "data": "AAA="},  # 2 bytes ok...
    {"mimeType": "audio/pcm;rate=16000", "data": "AAAA"},  # 3 bytes: odd
    {"mimeType": "audio/pcm;rate=3", "data": "AAAA"},
    {"mimeType": "audio/pcm;rate=fast", "data": "AAAA"},
])
async def test_bad_audio_closes_with_1007(emulator, blob):
    async with asyncio.timeout(10):
        ws = await open_session(emulator)
        await ws.send(json.dumps({"realtimeInput": {"audio": blob}}))
        if blob["data"] == "AAA=":  # an even byte count is fine: the session goes on
            await ws.send(json.dumps({"realtimeInput": {"text": "still here"}}))
            msgs = await messages_until(ws, is_turn_complete)
            assert msgs
            await ws.close()
            return
        with pytest.raises(ConnectionClosed):
            while True:
                await ws.recv()
    assert ws.close_code == 1007 and ws.close_reason


async def test_partial_input_transcripts_arrive_while_speaking(emulator, speak):
    long_question = ("Could you tell me what the weather will be like in Paris and in London "
                     "tomorrow morning, and whether I should take an umbrella with me?")
    async with asyncio.timeout(60):
        ws = await open_session(emulator, TEXT_MODEL, inputAudioTranscription={},
                                generationConfig={"responseModalities": ["TEXT"]})
        sender = asyncio.create_task(stream(ws, silence(300) + speak(long_question), speed=1))
        early: list[dict] = []
        while not sender.done():  # messages that arrive while the speech is being sent
            try:
                early.append(json.loads(await asyncio.wait_for(ws.recv(), 0.2)))
            except TimeoutError:
                pass
        await stream(ws, silence(900))
        msgs = early + await messages_until(ws, is_turn_complete)
        await ws.close()
    txs = [m["serverContent"]["inputTranscription"] for m in msgs
           if "inputTranscription" in m.get("serverContent", {})]
    assert any("inputTranscription" in m.get("serverContent", {}) for m in early)
    assert len(txs) >= 2 and txs[-1].get("finished") is True
    assert not any(t.get("finished") for t in txs[:-1])
    heard = "".join(t.get("text", "") for t in txs).lower()
    for word in ("weather", "london", "morning", "umbrella"):
        assert word in heard, heard


@pytest.mark.parametrize("coverage", ["TURN_INCLUDES_ALL_INPUT", "TURN_INCLUDES_ONLY_ACTIVITY"])
async def test_turn_coverage_with_manual_activity(emulator, speak, coverage):
    """Speech sent before activityStart belongs to the turn only with ALL_INPUT."""
    async with asyncio.timeout(30):
        ws = await open_session(
            emulator, TEXT_MODEL, inputAudioTranscription={},
            generationConfig={"responseModalities": ["TEXT"]},
            realtimeInputConfig={"automaticActivityDetection": {"disabled": True},
                                 "turnCoverage": coverage})
        await stream(ws, speak(QUESTION), speed=20)  # before the activity
        await ws.send(json.dumps({"realtimeInput": {"activityStart": {}}}))
        await stream(ws, speak("Thank you.") + silence(200), speed=20)
        await ws.send(json.dumps({"realtimeInput": {"activityEnd": {}}}))
        msgs = await messages_until(ws, is_turn_complete)
        await ws.close()
    heard = transcript(msgs, "inputTranscription").lower()
    assert "thank" in heard
    assert ("weather" in heard) == (coverage == "TURN_INCLUDES_ALL_INPUT"), heard
