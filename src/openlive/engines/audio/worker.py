"""Silero VAD off the event loop (:class:`VadWorker`).

One session's :class:`~openlive.engines.audio.vad.VadSegmenter` is fed in order, one feed at
a time: a chunk the energy gate answers alone (an idle microphone: silence, faint noise)
is fed inline, in microseconds; any other chunk, and ``audioStreamEnd``'s flush, runs in a
small process-wide thread pool, where Silero's native code runs without the GIL (it is
called through ``ctypes``, which releases it). Audio that arrives while a feed runs waits
and goes with the next one, so a busy pool batches each session's audio instead of
queueing one job per chunk. Events come back on the event loop, in order, through
``on_events``; the segmenter is only touched by the loop while no feed runs, so the loop
may read it (``utterance_audio``) from ``on_events``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

log = logging.getLogger("openlive.voice")

__all__ = ["VadWorker", "vad_executor"]

_executor: ThreadPoolExecutor | None = None
_executor_lock = threading.Lock()
_FLUSH = object()


def vad_executor() -> ThreadPoolExecutor:
    """The threads that run Silero for every session of the process (one per core, at
    most 4: the model is small and single-threaded; more threads would only fight the
    event loop for the GIL between native calls)."""
    global _executor
    with _executor_lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1),
                                           thread_name_prefix="openlive-vad")
        return _executor


class VadWorker:
    """Feeds one segmenter in order, inline when the gate answers alone, else in a thread.

    ``on_events(events, flushed)`` runs on the event loop after each feed (``flushed``:
    the events of a :meth:`flush`).
    """

    def __init__(self, segmenter: Any, on_events: Callable[[list[Any], bool], None]) -> None:
        self.segmenter = segmenter
        self.on_events = on_events
        self._ops: list[Any] = []  # bytearray (audio to feed) or _FLUSH, in arrival order
        self._job: asyncio.Future[list[Any]] | None = None
        self._closed = False
        self.offloaded = 0  # feeds run in a thread (for tests and curiosity)

    @property
    def busy(self) -> bool:
        """A feed is running in a thread (or audio waits for it)."""
        return self._job is not None

    def feed(self, pcm: bytes) -> None:
        if self._closed or not pcm:
            return
        if not self._ops and self._job is None and self.segmenter.feed_if_quiet(pcm):
            return  # the gate answered: no model, no events (the idle microphone's path)
        if self._ops and self._ops[-1] is not _FLUSH:
            self._ops[-1] += pcm
        else:
            self._ops.append(bytearray(pcm))
        self._run()

    def flush(self) -> None:
        if not self._closed:
            self._ops.append(_FLUSH)
            self._run()

    def close(self) -> None:
        """Drop waiting audio; a running feed finishes in its thread, its events unused."""
        self._closed = True
        self._ops.clear()
        self._job = None

    def _run(self) -> None:
        seg = self.segmenter
        while self._ops and self._job is None and not self._closed:
            op = self._ops.pop(0)
            if op is not _FLUSH and seg.feed_if_quiet(op):
                continue
            work = seg.flush if op is _FLUSH else (lambda pcm=bytes(op): seg.feed(pcm))
            self.offloaded += 1
            job = asyncio.get_running_loop().run_in_executor(vad_executor(), work)
            self._job = job
            job.add_done_callback(lambda fut, flushed=op is _FLUSH: self._done(fut, flushed))

    def _done(self, fut: asyncio.Future[list[Any]], flushed: bool) -> None:
        if fut is not self._job:  # closed meanwhile
            return
        self._job = None
        events: list[Any] = []
        if not fut.cancelled():
            try:
                events = fut.result()
            except Exception:  # a broken model must not end the session's other work
                log.exception("voice activity detection failed")
        try:
            self.on_events(events, flushed)
        finally:
            self._run()
