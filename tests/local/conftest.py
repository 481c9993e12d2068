"""Session-wide real models for tests/local (no mocks): loaded once, cache in a temp dir."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import soxr

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from openlive.engines.audio import models  # noqa: E402
from openlive.engines.audio.asr import Transcriber  # noqa: E402
from openlive.engines.audio.tts import Synthesizer  # noqa: E402

PROMPT = "What is the weather in Paris?"


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh cache: the session joins and verifies Whisper base itself."""
    return tmp_path_factory.mktemp("model-cache")


@pytest.fixture(scope="session")
def tts() -> Synthesizer:
    # noise off: deterministic audio, so ASR assertions cannot flake
    return Synthesizer(noise_scale=0.0, noise_w_scale=0.0)


@pytest.fixture(scope="session")
def asr(model_cache: Path) -> Transcriber:
    models.whisper_model_dir(cache=model_cache)
    return Transcriber(models.whisper_model_dir(cache=model_cache), cpu_threads=2)


@pytest.fixture(scope="session")
def utterance_16k(tts: Synthesizer) -> np.ndarray:
    """PROMPT spoken by Piper at its native 22.05 kHz, resampled to 16 kHz int16."""
    chunks = [c.audio_int16_array for c in tts.voice.synthesize(PROMPT, syn_config=tts._syn_config)]
    native = np.concatenate(chunks)
    assert tts.voice.config.sample_rate == 22050
    return soxr.resample(native, 22050, 16000).astype(np.int16)
