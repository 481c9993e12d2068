"""Speech recognition with faster-whisper (Whisper base, int8 on CPU by default).

The model is loaded once per (directory, device, compute type, threads) and shared by all
sessions; CTranslate2 models accept concurrent ``transcribe`` calls from several threads
(``num_workers`` > 1 lets them run in parallel). From async code use :meth:`atranscribe`,
which runs in a thread executor so the event loop never blocks.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import re
import threading
import zlib
from concurrent.futures import Executor
from pathlib import Path
from typing import Any

import numpy as np

from .models import whisper_model_dir

__all__ = ["ASSISTANT_PROMPT", "Transcriber", "context_prompt", "load_whisper",
           "pcm16_to_float"]

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never let huggingface_hub try the network

SAMPLE_RATE = 16_000

#: A prompt for Whisper when it listens to someone talking to a voice assistant: a few
#: typical requests, capitalised and punctuated, with names in them. It primes Whisper for
#: questions and commands (WER 8.9 % -> 7.1 % with beam 5 on three synthetic voices,
#: bench/voice_quality.py; it names nothing in the benchmark's questions).
ASSISTANT_PROMPT = ("Hey, what's on my calendar today? Play a song by Adele, and text "
                    "Michael that I'm on my way.")
#: Words of the model's last reply put before :data:`ASSISTANT_PROMPT` (:func:`context_prompt`).
CONTEXT_WORDS = 40
MAX_WINDOW_S = 30  # Whisper's own window
log = logging.getLogger(__name__)
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


def context_prompt(last_reply: str | None) -> str:
    """Whisper's prompt for the user's next words: the last :data:`CONTEXT_WORDS` words of
    the model's last reply in the session (the text the user's speech follows in the
    conversation, as Whisper's prompt is meant to be: the names and words the user is likely
    to answer or follow up with), then :data:`ASSISTANT_PROMPT`. In that order an unrelated
    reply cost nothing on bench/voice_quality.py's spoken set (7.3 % WER against 7.5 %;
    after the prompt: 8.0 %) and a reply on the question's topic brought it to 4.8 %."""
    words = (last_reply or "").split()[-CONTEXT_WORDS:]
    return " ".join([*words, ASSISTANT_PROMPT])


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
    """``transcribe(pcm16_16k) -> text``. Cheap to create: the model itself is shared.

    Whisper's encoder is trained on 30 s windows and faster-whisper always pads to 30 s,
    which costs the same (0.65 s on 2 cores for Whisper base) for a two-second question.
    CTranslate2 accepts a shorter window, so by default the audio is padded only to
    ``window_s`` (8 s, or the audio's length plus 1 s): 0.19 s instead of 0.67 s, at a
    measured WER of 2.4 % against 1.8 % on bench/voice_latency.py's 24 questions. Short
    windows sometimes make Whisper repeat itself; such an output is decoded again on the full
    30 s window. ``window_s=None`` always uses the full window (faster-whisper's own path).

    Beam search (``beam_size`` 5, faster-whisper's own default) instead of greedy decoding:
    on bench/voice_quality.py's 48 questions in flite-slt, flite-awb and espeak-en-us, WER
    12.1 % -> 8.9 % (with :data:`ASSISTANT_PROMPT` 7.1 %), for about 0.05 s more per
    question (flite-rms: 0.26 -> 0.31 s p50 on 2 cores).
    """

    def __init__(
        self,
        model_dir: str | os.PathLike[str] | None = None,
        *,
        language: str | None = "en",
        beam_size: int = 5,
        cpu_threads: int = 2,
        num_workers: int = 1,
        compute_type: str = "int8",
        device: str = "cpu",
        window_s: float | None = 8.0,
        cache: str | os.PathLike[str] | None = None,
        executor: Executor | None = None,
    ) -> None:
        self.language = language
        self.beam_size = beam_size
        self.window_s = window_s
        self.executor = executor
        self.model = load_whisper(model_dir, device=device, compute_type=compute_type,
                                  cpu_threads=cpu_threads, num_workers=num_workers, cache=cache)
        self._tokenizer: Any = None

    def transcribe(self, pcm: bytes | bytearray | memoryview | np.ndarray,
                   *, prompt: str | None = None) -> str:
        """Text of 16 kHz mono audio (PCM16 bytes, int16 or float32 array); '' for silence."""
        audio = pcm16_to_float(pcm)
        if audio.size < SAMPLE_RATE // 10:  # under 100 ms: nothing Whisper can use
            return ""
        text = self._transcribe(audio, prompt)
        if prompt and text and _echoes(text, prompt):
            log.debug("the output repeats the prompt, decoding without it: %r", text)
            text = self._transcribe(audio, None)
        return text

    def _transcribe(self, audio: np.ndarray, prompt: str | None) -> str:
        seconds = audio.size / SAMPLE_RATE
        if self.window_s is not None and self.language and seconds + 1 <= MAX_WINDOW_S:
            window = max(self.window_s, math.ceil(seconds + 1))
            text = self._decode(audio, window, prompt)
            if text is None or not _repetitive(text, seconds):
                return _drop_repeats(text or "")
            log.debug("short-window output looks repetitive, decoding on 30 s: %r", text)
            return _drop_repeats(self._decode(audio, MAX_WINDOW_S, prompt) or "")
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

    def _decode(self, audio: np.ndarray, window_s: float, prompt: str | None) -> str | None:
        """Greedy/beam decoding of ``audio`` zero-padded to ``window_s``; None: no speech."""
        import ctranslate2
        from faster_whisper.tokenizer import Tokenizer

        model = self.model
        if self._tokenizer is None:
            self._tokenizer = Tokenizer(model.hf_tokenizer, model.model.is_multilingual,
                                        task="transcribe", language=self.language)
        tok = self._tokenizer
        frames = int(window_s * 100)  # 10 ms mel frames
        padded = np.zeros(frames * 160, dtype=np.float32)
        padded[:min(audio.size, padded.size)] = audio[:padded.size]
        features = model.feature_extractor(padded)[:, :frames]
        tokens: list[int] = []
        if prompt:
            context = tok.encode(" " + prompt.strip())[-(model.max_length // 2 - 1):]
            tokens = [tok.sot_prev, *context]
        tokens += [*tok.sot_sequence, tok.no_timestamps]
        max_new = int(8 * audio.size / SAMPLE_RATE) + 16  # ~3 words (4 tokens) a second
        result = model.model.generate(
            ctranslate2.StorageView.from_array(np.ascontiguousarray(features[None])),
            [tokens], beam_size=self.beam_size, max_length=min(len(tokens) + max_new, 448),
            return_scores=True, return_no_speech_prob=True, suppress_blank=True,
            suppress_tokens=[-1])[0]
        ids = result.sequences_ids[0]
        avg_logprob = result.scores[0] / (len(ids) + 1) if ids else -10.0
        if result.no_speech_prob > 0.6 and avg_logprob < -1.0:  # faster-whisper's rule
            return None
        return tok.decode(ids).strip()

    async def atranscribe(self, pcm: bytes | bytearray | memoryview | np.ndarray,
                          *, prompt: str | None = None) -> str:
        """:meth:`transcribe` in a thread executor (the loop's default unless given)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self.executor, lambda: self.transcribe(pcm, prompt=prompt)
        )

    def warm_up(self) -> None:
        """Run the model once (the first call pays for allocations and caches)."""
        t = np.arange(SAMPLE_RATE, dtype=np.float32) / SAMPLE_RATE
        self.transcribe((0.1 * np.sin(2 * np.pi * 220 * t)).astype(np.float32))


def _repetitive(text: str, seconds: float) -> bool:
    """Whisper looping on a short window: far more words than the audio could hold, or
    text that compresses too well (faster-whisper's compression-ratio test)."""
    if len(text.split()) > 5 * seconds + 6:
        return True
    raw = text.encode()
    return len(raw) > 24 and len(raw) / len(zlib.compress(raw)) > 2.0


_SENTENCE = re.compile(r"[^.!?]+[.!?]*")


def _words(text: str) -> str:
    return " ".join(re.sub(r"[^\w' ]+", " ", text.lower()).split())


def _echoes(text: str, prompt: str) -> bool:
    """Whisper copied (part of) its prompt instead of hearing the audio: the output is a
    run of the prompt's words."""
    t = _words(text)
    return bool(t) and f" {t} " in f" {_words(prompt)} "


def _drop_repeats(text: str) -> str:
    """Whisper sometimes says a short utterance twice on a short window ("Turn off the
    light. Turn off the light. Turn off"): a sentence of three words or more that repeats
    the one before it, or a trailing fragment that starts it again, is dropped."""
    sentences = [m.group(0).strip() for m in _SENTENCE.finditer(text) if m.group(0).strip()]
    if len(sentences) < 2:
        return text

    def key(s: str) -> str:
        return " ".join(re.sub(r"[^\w' ]+", " ", s.lower()).split())

    kept = [sentences[0]]
    for s in sentences[1:]:
        prev, cur = key(kept[-1]), key(s)
        if len(prev.split()) >= 3 and (cur == prev or (s == sentences[-1] and cur
                                                         and prev.startswith(cur))):
            continue
        kept.append(s)
    return " ".join(kept)
