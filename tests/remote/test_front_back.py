"""Remote speech stages (--asr-url, --tts-url) and the LLM (--llm-url) on another openlive:
a front `openlive serve --engine local` that keeps only voice activity detection, and a
back end with the models (its OpenAI-compatible routes). Real processes, a real Live
session over a WebSocket, real speech."""

from __future__ import annotations

import asyncio
import base64
import os
import signal
import socket
import subprocess
import sys
import urllib.request

import numpy as np
import openai
import pytest
import soxr
from prometheus_client.parser import text_string_to_metric_families

from conftest import BACK_KEY, serve
from live_client import closed_with, open_live, send
from openlive.engines.audio import stage_metrics
from openlive.wire import errors

QUESTION = "What is the weather in Paris?"
KEY_ENV = "OPENLIVE_TEST_BACK_KEY"
SETUP = {"model": "models/openlive-local",
         "generationConfig": {"responseModalities": ["AUDIO"]},
         "inputAudioTranscription": {}, "outputAudioTranscription": {}}


def remote_args(url: str, *, stages=("asr", "tts", "llm")) -> list[str]:
    args = []
    for stage in stages:
        args += [f"--{stage}-url", url + "/v1", f"--{stage}-api-key-env", KEY_ENV]
    return args


@pytest.fixture(scope="module")
def question_16k(back) -> bytes:
    """QUESTION spoken by the back end (24 kHz), as 16 kHz PCM16 with silence around it."""
    client = openai.OpenAI(base_url=back.http_url + "/v1", api_key=BACK_KEY, timeout=120)
    pcm = client.audio.speech.create(model="tts-1", voice="alloy", input=QUESTION,
                                     response_format="pcm").read()
    speech = soxr.resample(np.frombuffer(pcm, dtype="<i2"), 24_000, 16_000).astype("<i2")
    silence = np.zeros(16_000, dtype="<i2")
    return np.concatenate([silence[:8000], speech, silence, silence]).tobytes()


async def speak(ws, pcm: bytes) -> None:
    """20 ms realtimeInput.audio chunks (faster than real time: the VAD counts audio)."""
    for i in range(0, len(pcm), 640):
        chunk = base64.b64encode(pcm[i:i + 640]).decode()
        await send(ws, {"realtimeInput": {"audio": {"data": chunk,
                                                    "mimeType": "audio/pcm;rate=16000"}}})
        if i % 6400 == 0:
            await asyncio.sleep(0.01)


async def until_turn_complete(ws, timeout: float = 180.0) -> list[dict]:
    import json
    out = []
    async with asyncio.timeout(timeout):
        while True:
            msg = json.loads(await ws.recv())
            out.append(msg)
            if msg.get("serverContent", {}).get("turnComplete"):
                return out


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_a_voice_turn_through_a_front_with_every_stage_remote(back, question_16k,
                                                                    tmp_path):
    with serve(tmp_path / "front.log", "--engine", "local", *remote_args(back.http_url),
               env={KEY_ENV: BACK_KEY}) as front:
        ws = await open_live(front)
        await send(ws, {"setup": SETUP})
        await speak(ws, question_16k)
        messages = await until_turn_complete(ws)
        await ws.close()
        with urllib.request.urlopen(front.http_url + "/metrics", timeout=30) as r:
            scraped = r.read().decode()
        log = front.log
    heard = "".join(m["serverContent"].get("inputTranscription", {}).get("text", "")
                    for m in messages if "serverContent" in m)
    assert "weather" in heard.lower(), messages  # ("Paris" is sometimes heard as "pairs")
    audio = [p["inlineData"] for m in messages if "serverContent" in m
             for p in m["serverContent"].get("modelTurn", {}).get("parts", [])
             if "inlineData" in p]
    assert audio and all(a["mimeType"] == "audio/pcm;rate=24000" for a in audio)
    said = "".join(m["serverContent"].get("outputTranscription", {}).get("text", "")
                   for m in messages if "serverContent" in m)
    assert said.strip()
    assert f"--asr-url {back.http_url}/v1 serves openlive-local" in log
    assert f"--tts-url {back.http_url}/v1 serves openlive-local" in log
    assert "speech recognition loaded" not in log  # no Whisper on the front
    counts = {s.labels["stage"]: s.value for f in text_string_to_metric_families(scraped)
              for s in f.samples if s.name == "openlive_voice_stage_seconds_count"}
    assert all(counts[stage] >= 1 for stage in stage_metrics.STAGES), counts
    assert BACK_KEY not in log


@pytest.mark.parametrize(("stage", "what"), [("asr", "speech recognition"),
                                           ("tts", "speech synthesis")])
async def test_a_back_end_that_dies_mid_session_closes_it_clearly(back, question_16k,
                                                                  tmp_path, stage, what):
    # the stage the front calls is a second openlive that passes it on to the back end (no
    # models of its own); it is killed while the session is open
    others = tuple(s for s in ("asr", "tts", "llm") if s != stage)
    with serve(tmp_path / "relay.log", "--engine", "local", *remote_args(back.http_url),
               env={KEY_ENV: BACK_KEY}) as doomed, \
         serve(tmp_path / "front.log", "--engine", "local",
               *remote_args(doomed.http_url, stages=(stage,)),
               *remote_args(back.http_url, stages=others),
               "--backend-retries", "1", "--backend-timeout", "10",
               env={KEY_ENV: BACK_KEY}) as front:
        ws = await open_live(front)
        await send(ws, {"setup": SETUP})
        doomed.proc.send_signal(signal.SIGKILL)
        doomed.proc.wait(timeout=30)
        await speak(ws, question_16k)
        code, reason = await closed_with(ws, timeout=60)
        log = front.log
    assert (code, reason) == (1011, errors.UNAVAILABLE)
    assert f"the {what} back end {doomed.http_url}/v1 failed" in log, log
    assert "closing the session (1011)" in log


@pytest.mark.parametrize("stage", ["asr", "tts"])
def test_a_back_end_down_at_start_stops_serve_with_exit_2(stage):
    url = f"http://127.0.0.1:{closed_port()}/v1"
    done = subprocess.run([sys.executable, "-m", "openlive.cli", "serve", "--engine", "local",
                           "--port", "0", f"--{stage}-url", url], capture_output=True,
                          text=True, timeout=120, env=dict(os.environ))
    assert done.returncode == 2, done.stderr
    what = "speech recognition" if stage == "asr" else "speech synthesis"
    assert f"--{stage}-url: the {what} back end {url} failed" in done.stderr, done.stderr


@pytest.mark.parametrize(("args", "message"), [
    (["--asr-model-name", "x"], "--asr-model-name needs --asr-url"),
    (["--tts-voice", "x"], "--tts-voice needs --tts-url"),
    (["--tts-url", "ftp://x/v1"], "not an http(s) URL"),
    (["--asr-url", "http://127.0.0.1:9/v1", "--asr-api-key-env", "OPENLIVE_TEST_UNSET"],
     "OPENLIVE_TEST_UNSET: that environment variable is not set"),
])
def test_bad_remote_options_exit_2_naming_them(args, message):
    done = subprocess.run([sys.executable, "-m", "openlive.cli", "serve", "--engine", "local",
                           "--port", "0", *args], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and message in done.stderr, done.stderr
