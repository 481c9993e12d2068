"""A spoken turn recorded from the voice emulator (real VAD, Whisper, Piper) replays: the
replay answers when the client's audio reaches the recorded turn boundary, never before,
with the recorded speech and transcripts."""

from __future__ import annotations

import asyncio
import base64
import json
import os

import numpy as np
import pytest
import soxr
from websockets.asyncio.client import connect

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from openlive.engines.audio.tts import Synthesizer  # noqa: E402
from openlive.engines.audio.voice_models import VoiceModels  # noqa: E402
from openlive.engines.emulator import EmulatorEngine  # noqa: E402
from openlive.engines.replay import ReplayEngine  # noqa: E402
from openlive.recording import Recorder  # noqa: E402
from openlive.testing import start_live_server  # noqa: E402

SETUP = {"setup": {"model": "models/gemini-2.5-flash-native-audio-preview-12-2025",
                   "generationConfig": {"responseModalities": ["AUDIO"]},
                   "inputAudioTranscription": {}, "outputAudioTranscription": {}}}
CHUNK = 16_000 * 2 // 50  # 20 ms at 16 kHz


@pytest.fixture(scope="module")
def question() -> bytes:
    """Half a second of silence, a spoken question, two seconds of silence: 16 kHz PCM."""
    tts = Synthesizer(noise_scale=0.0, noise_w_scale=0.0)
    pcm = np.frombuffer(b"".join(tts.synthesize("What is the weather in Paris?")), "<i2")
    speech = soxr.resample(pcm, tts.output_rate, 16_000).astype("<i2").tobytes()
    return b"\0\0" * 8000 + speech + b"\0\0" * 32_000


async def send_audio(ws, pcm: bytes) -> None:
    for i in range(0, len(pcm), CHUNK):  # 20 ms chunks in real time, as a microphone
        await ws.send(json.dumps({"realtimeInput": {"audio": {
            "mimeType": "audio/pcm;rate=16000",
            "data": base64.b64encode(pcm[i:i + CHUNK]).decode()}}}))
        await asyncio.sleep(0.02)


async def spoken_turn(url: str, pcm: bytes, *, pause_at: int | None = None) -> tuple:
    """Stream ``pcm`` (pausing 1 s after ``pause_at`` bytes: what came during the pause),
    then read the server's messages until turnComplete."""
    async with connect(url, max_size=None) as ws:
        await ws.send(json.dumps(SETUP))
        assert "setupComplete" in json.loads(await ws.recv())
        during_pause: list[dict] = []
        if pause_at is not None:
            await send_audio(ws, pcm[:pause_at])
            try:
                async with asyncio.timeout(1.0):
                    while True:
                        during_pause.append(json.loads(await ws.recv()))
            except TimeoutError:
                pass
            pcm = pcm[pause_at:]
        sender = asyncio.create_task(send_audio(ws, pcm))
        messages = list(during_pause)
        while not messages or not messages[-1].get("serverContent", {}).get("turnComplete"):
            messages.append(json.loads(await ws.recv()))
        await sender
    return messages, during_pause


def test_a_spoken_turn_replays_at_its_recorded_boundary(question, tmp_path):
    voice = VoiceModels.shared()
    voice.load()
    server = start_live_server(engine=EmulatorEngine(voice=voice), tls=False,
                               observer=Recorder(tmp_path))
    try:
        recorded, _ = asyncio.run(asyncio.wait_for(spoken_turn(server.live_url, question), 60))
        server.wait_closed()
    finally:
        server.stop()
    heard = "".join(m["serverContent"]["inputTranscription"]["text"] for m in recorded
                    if "inputTranscription" in m.get("serverContent", {}))
    assert "weather" in heard.lower()
    assert any("inlineData" in p for m in recorded
               for p in m.get("serverContent", {}).get("modelTurn", {}).get("parts", []))

    engine = ReplayEngine(tmp_path, speed=0)
    [recording] = engine.recordings
    heard = [s for s in recording.steps if s.trigger is None]  # steps the audio triggered
    # the turn boundary: where the user's turn ended (its final input transcription)
    boundary = next(s.audio_at for s in heard if any(
        m.get("serverContent", {}).get("inputTranscription", {}).get("finished")
        for _, m in s.replies))
    assert 1.0 < boundary < len(question) / 32_000  # after the speech, before the end
    # what the audio triggered before it (voiceActivity ACTIVITY_START when speech began)
    before = [s for s in heard if s.audio_at < boundary]
    early = [m for s in before for _, m in s.replies]
    pause = (max((s.audio_at for s in before), default=0.0) + boundary) / 2
    replay = start_live_server(engine=engine, tls=False)
    try:
        replayed, during_pause = asyncio.run(asyncio.wait_for(
            spoken_turn(replay.live_url, question, pause_at=int(pause * 16_000) * 2), 60))
        [session] = replay.wait_closed()
    finally:
        replay.stop()
    assert during_pause == early  # paused before the boundary: the turn had not ended
    assert replayed == recorded  # the same speech, transcripts and flags, as recorded
    assert session.close_code == 1000
