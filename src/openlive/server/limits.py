"""Per-key admission limits of one server process: concurrent sessions and session starts
per minute. Pure bookkeeping; the caller passes the time."""

from __future__ import annotations

from collections import defaultdict, deque

from ..wire import errors
from ..wire.errors import LiveError


class KeyLimiter:
    def __init__(self, max_sessions: int | None = None,
                 max_starts_per_minute: int | None = None) -> None:
        self.max_sessions = max_sessions or None
        self.max_starts = max_starts_per_minute or None
        self.active: dict[str, int] = defaultdict(int)
        self._starts: dict[str, deque[float]] = defaultdict(deque)

    def acquire(self, key_id: str, now: float) -> LiveError | None:
        """Count a new session for ``key_id``, or the RESOURCE_EXHAUSTED error refusing it.
        Every successful acquire must be paired with :meth:`release`."""
        if self.max_sessions is not None and self.active[key_id] >= self.max_sessions:
            return LiveError(1011, errors.RESOURCE_EXHAUSTED)
        if self.max_starts is not None:
            starts = self._starts[key_id]
            while starts and starts[0] <= now - 60.0:
                starts.popleft()
            if len(starts) >= self.max_starts:
                return LiveError(1011, errors.RESOURCE_EXHAUSTED)
            starts.append(now)
        self.active[key_id] += 1
        return None

    def release(self, key_id: str) -> None:
        left = self.active.get(key_id, 0) - 1
        if left > 0:
            self.active[key_id] = left
        else:
            self.active.pop(key_id, None)
