"""RFC 6455 rules that aiohttp's WebSocket reader (3.x) does not enforce on a server:

- every client frame is masked (§5.1: "The server MUST close the connection upon receiving
  a frame that is not masked ... status code 1002 (protocol error)");
- a close frame carries a code an endpoint may send (§7.4.1-7.4.2 and the IANA registry:
  1005, 1006 and 1015 are never sent; below 1000, 1004 and 1016-2999 are not assigned;
  3000-4999 are for libraries and applications; 5000 and up do not exist). aiohttp refuses
  the unassigned codes below 3000 itself but accepts 1006 and 5000+.

Both are protocol errors: the connection is failed with close 1002 (§7.1.7). The close
code rule is ``close_code_allowed`` in :mod:`openlive.websocket_edge` (the edge reads the
close frames); the mask rule is :func:`require_masked_frames` here, a thin scanner of frame
headers in front of aiohttp's parser (the frames themselves are still parsed by aiohttp).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from aiohttp import WebSocketError, web
from aiohttp.helpers import set_exception

log = logging.getLogger("openlive.connection")

PROTOCOL_ERROR = 1002
UNMASKED = "unmasked client frame (RFC 6455 section 5.1)"


class _MaskScanner:
    """Follows the client's frame boundaries (headers only; payloads are skipped) and
    says when a frame's MASK bit is clear."""

    def __init__(self) -> None:
        self._head = bytearray()
        self._skip = 0  # payload bytes of the current frame still to come

    def _header_size(self) -> int:
        if len(self._head) < 2:
            return 2
        size7 = self._head[1] & 0x7F
        return 2 + (2 if size7 == 126 else 8 if size7 == 127 else 0) + 4

    def masked(self, data: bytes) -> bool:
        """Feed the next bytes; False once a frame without a mask begins."""
        i, n = 0, len(data)
        while i < n:
            if self._skip:
                take = min(self._skip, n - i)
                self._skip -= take
                i += take
                continue
            if not self._head and n - i >= 14:  # a whole header in this read: the usual case
                second = data[i + 1]
                if not second & 0x80:
                    return False
                size7 = second & 0x7F
                if size7 < 126:
                    self._skip, i = size7, i + 6
                elif size7 == 126:
                    self._skip, i = int.from_bytes(data[i + 2:i + 4], "big"), i + 8
                else:
                    self._skip, i = int.from_bytes(data[i + 2:i + 10], "big"), i + 14
                continue
            take = min(self._header_size() - len(self._head), n - i)
            self._head += data[i:i + take]
            i += take
            if len(self._head) >= 2 and not self._head[1] & 0x80:
                return False
            if len(self._head) == self._header_size() > 2:
                size7 = self._head[1] & 0x7F
                if size7 < 126:
                    self._skip = size7
                else:
                    self._skip = int.from_bytes(self._head[2:4 if size7 == 126 else 10], "big")
                self._head.clear()
        return True


class _MaskedFramesOnly:
    """aiohttp's WebSocket parser, behind a scanner that fails the connection (1002) at
    the first unmasked frame; bytes from then on are not parsed."""

    def __init__(self, parser: Any, fail: Callable[[], None]) -> None:
        self._parser = parser
        self._fail = fail
        self._scanner: _MaskScanner | None = _MaskScanner()

    def feed_data(self, data: Any) -> Any:
        if self._scanner is None:
            return False, b""
        if not self._scanner.masked(bytes(data)):
            self._scanner = None
            self._fail()
            return False, b""
        return self._parser.feed_data(data)

    def __getattr__(self, name: str) -> Any:  # feed_eof and the rest, as aiohttp's
        return getattr(self._parser, name)


def require_masked_frames(request: web.Request, ws: web.WebSocketResponse,
                          on_fail: Callable[[str], None] | None = None) -> bool:
    """After ``ws.prepare(request)``: fail the connection with 1002 at the first unmasked
    client frame. Reaches into aiohttp 3.x (the request handler's payload parser, the
    response's message queue); returns False, changing nothing, where those are absent.
    Bytes that came with the handshake itself were parsed before this is installed."""
    protocol = request.protocol
    parser = getattr(protocol, "_payload_parser", None)
    queue = getattr(ws, "_reader", None)
    if parser is None or queue is None:
        log.warning("cannot check client frame masks with this aiohttp version")
        return False

    def fail() -> None:
        if on_fail is not None:
            on_fail(UNMASKED)
        set_exception(queue, WebSocketError(PROTOCOL_ERROR, UNMASKED))

    protocol._payload_parser = _MaskedFramesOnly(parser, fail)  # noqa: SLF001
    return True
