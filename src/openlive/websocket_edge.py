"""One Live WebSocket as every edge uses it: frames in, frames out, one close.

The server's connection, the relay and the replay all talk to the client through a
:class:`WebSocketEdge`: it labels the session in logs, reports every frame to the
server's observer (recordings), sends in the server's frame type (binary like Google, or
text with ``--text-frames``), and closes once, with the reason cut to the 123 bytes a
close frame holds. It implements no protocol rule (those are in :mod:`openlive.session`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from aiohttp import WSMsgType, web

from .session.admission import Gate
from .session.resumption import store_unavailable
from .store.base import StoreError
from .wire.errors import cut_reason
from .wire.setup import Setup

log = logging.getLogger("openlive.connection")

#: observer(session label, direction, message): "client"/"server" with each raw frame.
Observer = Callable[[str, str, Any], None]


class WebSocketEdge:
    def __init__(self, ws: web.WebSocketResponse, *, label: str = "",
                 observer: Observer | None = None, binary_frames: bool = True) -> None:
        self.ws = ws
        self.label = label
        self.observer = observer
        self.binary_frames = binary_frames
        self.closing = False
        self.close_reason: str | None = None  # the reason this server closed with

    async def receive(self) -> str | bytes | None:
        """The client's next data frame (None: the client closed, or the socket failed)."""
        msg = await self.ws.receive()
        if msg.type in (WSMsgType.TEXT, WSMsgType.BINARY):
            if self.observer is not None:
                self.observer(self.label, "client", msg.data)
            return msg.data
        if msg.type == WSMsgType.ERROR:
            log.info("%s connection error: %s", self.label, self.ws.exception())
        return None

    async def frames(self) -> AsyncIterator[str | bytes]:
        """Every data frame until the client closes."""
        while (data := await self.receive()) is not None:
            yield data

    async def send(self, data: bytes | str, *, text: bool | None = None) -> bool:
        """Send one server frame (UTF-8 JSON): binary or text as the server is configured,
        or as ``text`` says (the relay keeps the upstream's frame type). False when the
        client is gone (the reader then sees the close)."""
        if self.ws.closed:
            return False
        if self.observer is not None:
            self.observer(self.label, "server", data)
        as_text = (not self.binary_frames) if text is None else text
        try:
            if as_text:
                await self.ws.send_str(data if isinstance(data, str)
                                       else data.decode("utf-8", "replace"))
            else:
                await self.ws.send_bytes(data if isinstance(data, bytes)
                                         else data.encode("utf-8"))
        except (ConnectionError, RuntimeError):
            return False
        return True

    async def close(self, code: int, reason: str) -> None:
        """Close once with ``code`` and ``reason`` (cut to 123 UTF-8 bytes)."""
        if self.closing:
            return
        self.closing = True
        log.info("%s closing: %d %s", self.label, code, reason)
        self.close_reason = cut_reason(reason)
        if not self.ws.closed:
            await self.ws.close(code=code, message=self.close_reason.encode("utf-8"))


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
