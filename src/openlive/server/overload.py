"""What the server answers when it refuses work because it is full (connection caps,
capacity): Google's words for an overloaded service.

- REST: HTTP 503 ``UNAVAILABLE`` "The model is overloaded. Please try again later." — the
  body Google's generateContent returns when overloaded (captured in
  https://github.com/google-gemini/gemini-cli/issues/7227; the status and its meaning,
  "the service may be temporarily overloaded or down", are on
  https://ai.google.dev/gemini-api/docs/troubleshooting).
- Live WebSocket: close 1011 "The service is currently unavailable." — Google documents no
  close for an overloaded Live service; this is the UNAVAILABLE reason Google's Live
  endpoint closes with on a server fault (spec/protocol.md §5, observed), under the
  gRPC UNAVAILABLE -> 1011 mapping every other 5xx-class status follows there.
"""

from __future__ import annotations

import logging
import time

from aiohttp import web

from ..wire.errors import UNAVAILABLE, LiveError
from . import metrics
from .http_errors import error_response

OVERLOADED = "The model is overloaded. Please try again later."
LIVE_REFUSAL = LiveError(1011, UNAVAILABLE)


def overloaded_response() -> web.Response:
    """HTTP 503 with Google's body; the connection closes after it."""
    response = error_response(503, "UNAVAILABLE", OVERLOADED)
    response.force_close()
    return response


class RefusalLog:
    """Counts refusals by cause (here and in ``openlive_refused_total{cause}``) and logs
    them, at most one line per cause every ``every`` seconds (a flood of refused peers must
    not flood the log)."""

    def __init__(self, log: logging.Logger, every: float = 10.0) -> None:
        self.log = log
        self.every = every
        self.counts: dict[str, int] = {}  # cause -> refusals since start
        self._logged_at: dict[str, float] = {}
        self._unlogged: dict[str, int] = {}

    def refused(self, cause: str, detail: str = "") -> None:
        metrics.refused(cause)
        self.counts[cause] = self.counts.get(cause, 0) + 1
        self._unlogged[cause] = self._unlogged.get(cause, 0) + 1
        now = time.monotonic()
        if now - self._logged_at.get(cause, -self.every) >= self.every:
            self._logged_at[cause] = now
            count = self._unlogged.pop(cause)
            self.log.warning("refused (%s): %d since the last such line, %d since start%s",
                             cause, count, self.counts[cause],
                             f"; {detail}" if detail else "")
