"""One session's ears (:class:`Listener`): VAD -> ASR.

``realtimeInput.audio`` at any PCM rate is resampled to 16 kHz (soxr, about 6-9 µs per
20 ms chunk, on the loop) and segmented by Silero VAD behind an energy gate and off the
event loop (:mod:`.gate`, :mod:`.worker`: an idle microphone costs microseconds, speech
runs in a thread), or bracketed by the client's ``activityStart``/``activityEnd`` when
automatic detection is disabled; the start of speech barges in, each utterance is
transcribed in a thread (speculatively from the first short pause) and becomes the user's
turn, with
``inputTranscription`` deltas when the setup asks for it (:mod:`.partial`: partial text
while the user speaks).

Protocol rules stay in the session core; this module only calls models and reports.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import numpy as np

from ...session import events as ev
from ...wire import errors
from ...wire.setup import Setup
from ..base import SessionInput
from . import stage_metrics
from .partial import PartialTranscript
from .remote_backend import BackendError
from .turn_end import (
    SMART_END_SILENCE_MS,
    TurnEndScorer,
    end_threshold,
    sounds_finished,
)
from .voice_models import VoiceModels

log = logging.getLogger("openlive.voice")

MAX_BETWEEN_BYTES = 16_000 * 2 * 30  # TURN_INCLUDES_ALL_INPUT keeps at most 30 s between


def _vad_config(setup: Setup) -> Any:
    from .vad import VadConfig

    cfg = setup.realtime_input_config
    aad = cfg and cfg.automatic_activity_detection
    live = aad.model_dump(exclude_none=True) if aad else None
    if _smart_end(setup):  # no silenceDurationMs: openlive's end of turn (SMART_END_…)
        return VadConfig.from_live(live, silence_duration_ms=SMART_END_SILENCE_MS)
    return VadConfig.from_live(live)


def _smart_end(setup: Setup) -> bool:
    cfg = setup.realtime_input_config
    aad = cfg and cfg.automatic_activity_detection
    return not (aad and aad.silence_duration_ms is not None)


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
                 inputs: SessionInput | None = None, *,
                 turn_end: TurnEndScorer | None = None) -> None:
        """``turn_end``: asked whether a pause's transcript ends the turn, after the
        lexical rule (:mod:`.turn_end`); None: the lexical rule alone."""
        self.setup = setup
        self.models = models
        self.turn_end = turn_end
        # told each pause's transcript that may end the turn, and None when the user speaks
        # on after it (the local engine starts its answer speculatively)
        self.on_pause: Callable[[str | None], None] | None = None
        self._pause_told = False
        self.inputs = inputs
        # ends the session when a remote recognizer fails (set by the engine, if it can)
        self.close_session: Callable[[int, str], Awaitable[None]] | None = None
        self.automatic = setup.automatic_vad_enabled()
        self.transcribe_input = setup.input_audio_transcription is not None
        cfg = setup.realtime_input_config
        self.all_input = bool(cfg and cfg.turn_coverage == "TURN_INCLUDES_ALL_INPUT")
        self._vad_config = _vad_config(setup) if self.automatic else None
        # end the turn at a pause whose transcript sounds finished (no silenceDurationMs)
        self.smart_end = self.automatic and _smart_end(setup)
        aad = cfg and cfg.automatic_activity_detection
        self._end_threshold = end_threshold(aad and aad.end_of_speech_sensitivity)
        self._commit_key: tuple[float, float] | None = None  # pause judged finished
        self._segmenter: Any = None  # created at the first audio (Silero at the first loud)
        self._vad: Any = None  # its VadWorker: the segmenter fed off the loop, in order
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
            if self._vad is not None:
                self._vad.flush()

    def _on_audio(self, pcm: bytes) -> None:
        if not self.automatic:
            if self._activity is not None:
                self._activity += pcm
            elif self.all_input:  # TURN_INCLUDES_ALL_INPUT: joins the next activity
                self._between += pcm
                del self._between[:max(0, len(self._between) - MAX_BETWEEN_BYTES)]
            return
        if self._vad is None:
            from .vad import VadSegmenter
            from .worker import VadWorker

            self._segmenter = VadSegmenter(self._vad_config)
            self._vad = VadWorker(self._segmenter, self._heard)
        self._vad.feed(pcm)

    def _heard(self, events: list[Any], flushed: bool) -> None:
        """The VAD's events for the audio fed so far (on the loop, between feeds)."""
        self._handle(events)
        self._commit_if_finished()
        if not flushed and self._segmenter.speaking:
            self._while_speaking()

    def _judge(self, fut: asyncio.Future[str], key: tuple[float, float]) -> None:
        """The transcript at a pause: if it sounds finished (:mod:`.turn_end`), ``on_pause``
        hears it, and (without ``silenceDurationMs``) if the pause goes on, the turn ends
        now instead of after the whole silence window."""
        if fut.cancelled() or fut.exception() is not None or key != self._spec_key:
            return
        text = fut.result()
        if not sounds_finished(text):
            return
        if self.on_pause is not None and text:
            self._pause_told = True
            self.on_pause(text)
        if not self.smart_end:  # silenceDurationMs: the silence alone ends the turn
            return
        scorer = self.turn_end
        if scorer is None or not text:
            self._finished(key)
            return
        from .llm import LLM_WAITS  # it waits for a llama.cpp slot: not the loop's pool

        task = asyncio.get_running_loop().run_in_executor(LLM_WAITS, scorer.p_end, text)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        t0 = time.monotonic()
        task.add_done_callback(lambda t: self._scored(t, key, text, t0))

    def _scored(self, task: asyncio.Future[float], key: tuple[float, float], text: str,
                t0: float) -> None:
        if task.cancelled():
            return
        if task.exception() is not None:  # the lexical rule alone then
            log.warning("end-of-turn scoring failed: %s", task.exception())
            self._finished(key)
            return
        p = task.result()
        log.debug("P(end) of the pause's transcript %.3f (threshold %.2f; %d words, scored "
                  "in %.0f ms)", p, self._end_threshold, len(text.split()),
                  (time.monotonic() - t0) * 1000)
        if p >= self._end_threshold:
            self._finished(key)

    def _finished(self, key: tuple[float, float]) -> None:
        if key == self._spec_key:
            self._commit_key = key
            self._commit_if_finished()

    def _commit_if_finished(self) -> None:
        key, seg = self._commit_key, self._segmenter
        if key is None or self._vad is None or self._vad.busy:
            return  # (busy: retried after the running feed, from _heard)
        self._commit_key = None
        if seg.speaking and (seg.utterance_start_ms, seg.decider.speech_end_ms) == key:
            log.debug("end of turn: the transcript at a %.0f ms pause sounds finished",
                      seg.decider.silence_ms)
            self._handle(seg.end_turn())

    def _handle(self, events: list[Any]) -> None:
        from .vad import SpeechEnded, SpeechStarted

        for e in events:
            if isinstance(e, SpeechStarted):
                log.debug("speech started at %.0f ms", e.at_ms)
                self._partial = PartialTranscript() if self.transcribe_input else None
                self._partial_at = 0.0
                if self.inputs is not None:
                    self.inputs.speech_started(e.at_ms / 1000)
            elif isinstance(e, SpeechEnded):
                log.debug("speech ended at %.0f ms (%d bytes)", e.at_ms, len(e.audio))
                if self.inputs is not None:
                    self.inputs.speech_ended(e.at_ms / 1000)
                stage_metrics.stage(stage_metrics.END_OF_SPEECH, (e.detected_ms - e.at_ms) / 1000)
                spec = self._spec if self._spec_key == (e.start_ms, e.at_ms) else None
                if spec is None and self._pause_told and self.on_pause is not None:
                    self.on_pause(None)  # the utterance is not the one speculated on
                self._pause_told = False
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
                    if self.smart_end or self.on_pause is not None:
                        self._spec.add_done_callback(lambda fut, k=key: self._judge(fut, k))
                    if self._partial is not None:
                        partial = self._partial
                        self._spec.add_done_callback(
                            lambda fut: self._partial_from(fut, partial))
            return
        if self._pause_told and self.on_pause is not None:  # the user speaks on
            self._pause_told = False
            self.on_pause(None)
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

    def _prompt(self) -> str:
        """Whisper's prompt (:func:`.asr.context_prompt`): with the model's last reply in
        this session, when the session input can tell the conversation."""
        from .asr import context_prompt

        conversation = getattr(self.inputs, "conversation", None)
        reply = None
        if conversation is not None:
            _setup, history = conversation()
            replies = (c.text() for c in reversed(history) if c.role == "model")
            reply = next((text for text in replies if text.strip()), None)
        return context_prompt(reply)

    def _run_asr(self, audio: bytes) -> asyncio.Future[str]:
        """Recognition in a thread; the future is shared by whoever needs this audio."""
        models = self.models
        prompt = self._prompt()  # (the conversation is read here, on the loop)

        def run() -> str:
            with models.asr_running():
                return str(models.transcriber().transcribe(audio, prompt=prompt)).strip()

        # recognition has threads of its own (VoiceModels.asr_executor): on the loop's
        # default pool it could wait behind threads blocked on the LLM
        task = asyncio.get_running_loop().run_in_executor(models.asr_executor, run)
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
            stage_metrics.stage(stage_metrics.RECOGNITION, t1 - t0)
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
        except BackendError as exc:  # a remote recognizer failed: the session ends
            log.error("%s; closing the session (1011)", exc)
            if self.close_session is not None:
                await self.close_session(1011, errors.UNAVAILABLE)
        except Exception:
            stage_metrics.backend_error("asr")
            log.exception("speech recognition failed")

    async def aclose(self) -> None:
        if self._vad is not None:
            self._vad.close()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
