"""Vision for an engine: :class:`Vision` is shared by a server's sessions (the detectors'
analyser, or a vision model at ``--vlm-url``); :class:`SessionVision` is one session's
frames and the description its turns get. Engines call three things: ``on_event`` (every
session event), ``speech`` (their VAD's speech start and end) and ``for_turn``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from ...session import events as ev
from ...wire.setup import Setup
from . import console_view
from .analyser import FrameAnalyser
from .description import Description
from .needs import asks_about_view
from .vlm import VisionModel, VisionModelError
from .watcher import FrameWatcher

log = logging.getLogger("openlive.vision")


class Vision:
    def __init__(self, analyser: FrameAnalyser | None = None, vlm: VisionModel | None = None,
                 *, clock: Callable[[], float] = time.monotonic) -> None:
        if (analyser is None) == (vlm is None):
            raise ValueError("Vision needs exactly one of analyser and vlm")
        self.analyser = analyser
        self.vlm = vlm
        self.clock = clock

    def describe(self) -> str:
        return self.vlm.describe_where() if self.vlm else "OCR, QR codes, colours, people"

    def open(self, setup: Setup, model: str | None = None, *,
             cpu_free: Callable[[], bool] = lambda: True) -> SessionVision:
        return SessionVision(self, setup, model, cpu_free)

    async def aclose(self) -> None:
        if self.vlm is not None:
            await self.vlm.aclose()


class SessionVision:
    def __init__(self, vision: Vision, setup: Setup, model: str | None,
                 cpu_free: Callable[[], bool]) -> None:
        self.vision = vision
        # with a vision model, frames are only kept: it is asked when a turn needs it
        analyser: Any = vision.analyser or _NoAnalyser()
        self.watcher = FrameWatcher.for_session(
            analyser, setup, model, cpu_free=cpu_free, clock=vision.clock,
            background=vision.analyser is not None)
        self._mime = "image/jpeg"
        self._vlm_seen: tuple[int, Description] | None = None

    def on_event(self, event: object) -> None:
        if isinstance(event, ev.MediaReceived) and event.kind == "video" and event.blob.data:
            self._mime = event.blob.mime_type or self._mime
            console_view.saw(self, event.blob.data)  # GET /console/seen finds the session
            self.watcher.on_frame(event.blob.data)
        elif isinstance(event, ev.ActivityStarted):
            self.watcher.activity(True)
        elif isinstance(event, ev.ActivityEnded):
            self.watcher.activity(False)

    def speech(self, active: bool) -> None:
        """The engine's VAD heard speech start (True) or the utterance end (False)."""
        self.watcher.activity(active)

    @property
    def has_video(self) -> bool:
        return self.watcher.latest_frame is not None

    async def for_turn(self, user_text: str) -> Description | None:
        """The description for a user turn: analysed now when the turn asks about the view
        (or nothing was analysed yet), else the last background one. None: no video."""
        if not self.has_video:
            return None
        vlm = self.vision.vlm
        if vlm is not None:
            frame = self.watcher.latest_frame
            assert frame is not None
            if not asks_about_view(user_text) and self._vlm_seen is not None:
                return self._vlm_seen[1]
            try:
                desc = await vlm.describe(frame.jpeg, user_text, received_at=frame.received_at,
                                          mime=self._mime)
            except VisionModelError as exc:
                log.warning("%s", exc)
                return self._vlm_seen[1] if self._vlm_seen else None
            self._vlm_seen = (frame.seq, desc)
            return desc
        last = self.watcher.latest()
        if last is None or asks_about_view(user_text):
            try:
                return await self.watcher.describe_for_turn()
            except Exception:  # the video is an aid: a failing detector never ends the turn
                log.warning("the video frame could not be analysed", exc_info=True)
        return last

    async def described(self) -> Description | None:
        """The latest frame of the turn, always described (the emulator: a script's flow
        must not depend on what the background happened to analyse). None: no video, or
        the analyser failed (logged)."""
        if self.vision.vlm is not None:
            return await self.for_turn("")
        try:
            return await self.watcher.describe_for_turn()
        except Exception:
            log.warning("the video frame could not be analysed", exc_info=True)
            return self.watcher.latest()

    async def note_for_turn(self, user_text: str) -> str | None:
        """:meth:`for_turn`, worded for the LLM's context (None: no video)."""
        desc = await self.for_turn(user_text)
        return desc.for_prompt(self.vision.clock()) if desc is not None else None

    async def aclose(self) -> None:
        console_view.forget(self)
        await self.watcher.aclose()


class _NoAnalyser:
    busy = True  # never analyses in the background

    def analyse(self, *args: Any, **kwargs: Any) -> Description:  # pragma: no cover
        raise RuntimeError("frames go to the vision model")


class SpeechHook:
    """A :class:`~openlive.engines.base.SessionInput` that also tells a session's vision when
    its VAD heard speech start and end (``turnCoverage`` TURN_INCLUDES_ONLY_ACTIVITY counts
    only frames sent while the user speaks)."""

    def __init__(self, inner: Any, vision: SessionVision) -> None:
        self.inner = inner
        self.vision = vision

    def speech_started(self, audio_offset: float | None = None) -> None:
        self.vision.speech(True)
        self.inner.speech_started(audio_offset)

    def speech_ended(self, audio_offset: float | None = None) -> None:
        self.vision.speech(False)
        self.inner.speech_ended(audio_offset)

    async def input_transcription(self, text: str, finished: bool | None = None) -> None:
        await self.inner.input_transcription(text, finished)

    async def user_speech(self, text: str) -> None:
        self.vision.speech(False)
        await self.inner.user_speech(text)

    def conversation(self) -> Any:
        return self.inner.conversation()
