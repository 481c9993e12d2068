"""Voice tests: real models, a real loopback server, speech made at test time by Piper."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable

import numpy as np
import pytest
import soxr

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from openlive.engines.audio.tts import Synthesizer  # noqa: E402
from openlive.engines.audio.voice_models import VoiceModels  # noqa: E402
from openlive.engines.base import Engine  # noqa: E402
from openlive.server.app import ServerConfig  # noqa: E402
from openlive.server.run import RunningServer, start_server  # noqa: E402


@pytest.fixture(scope="session")
def voice_models() -> VoiceModels:
    models = VoiceModels.shared()
    models.load()
    return models


@pytest.fixture(scope="session")
def speak() -> Callable[..., bytes]:
    """``speak(text, rate=16000)`` -> PCM16 mono bytes (deterministic: noise off)."""
    tts = Synthesizer(noise_scale=0.0, noise_w_scale=0.0)
    cache: dict[tuple[str, int], bytes] = {}

    def make(text: str, rate: int = 16_000) -> bytes:
        key = (text, rate)
        if key not in cache:
            pcm = np.frombuffer(b"".join(tts.synthesize(text)), dtype="<i2")
            if rate != tts.output_rate:
                pcm = soxr.resample(pcm, tts.output_rate, rate).astype("<i2")
            cache[key] = pcm.tobytes()
        return cache[key]

    return make


@pytest.fixture
async def serve_engine() -> AsyncIterator[Callable[..., Awaitable[RunningServer]]]:
    """``await serve_engine(engine, **server_config)``: a real server on a free port."""
    started: list[RunningServer] = []

    async def start(engine: Engine, **config) -> RunningServer:
        server = await start_server(engine, ServerConfig(**config), host="127.0.0.1", port=0)
        started.append(server)
        return server

    yield start
    for server in started:
        await server.stop()
