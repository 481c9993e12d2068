"""What the client raises: Google's close code and reason, as the server sent them."""

from __future__ import annotations

# Close codes after which reconnecting cannot help (the request itself is refused).
# 1007 invalid argument / bad key, 1008 not found / denied. 1000 is a normal end.
FATAL_CLOSE_CODES = frozenset({1000, 1002, 1003, 1007, 1008, 1009, 1010})


def is_fatal_close(code: int | None) -> bool:
    """A close that resuming cannot undo: the codes above, and the private-use range
    4000-4999 (an application's deliberate close, e.g. openlive replay's 4409)."""
    return code in FATAL_CLOSE_CODES or (code is not None and 4000 <= code <= 4999)


class LiveClientError(Exception):
    """Base class for errors of :mod:`openlive.client`."""


class LiveConnectError(LiveClientError):
    """The server refused the session: at the HTTP handshake (``status``) or with a close
    frame before ``setupComplete`` (``code`` and ``reason``, e.g. 1007 "API key not valid.
    Please pass a valid API key.")."""

    def __init__(self, message: str, *, code: int | None = None, reason: str = "",
                 status: int | None = None, url: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.status = status
        self.url = url

    @classmethod
    def closed(cls, code: int | None, reason: str, url: str = "") -> LiveConnectError:
        shown = f"{code} {reason}".strip() if code is not None else "connection closed"
        return cls(f"session refused: {shown}", code=code, reason=reason, url=url)


class LiveSessionClosed(LiveClientError):
    """The session ended with an error close (and could not be resumed)."""

    def __init__(self, code: int | None, reason: str = "") -> None:
        shown = f"{code} {reason}".strip() if code is not None else "connection lost"
        super().__init__(f"session closed: {shown}")
        self.code = code
        self.reason = reason
