"""Speech recognition with faster-whisper (Whisper base, int8 on CPU by default).

The model is loaded once per (directory, device, compute type, threads) and shared by all
sessions; CTranslate2 models accept concurrent ``transcribe`` calls from several threads
(``num_workers`` > 1 lets them run in parallel). From async code use :meth:`atranscribe`,
which runs in a thread executor so the event loop never blocks.
"""

from __future__ import annotations

import asyncio
import os
import threading
from concurrent.futures import Executor
from pathlib import Path
from typing import Any

import numpy as np

from .models import whisper_model_dir

__all__ = ["Transcriber", "load_whisper", "pcm16_to_float"]

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never let huggingface_hub try the network

SAMPLE_RATE = 16_000
_models: dict[tuple[Any, ...], Any] = {}
_lock = threading.Lock()


def pcm16_to_float(pcm: bytes | bytearray | memoryview | np.ndarray) -> np.ndarray:
    """PCM16 (bytes or int16 array) -> float32 in [-1, 1]; float arrays pass through."""
    if isinstance(pcm, np.ndarray):
        if pcm.dtype == np.int16:
            return pcm.astype(np.float32) / 32768.0
        return pcm.astype(np.float32, copy=False)
    raw = bytes(pcm)
    if len(raw) % 2:
        raw = raw[:-1]
    return np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768.0


def load_whisper(
    model_dir: str | os.PathLike[str] | None = None,
    *,
    device: str = "cpu",
    compute_type: str = "int8",
    cpu_threads: int = 2,
    num_workers: int = 1,
    cache: str | os.PathLike[str] | None = None,
) -> Any:
    """The shared ``faster_whisper.WhisperModel`` for these settings (loaded on first use)."""
    path = Path(model_dir) if model_dir else whisper_model_dir(cache=cache)
    key = (str(path), device, compute_type, cpu_threads, num_workers)
    with _lock:
        model = _models.get(key)
        if model is None:
            from faster_whisper import WhisperModel

            model = WhisperModel(str(path), device=device, compute_type=compute_type,
                                 cpu_threads=cpu_threads, num_workers=num_workers,
                                 local_files_only=True)
            _models[key] = model
        return model


class Transcriber:
    """``transcribe(pcm16_16k) -> text``. Cheap to create: the model itself is shared."""

    def __init__(
        self,
        model_dir: str | os.PathLike[str] | None = None,
        *,
        language: str | None = "en",
        beam_size: int = 1,
        cpu_threads: int = 2,
        num_workers: int = 1,
        compute_type: str = "int8",
        device: str = "cpu",
        cache: str | os.PathLike[str] | None = None,
        executor: Executor | None = None,
    ) -> None:
        self.language = language
        self.beam_size = beam_size
        self.executor = executor
        self.model = load_whisper(model_dir, device=device, compute_type=compute_type,
                                  cpu_threads=cpu_threads, num_workers=num_workers, cache=cache)

    def transcribe(self, pcm: bytes | bytearray | memoryview | np.ndarray,
                   *, prompt: str | None = None) -> str:
        """Text of 16 kHz mono audio (PCM16 bytes, int16 or float32 array); '' for silence."""
        audio = pcm16_to_float(pcm)
        if audio.size < SAMPLE_RATE // 10:  # under 100 ms: nothing Whisper can use
            return ""
        segments, _info = self.model.transcribe(
            audio,
            language=self.language,
            beam_size=self.beam_size,
            without_timestamps=True,
            condition_on_previous_text=False,
            vad_filter=False,
            initial_prompt=prompt,
        )
        return " ".join(s.text.strip() for s in segments).strip()

    async def atranscribe(self, pcm: bytes | bytearray | memoryview | np.ndarray,
                          *, prompt: str | None = None) -> str:
        """:meth:`transcribe` in a thread executor (the loop's default unless given)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self.executor, lambda: self.transcribe(pcm, prompt=prompt)
        )
