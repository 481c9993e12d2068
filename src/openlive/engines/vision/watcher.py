"""When to look: one session's video frames, analysed only when it is worth it.

* Every frame that belongs to a turn (``turnCoverage``, :func:`video_counts_outside_activity`)
  becomes the *latest* frame; nothing else happens on the event loop.
* In the background, the latest frame is analysed when it **changed enough** since the last
  analysed one (a 32×24 grey thumbnail's mean difference) and **the CPU is free** (the shared
  analyser is idle and the engine's ``cpu_free()`` says so, e.g. no reply being generated).
* :meth:`FrameWatcher.describe_for_turn` gives the description of the latest frame **on
  demand** (a user turn that asks about what is seen): the last description if it is of that
  frame (or of an unchanged one), else an analysis now.

All model work runs on the analyser's worker thread (:meth:`FrameAnalyser.arun`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import io
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ...session.models import profile
from ...wire.setup import Setup
from .analyser import FrameAnalyser, FrameError, analysis_size
from .description import Description

log = logging.getLogger("openlive.vision")

CHANGE_THRESHOLD = 0.04  # mean absolute grey difference (0..1) that counts as a change
ALL_VIDEO = ("TURN_INCLUDES_ALL_INPUT", "TURN_INCLUDES_AUDIO_ACTIVITY_AND_ALL_VIDEO")


def video_counts_outside_activity(setup: Setup, model: str | None = None) -> bool:
    """Whether frames sent while the user is not speaking belong to the next turn:
    ``realtimeInputConfig.turnCoverage``, else the model profile's default (session/models.py:
    ``TURN_INCLUDES_ONLY_ACTIVITY``, only frames sent during activity count, for the 2.x
    models; all video for 3.x). openlive's own models (``openlive-local``, the emulator's),
    which are not in that table, take all video, like the default Live model."""
    cfg = setup.realtime_input_config
    coverage = cfg.turn_coverage if cfg is not None else None
    if coverage in (None, "TURN_COVERAGE_UNSPECIFIED"):
        known = profile(model or setup.model or "")
        coverage = (known.default_turn_coverage if known
                    else "TURN_INCLUDES_AUDIO_ACTIVITY_AND_ALL_VIDEO")
    return coverage in ALL_VIDEO


@dataclass(frozen=True)
class Frame:
    seq: int
    jpeg: bytes
    received_at: float


def signature(jpeg: bytes) -> Any:
    """A 32×24 grey thumbnail (float array, 0..1) to tell whether two frames differ."""
    import numpy as np
    from PIL import Image

    image = Image.open(io.BytesIO(jpeg))
    image.draft("L", (64, 64))
    return np.asarray(image.convert("L").resize((32, 24)), dtype=np.float32) / 255.0


def changed(a: Any, b: Any, threshold: float = CHANGE_THRESHOLD) -> bool:
    import numpy as np

    return a is None or b is None or float(np.abs(a - b).mean()) >= threshold


class FrameWatcher:
    def __init__(self, analyser: FrameAnalyser, *, size: int = 640,
                 all_video: bool = True, cpu_free: Callable[[], bool] = lambda: True,
                 clock: Callable[[], float] = time.monotonic, background: bool = True,
                 change_threshold: float = CHANGE_THRESHOLD) -> None:
        self.analyser = analyser
        self.size = size
        self.all_video = all_video
        self.cpu_free = cpu_free
        self.clock = clock
        self.background = background
        self.change_threshold = change_threshold
        self.in_activity = False
        self.frames = 0  # frames that counted
        self.analysed = 0  # analyses run (background and on demand)
        self._seq = 0
        self._latest: Frame | None = None
        self._last: Description | None = None
        self._last_seq = -1
        self._last_sig: Any = None
        self._task: asyncio.Task[None] | None = None
        self._lock: asyncio.Lock | None = None

    @classmethod
    def for_session(cls, analyser: FrameAnalyser, setup: Setup, model: str | None = None,
                    **kwargs: Any) -> FrameWatcher:
        """A watcher sized by ``generationConfig.mediaResolution``, with the turn coverage
        of ``realtimeInputConfig`` or the model's default."""
        gc = setup.generation_config
        return cls(analyser, size=analysis_size(gc.media_resolution if gc else None),
                   all_video=video_counts_outside_activity(setup, model), **kwargs)

    # --- input (event loop) -------------------------------------------------------------
    def activity(self, active: bool) -> None:
        """The user's activity started (speech, activityStart) or ended."""
        self.in_activity = active

    def on_frame(self, jpeg: bytes, now: float | None = None) -> None:
        """A video frame arrived (cheap: analysis, if any, runs later in a thread)."""
        if not jpeg or not (self.all_video or self.in_activity):
            return
        self._seq += 1
        self.frames += 1
        self._latest = Frame(self._seq, jpeg, self.clock() if now is None else now)
        if self.background and (self._task is None or self._task.done()):
            try:
                self._task = asyncio.get_running_loop().create_task(self._look())
            except RuntimeError:  # no loop (a synchronous caller): on demand only
                pass

    @property
    def latest_frame(self) -> Frame | None:
        return self._latest

    def latest(self) -> Description | None:
        """The last description made (its ``age()`` says how old its frame is)."""
        return self._last

    # --- analysis -----------------------------------------------------------------------
    async def _look(self) -> None:
        """Background: analyse the latest frame if it changed and the CPU is free."""
        await asyncio.sleep(0)  # let the caller's burst of events go first
        frame = self._latest
        if frame is None or frame.seq == self._last_seq:
            return
        if self.analyser.busy or not self.cpu_free():
            return
        try:
            await self._describe(frame)
        except Exception:  # a bad frame: the next one may be fine; turns analyse on demand
            log.debug("background analysis failed", exc_info=True)

    async def describe_for_turn(self) -> Description | None:
        """The description of the latest frame that belongs to this turn (None: no frame);
        analyses it now if no description of it (or of an unchanged frame) exists."""
        frame = self._latest
        if frame is None:
            return None
        if frame.seq == self._last_seq and self._last is not None:
            return self._last
        try:
            return await self._describe(frame)
        except FrameError as exc:
            log.info("the latest video frame cannot be read: %s", exc)
            return self._last

    async def _describe(self, frame: Frame) -> Description:
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:  # one analysis per session at a time; a turn waits for it
            if frame.seq == self._last_seq and self._last is not None:
                return self._last
            sig = await self.analyser.arun(_safe_signature, frame.jpeg)
            if (self._last is not None and sig is not None
                    and not changed(sig, self._last_sig, self.change_threshold)):
                # the same picture: the last description holds, for this newer frame
                desc = dataclasses.replace(self._last, received_at=frame.received_at)
            else:
                desc = await self.analyser.arun(self.analyser.analyse, frame.jpeg,
                                                received_at=frame.received_at, size=self.size)
                self.analysed += 1
            self._last, self._last_seq, self._last_sig = desc, frame.seq, sig
            return desc

    async def aclose(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):
                pass


def _safe_signature(jpeg: bytes) -> Any:
    try:
        return signature(jpeg)
    except Exception as exc:  # not an image: analyse() raises FrameError with the reason
        raise FrameError(f"not a decodable image: {exc}") from None
