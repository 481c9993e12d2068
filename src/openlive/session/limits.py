"""Session and connection limits (spec/protocol.md §5). Seconds; None switches one off."""

from __future__ import annotations

from dataclasses import dataclass

CONNECTION_LIFETIME = 600.0  # a connection lasts about 10 min
GO_AWAY_BEFORE = 60.0  # goAway comes about 60 s before the end
SESSION_LIMIT_AUDIO = 900.0  # audio-only sessions: 15 min without context compression
SESSION_LIMIT_VIDEO = 120.0  # audio + video: 2 min
HANDLE_TTL = 7200.0  # a resumption handle is valid 2 h after the session ends
# openlive's own (Google documents none): a WebSocket that sends no setup this long is
# closed like any other deadline, so an idle socket cannot hold a connection slot
SETUP_TIMEOUT = 30.0
# openlive's own (Google is silent): a connection's "connected" mark in the store lives this
# long without renewal, so a crashed process's sessions can be resumed again after it
LEASE_TTL = 30.0
# openlive's own: a resume waits this long for a connection the client has just closed to
# let go of the session (a client sees its close before the server has saved and released)
LEASE_WAIT = 2.0
CONTEXT_WINDOW = 128 * 1024  # native-audio models' context window, in tokens


@dataclass(frozen=True)
class Limits:
    connection_lifetime: float | None = CONNECTION_LIFETIME
    go_away_before: float = GO_AWAY_BEFORE
    session_audio: float | None = SESSION_LIMIT_AUDIO
    session_video: float | None = SESSION_LIMIT_VIDEO
    handle_ttl: float = HANDLE_TTL
    context_window: int = CONTEXT_WINDOW
    setup_timeout: float | None = SETUP_TIMEOUT
    lease_ttl: float = LEASE_TTL
    lease_wait: float = LEASE_WAIT

    @classmethod
    def none(cls) -> Limits:
        """No connection or session limit (unit tests, benchmarks)."""
        return cls(connection_lifetime=None, session_audio=None, session_video=None,
                   setup_timeout=None)
