"""When a connection must end: connection lifetime, session duration, an engine's goAway.

Google's limits (spec/protocol.md §5, "Session and connection limits"; Live API guide,
"Session management"): a connection lasts about 10 minutes; a session without context
window compression lasts 15 minutes with audio only, 2 minutes once video was sent (the
limit survives resumption), and none with compression; a ``goAway`` with ``timeLeft``
comes before the end, and the end is a 1011 close with DEADLINE_EXCEEDED. An engine (the
emulator's fault injection) may send its own goAway: the connection then ends the same way
when that ``timeLeft`` runs out. A connection that sends no setup ends the same way after
``limits.setup_timeout`` (openlive's own limit: Google documents none).
"""

from __future__ import annotations

from dataclasses import dataclass

from .limits import Limits

_SLACK = 1e-3  # a timer that fires a hair early still counts as on time


def seconds(duration: str) -> float:
    """A proto Duration as JSON (``"50s"``, ``"1.5s"``) in seconds."""
    return float(duration.strip().rstrip("s") or 0)


@dataclass
class Deadlines:
    """The times this connection's end depends on (Unix seconds, passed in: no clock)."""

    limits: Limits
    connected_at: float
    session_started: float  # survives resumption (the session duration limit)
    video_seen: bool = False
    go_away_sent: bool = False
    close_at: float | None = None  # an engine's goAway: when its timeLeft runs out

    def end(self, live: bool, compressing: bool) -> float | None:
        """When the connection must close (None: never)."""
        ends: list[float] = []
        if self.limits.connection_lifetime:
            ends.append(self.connected_at + self.limits.connection_lifetime)
        if live and not compressing:
            limit = self.limits.session_video if self.video_seen else self.limits.session_audio
            if limit:
                ends.append(self.session_started + limit)
        if self.close_at is not None:
            ends.append(self.close_at)
        return min(ends) if ends else None

    def next(self, live: bool, compressing: bool) -> float | None:
        """The next time something is due: the goAway, then the end."""
        end = self.end(live, compressing)
        if end is None:
            return None
        if not self.go_away_sent and self.limits.go_away_before > 0:
            return max(end - self.limits.go_away_before, self.connected_at)
        return end

    def due(self, now: float, live: bool, compressing: bool) -> str | int | None:
        """What is due at ``now``: ``"close"``, the goAway's whole seconds left (an int; the
        goAway counts as sent), or None."""
        end = self.end(live, compressing)
        if end is None:
            return None
        if now >= end - _SLACK:
            return "close"
        if not self.go_away_sent and now >= end - self.limits.go_away_before - _SLACK:
            self.go_away_sent = True
            return max(0, round(end - now))
        return None

    def setup_by(self) -> float | None:
        """While no setup has come: when the connection closes for want of one."""
        timeout = self.limits.setup_timeout
        return self.connected_at + timeout if timeout else None

    def engine_go_away(self, now: float, time_left: str) -> None:
        """An engine sent goAway: no other goAway follows; the close comes at its end."""
        self.go_away_sent = True
        close_at = now + seconds(time_left)
        self.close_at = close_at if self.close_at is None else min(self.close_at, close_at)
