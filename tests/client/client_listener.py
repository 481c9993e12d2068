"""Client-test helper: a tiny raw Live listener (aiohttp) whose behaviour each test writes,
for what the openlive server does not do yet (resumption handles, hearing audio) and for
checking the exact handshake the client sends. No mocks of the client; nothing leaves
loopback."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web


@dataclass
class Frame:
    data: dict[str, Any]
    at: float  # time.monotonic() on arrival


@dataclass
class ListenerConnection:
    """One WebSocket connection the listener accepted."""

    request: web.Request
    ws: web.WebSocketResponse
    frames: list[Frame] = field(default_factory=list)
    _incoming: asyncio.Queue[Frame | None] = field(default_factory=asyncio.Queue)

    @property
    def path(self) -> str:
        return self.request.path

    @property
    def query(self) -> dict[str, str]:
        return dict(self.request.query)

    @property
    def raw_query(self) -> str:
        return self.request.query_string

    @property
    def headers(self) -> dict[str, str]:
        return {k.lower(): v for k, v in self.request.headers.items()}

    async def recv(self, timeout: float = 5.0) -> dict[str, Any]:
        """The next client frame as JSON (AssertionError if the client closed)."""
        frame = await asyncio.wait_for(self._incoming.get(), timeout)
        assert frame is not None, "client closed the connection"
        return frame.data

    async def send(self, message: dict[str, Any], *, binary: bool = True) -> None:
        data = json.dumps(message)
        if binary:
            await self.ws.send_bytes(data.encode())
        else:
            await self.ws.send_str(data)

    async def setup_complete(self) -> dict[str, Any]:
        """Read the setup frame, answer setupComplete; returns the setup."""
        first = await self.recv()
        assert "setup" in first, first
        await self.send({"setupComplete": {}})
        return first["setup"]

    async def close(self, code: int = 1000, reason: str = "") -> None:
        await self.ws.close(code=code, message=reason.encode())

    async def wait_closed(self, timeout: float = 5.0) -> None:
        while True:
            frame = await asyncio.wait_for(self._incoming.get(), timeout)
            if frame is None:
                return


Handler = Callable[[ListenerConnection], Awaitable[None]]


class Listener:
    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.connections: list[ListenerConnection] = []
        self.runner: web.AppRunner | None = None
        self.port = 0

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if "/not-a-live-path/" in request.path:
            return web.json_response({"error": "nope"}, status=404)
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        conn = ListenerConnection(request, ws)
        self.connections.append(conn)

        async def pump() -> None:
            async for msg in ws:
                if msg.type in (WSMsgType.TEXT, WSMsgType.BINARY):
                    frame = Frame(json.loads(msg.data), time.monotonic())
                    conn.frames.append(frame)
                    conn._incoming.put_nowait(frame)
            conn._incoming.put_nowait(None)

        reader = asyncio.create_task(pump())
        try:
            await self.handler(conn)
            await reader  # keep the connection until the client closes it
        finally:
            reader.cancel()
            if not ws.closed:
                await ws.close()
        return ws

    async def start(self) -> Listener:
        app = web.Application()
        app.router.add_route("GET", "/{tail:.*}", self._handle)
        self.runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=1.0)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # noqa: SLF001
        return self

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()


