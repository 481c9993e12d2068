"""Audio both ways through the relay: speech made by Piper goes in as realtimeInput audio,
the upstream emulator (VAD + Whisper + Piper, real models) hears it and answers in speech;
the relay passes every audio frame as it is."""

from __future__ import annotations

import asyncio
import base64
import json
import os

import numpy as np
import pytest
import soxr

from live_client import CLIENT_KEY, MODEL, open_live, recv

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from openlive.engines.audio.tts import Synthesizer  # noqa: E402
from openlive.engines.audio.voice_models import VoiceModels  # noqa: E402
from openlive.engines.emulator import EmulatorEngine  # noqa: E402

QUESTION = "What is the weather in Paris?"
RATE = 16_000
CHUNK = RATE * 2 * 20 // 1000  # 20 ms of PCM16


@pytest.fixture(scope="module")
def voice_models() -> VoiceModels:
    models = VoiceModels.shared()
    models.load()
    return models


def speech(text: str) -> bytes:
    tts = Synthesizer(noise_scale=0.0, noise_w_scale=0.0)
    pcm = np.frombuffer(b"".join(tts.synthesize(text)), dtype="<i2")
    return soxr.resample(pcm, tts.output_rate, RATE).astype("<i2").tobytes()


async def test_spoken_question_spoken_answer_through_the_relay(chain, voice_models):
    c = await chain(upstream_engine=EmulatorEngine(voice=voice_models))
    pcm = b"\x00\x00" * (RATE * 3 // 10) + speech(QUESTION) + b"\x00\x00" * (RATE * 9 // 10)
    async with asyncio.timeout(60):
        ws = await open_live(c.relay, key=CLIENT_KEY)
        await ws.send(json.dumps({"setup": {
            "model": MODEL, "inputAudioTranscription": {}, "outputAudioTranscription": {},
            "generationConfig": {"responseModalities": ["AUDIO"]}}}))
        assert await recv(ws) == {"setupComplete": {}}
        for i in range(0, len(pcm), CHUNK):
            await ws.send(json.dumps({"realtimeInput": {"audio": {
                "mimeType": f"audio/pcm;rate={RATE}",
                "data": base64.b64encode(pcm[i:i + CHUNK]).decode()}}}))
            await asyncio.sleep(0.005)
        msgs: list[dict] = []
        while not msgs or not msgs[-1].get("serverContent", {}).get("turnComplete"):
            msgs.append(json.loads(await ws.recv()))
        await ws.close()
    heard = "".join(m["serverContent"]["inputTranscription"]["text"] for m in msgs
                    if "inputTranscription" in m.get("serverContent", {})).lower()
    assert "weather" in heard and "paris" in heard
    parts = [p["inlineData"] for m in msgs
             for p in m.get("serverContent", {}).get("modelTurn", {}).get("parts", [])
             if "inlineData" in p]
    assert parts and all(p["mimeType"] == "audio/pcm;rate=24000" for p in parts)
    assert len(b"".join(base64.b64decode(p["data"]) for p in parts)) > 24_000 * 2
    # every audio frame, both ways, is the one the other side sent
    up_client = [f for _, d, f in c.upstream_frames if d == "client"]
    relay_client = [f for _, d, f in c.relay_frames if d == "client"]
    assert relay_client == up_client[:len(relay_client)] and len(up_client) > 100
    up_server = [f for _, d, f in c.upstream_frames if d == "server"]
    relay_server = [f for _, d, f in c.relay_frames if d == "server"]
    assert relay_server == up_server[:len(relay_server)]
    assert len(relay_server) >= len(msgs)
