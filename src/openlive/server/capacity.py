"""Capacity admission: the server refuses new Live sessions past what it can hold, so the
sessions it holds keep their latency (issue 13; docs/security.md).

Two signals, each optional:

- ``max_sessions``: Live WebSocket sessions open at once (``--max-sessions``);
- ``max_loop_lag``: measured event-loop lag (``--max-loop-lag``). A probe sleeps
  ``PROBE_INTERVAL`` and records how late it woke; the server is overloaded while each of
  the last ``SUSTAINED`` probes woke later than the threshold. One long stall (a model
  loading) is a single late probe and refuses nobody; a loop that is late every time is
  past its capacity.

A refused session is upgraded and closed at once with 1011 "The service is currently
unavailable." (server/overload.py for the source); while overloaded by lag, the REST
routes answer Google's JSON 503. Sessions already admitted go on.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque

from ..wire.errors import LiveError
from .overload import LIVE_REFUSAL, RefusalLog

log = logging.getLogger("openlive.server")

PROBE_INTERVAL = 0.1  # seconds between lag probes
SUSTAINED = 3  # consecutive late probes that make the loop "overloaded"
MAX_LOOP_LAG = 0.5  # default threshold in seconds (openlive's own)


class Capacity:
    def __init__(self, max_sessions: int | None = None,
                 max_loop_lag: float | None = MAX_LOOP_LAG) -> None:
        self.max_sessions = max_sessions or None
        self.max_loop_lag = max_loop_lag or None
        self.sessions = 0
        self.recent_lags: deque[float] = deque(maxlen=SUSTAINED)
        self.log = RefusalLog(log)

    def overloaded(self) -> bool:
        """True while each of the last SUSTAINED probes woke later than the threshold."""
        lags = self.recent_lags
        return (self.max_loop_lag is not None and len(lags) == SUSTAINED
                and min(lags) > self.max_loop_lag)

    def admit(self) -> LiveError | None:
        """Count a new session, or the error refusing it (then nothing is counted).
        Every admission is paired with :meth:`release`."""
        if self.max_sessions is not None and self.sessions >= self.max_sessions:
            self.log.refused("session capacity --max-sessions", f"{self.sessions} open")
            return LIVE_REFUSAL
        if self.overloaded():
            self.log.refused("event loop lag over --max-loop-lag",
                             f"last probes {', '.join(f'{x:.3f}' for x in self.recent_lags)} s")
            return LIVE_REFUSAL
        self.sessions += 1
        return None

    def release(self) -> None:
        self.sessions = max(0, self.sessions - 1)

    async def watch_loop_lag(self, interval: float = PROBE_INTERVAL) -> None:
        """Forever: sleep ``interval`` and record how late the wake-up was."""
        if self.max_loop_lag is None:
            return
        loop = asyncio.get_running_loop()
        while True:
            start = loop.time()
            await asyncio.sleep(interval)
            self.recent_lags.append(max(0.0, loop.time() - start - interval))
