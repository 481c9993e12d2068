"""One Live WebSocket as every edge uses it: frames in, frames out, one close.

The server's connection, the relay and the replay all talk to the client through a
:class:`WebSocketEdge`: it labels the session in logs, reports every frame to the
server's observer (recordings), sends in the server's frame type (binary like Google, or
text with ``--text-frames``), and closes once, with the reason cut to the 123 bytes a
close frame holds. It implements no protocol rule (those are in :mod:`openlive.session`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from aiohttp import WebSocketError, WSMsgType, web

from .session.admission import Gate
from .session.resumption import store_unavailable
from .store.base import StoreError
from .wire.errors import DEADLINE_EXCEEDED, cut_reason
from .wire.setup import Setup

log = logging.getLogger("openlive.connection")

#: observer(session label, direction, message): "client"/"server" with each raw frame.
Observer = Callable[[str, str, Any], None]

# openlive's own (Google documents none; docs/security.md): a send that cannot finish this
# long (the client reads nothing, so the socket's send buffer stays over aiohttp's writer
# limit) ends the connection; and a close waits this long for the client's close frame
SEND_TIMEOUT = 30.0
CLOSE_TIMEOUT = 5.0

# close codes a client may send below 3000 (RFC 6455 §7.4.1-7.4.2, and 1012-1014 from the
# IANA registry); 3000-4999 are for libraries and applications. 1005, 1006 and 1015 are
# never sent, 5000 and up do not exist: receiving one is a protocol error (1002). aiohttp
# 3.x refuses the unassigned codes below 3000 itself, but takes 1006 and 5000+.
SENDABLE_CLOSE_CODES = frozenset({1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011,
                                  1012, 1013, 1014})


def close_code_allowed(code: int) -> bool:
    """May a client send this close code? (0: aiohttp's "no code", a close frame without a
    body, which RFC 6455 allows.)"""
    return code == 0 or code in SENDABLE_CLOSE_CODES or 3000 <= code <= 4999


class WebSocketEdge:
    def __init__(self, ws: web.WebSocketResponse, *, label: str = "",
                 observer: Observer | None = None, binary_frames: bool = True,
                 send_timeout: float | None = SEND_TIMEOUT,
                 abort: Callable[[], None] | None = None) -> None:
        """``abort`` drops the TCP connection at once (the request's transport): the last
        resort for a client that reads nothing, which no close frame can reach."""
        self.ws = ws
        self.label = label
        self.observer = observer
        self.binary_frames = binary_frames
        self.send_timeout = send_timeout
        self._abort = abort
        self.aborted = False
        self.closing = False
        self.close_reason: str | None = None  # the reason this server closed with

    async def receive(self) -> str | bytes | None:
        """The client's next data frame (None: the client closed, or the socket failed)."""
        msg = await self.ws.receive()
        if msg.type in (WSMsgType.TEXT, WSMsgType.BINARY):
            if self.observer is not None:
                self.observer(self.label, "client", msg.data)
            return msg.data
        if msg.type == WSMsgType.CLOSE:  # the response is made with autoclose=False
            if close_code_allowed(msg.data):
                await self._answer_close()
            else:
                await self.close(1002, f"invalid close code {msg.data} (RFC 6455 section 7.4)")
        elif msg.type == WSMsgType.ERROR:
            error = msg.data if msg.data is not None else self.ws.exception()
            if isinstance(error, WebSocketError):  # aiohttp closed with this code, no reason
                self.closing = True
                log.info("%s closed: %d (%s)", self.label, error.code, error)
            else:
                log.info("%s connection error: %s", self.label, error)
        return None

    async def _answer_close(self) -> None:
        """Answer the client's close as aiohttp's autoclose does (1000, no drain)."""
        try:
            async with asyncio.timeout(CLOSE_TIMEOUT):
                await self.ws.close(drain=False)
        except TimeoutError:
            self.abort("no close handshake")

    async def frames(self) -> AsyncIterator[str | bytes]:
        """Every data frame until the client closes."""
        while (data := await self.receive()) is not None:
            yield data

    async def send(self, data: bytes | str, *, text: bool | None = None) -> bool:
        """Send one server frame (UTF-8 JSON): binary or text as the server is configured,
        or as ``text`` says (the relay keeps the upstream's frame type). False when the
        client is gone (the reader then sees the close)."""
        if self.ws.closed or self.aborted:
            return False
        if self.observer is not None:
            self.observer(self.label, "server", data)
        as_text = (not self.binary_frames) if text is None else text
        try:
            async with asyncio.timeout(self.send_timeout):
                if as_text:
                    await self.ws.send_str(data if isinstance(data, str)
                                           else data.decode("utf-8", "replace"))
                else:
                    await self.ws.send_bytes(data if isinstance(data, bytes)
                                             else data.encode("utf-8"))
        except TimeoutError:
            self.abort(f"openlive: the client read nothing for {self.send_timeout:g} s "
                       "(--send-timeout)")
            return False
        except (ConnectionError, RuntimeError):
            return False
        return True

    def abort(self, reason: str) -> None:
        """Drop the connection now, without a close handshake (the client reads nothing)."""
        if self.aborted:
            return
        self.aborted = self.closing = True
        self.close_reason = cut_reason(reason)
        log.info("%s dropping the connection: %s", self.label, reason)
        if self._abort is not None:
            self._abort()

    async def close(self, code: int, reason: str) -> None:
        """Close once with ``code`` and ``reason`` (cut to 123 UTF-8 bytes)."""
        if self.closing:
            return
        self.closing = True
        log.info("%s closing: %d %s", self.label, code, reason)
        self.close_reason = cut_reason(reason)
        if not self.ws.closed:
            try:  # bounded: writing the close frame waits on a client that may not read
                async with asyncio.timeout(CLOSE_TIMEOUT):
                    await self.ws.close(code=code, message=self.close_reason.encode("utf-8"))
            except TimeoutError:
                self.abort(f"{code} {reason} (no close handshake within {CLOSE_TIMEOUT:g} s)")


async def close_after(edge: WebSocketEdge, seconds: float) -> None:
    """Close ``edge`` after ``seconds`` whatever it is doing (bounded: dropped if the close
    handshake does not finish): the connection lifetime for every edge, those that run no
    session core (the relay, the replay) and a session stuck on a client that reads
    nothing. The core closes its own sessions at the lifetime, before this fires."""
    await asyncio.sleep(seconds)
    if not edge.closing:
        await edge.close(1011, DEADLINE_EXCEEDED)


async def admit_first_frame(gate: Gate, frame: str | bytes, store: Any) -> Setup | None:
    """The admission rules for an edge that runs no session core (the relay, the replay),
    at the client's first frame: the deferred credential error; with an ephemeral token,
    the setup parsed and constrained, and one use spent unless it resumes (LiveError to
    refuse). Returns the constrained setup with a token, None without one (the frame is
    then judged by whoever answers it)."""
    gate.first_frame()
    if gate.token is None:
        return None
    setup = gate.setup_of(frame)
    if gate.token_use_needed(setup):
        try:
            spent = await store.spend_token(*gate.spend_args())
        except StoreError:  # the store is down: Google's 1011 unavailable, not a traceback
            raise store_unavailable() from None
        gate.token_spent(spent, time.time())
    return setup
