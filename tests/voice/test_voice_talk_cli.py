"""`openlive talk` end to end against a real openlive server that hears and speaks."""

from __future__ import annotations

import asyncio
import sys
import wave
from pathlib import Path

import numpy as np

from openlive.client import audio
from openlive.engines.emulator import EmulatorEngine

_BIN = Path(sys.executable).with_name("openlive")
OPENLIVE = [str(_BIN)] if _BIN.exists() else [sys.executable, "-m", "openlive.cli"]


async def test_talk_streams_a_wav_prints_transcripts_and_saves_the_spoken_reply(
        serve_engine, voice_models, speak, tmp_path: Path) -> None:
    server = await serve_engine(EmulatorEngine(voice=voice_models))
    # a 44.1 kHz stereo file, as a person would have: talk converts it to 16 kHz mono
    pcm = np.frombuffer(speak("What is the weather in Paris?", rate=44_100), dtype="<i2")
    silence = np.zeros(44_100 // 2, dtype="<i2")
    mono = np.concatenate([silence, pcm, silence])
    question = tmp_path / "question.wav"
    audio.write_wav(question, np.repeat(mono, 2).tobytes(), rate=44_100, channels=2)
    reply = tmp_path / "reply.wav"

    proc = await asyncio.create_subprocess_exec(
        *OPENLIVE, "talk", str(question), "--url", server.http_url, "--save", str(reply),
        "--fast", "--timeout", "30", stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, stdin=asyncio.subprocess.DEVNULL)
    async with asyncio.timeout(60):
        out, err = await proc.communicate()
    text, log = out.decode(), err.decode()
    assert proc.returncode == 0, log
    heard = [line for line in text.splitlines() if line.startswith("[you]")]
    said = [line for line in text.splitlines() if line.startswith("[model]")]
    assert heard and "weather" in heard[0].lower() and "paris" in heard[0].lower()
    assert said and "you said" in " ".join(said).lower()
    with wave.open(str(reply)) as w:
        assert w.getframerate() == 24_000 and w.getnchannels() == 1
        assert w.getnframes() / 24_000 > 1.0  # "You said: What is the weather in Paris?"
