"""Session resumption bookkeeping: the latest handle, what the server has not acknowledged
yet, and the retry schedule. Pure (no I/O).

What "without losing messages" means here:

1. A message the application sends while the client is reconnecting (after a ``goAway``
   or a dropped connection) is queued and sent, in order, right after the new
   connection's ``setupComplete``.
2. A message sent on the old connection *after* the latest resumable
   ``sessionResumptionUpdate`` is not covered by that handle (the resumed session starts
   from the handle's state), so it is sent again after ``setupComplete``, before the
   queued ones. Messages sent *before* the latest handle were acknowledged by it and are
   never sent again.
3. A message whose write failed on the dying socket counts as queued (rule 1).

Replayed input is capped (``max_replay_bytes``; oldest dropped first, with a warning) so a
long audio stream cannot grow without bound.
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass, field

log = logging.getLogger("openlive.client.reconnect")

DEFAULT_MAX_REPLAY_BYTES = 16 * 1024 * 1024


@dataclass
class ResumptionState:
    handle: str | None = None  # the latest resumable handle
    max_replay_bytes: int = DEFAULT_MAX_REPLAY_BYTES
    unacknowledged: deque[str] = field(default_factory=deque)  # sent since the handle
    _unacked_bytes: int = 0
    dropped: int = 0

    def on_update(self, new_handle: str | None, resumable: bool | None) -> bool:
        """A sessionResumptionUpdate: True if it gave a new usable handle."""
        if not resumable or not new_handle:
            return False  # "not resumable right now" (generating, or during tool calls)
        self.handle = new_handle
        self.unacknowledged.clear()
        self._unacked_bytes = 0
        return True

    def on_sent(self, frame: str) -> None:
        self.unacknowledged.append(frame)
        self._unacked_bytes += len(frame)
        while self._unacked_bytes > self.max_replay_bytes and len(self.unacknowledged) > 1:
            old = self.unacknowledged.popleft()
            self._unacked_bytes -= len(old)
            self.dropped += 1
            if self.dropped == 1:
                log.warning("replay buffer full (%d bytes): oldest unacknowledged input is "
                            "dropped and will not be re-sent on resume", self.max_replay_bytes)

    def take_replay(self) -> list[str]:
        """The frames to send again on the resumed connection (and forget them: once
        re-sent they are unacknowledged on the new connection, tracked by on_sent)."""
        frames = list(self.unacknowledged)
        self.unacknowledged.clear()
        self._unacked_bytes = 0
        return frames


@dataclass(frozen=True)
class RetryPolicy:
    """Reconnect attempts after a drop. Google often answers the first resume right after a
    drop with 1011 and accepts a retry about a second later (spec/protocol.md §5)."""

    attempts: int = 5
    first_delay: float = 0.0
    backoff: float = 2.0
    initial_backoff: float = 0.5
    max_delay: float = 8.0

    def delays(self) -> list[float]:
        out = [self.first_delay]
        delay = self.initial_backoff
        for _ in range(self.attempts - 1):
            out.append(min(delay, self.max_delay))
            delay *= self.backoff
        return out
