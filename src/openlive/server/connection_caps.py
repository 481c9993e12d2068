"""Connection caps: how many TCP connections the server holds, in total and per client
address, so that no peer can exhaust its file descriptors (issue 13; docs/security.md).

Counted where aiohttp accepts a connection (its ``Server.connection_made``), before any byte
is read: a half-open socket counts as much as a session. A connection past a cap is
answered once its request head arrives — a JSON 503 for HTTP, an upgrade and an immediate
close 1011 for a WebSocket (server/overload.py) — and then closed; while ``ANSWERED``
refused connections already wait for their head, further ones are dropped at once.

The caps are openlive's own; Google documents none. Behind a reverse proxy every client
has the proxy's address: name the proxy with ``--trusted-proxy CIDR`` (server/client_address.py).
A trusted proxy's connections count towards the total cap as they open, but not per address:
each of its requests counts instead, per the client address its ``X-Forwarded-For`` gives,
from its head until its answer ends (a Live WebSocket: until the session closes). Past the
cap that request is refused as above (503, or 1011 after the upgrade) and its connection
closed. The address a request is from (the client's, not a trusted proxy's) is kept on the
request for the logs and the admin API's loopback check: :func:`client_of`.
"""

from __future__ import annotations

import logging
import resource
from collections import Counter
from typing import Any

from aiohttp import web

from .client_address import ClientAddress, Network, is_trusted, parse_address, resolve
from .overload import LIVE_REFUSAL, RefusalLog, overloaded_response
from .routes import match_live_path

log = logging.getLogger("openlive.server")

# the request's ClientAddress, set by the caps' middleware (aiohttp < 3.13 has no RequestKey)
CLIENT: Any = (web.RequestKey("openlive_client", ClientAddress)
               if hasattr(web, "RequestKey") else "openlive_client")
ANSWERED = 128  # refused connections that may wait for their request head to be answered
FD_SHARE = 0.8  # the automatic total cap: this share of the file-descriptor limit
FD_RESERVE = 64  # ... less this many for the store, logs, recordings and listeners


def raise_fd_limit() -> tuple[int, int, int]:
    """Raise the soft RLIMIT_NOFILE to the hard limit; returns (soft before, soft now,
    hard). RLIM_INFINITY as the hard limit leaves the soft one as it is."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        except (ValueError, OSError):
            return soft, soft, hard
        return soft, hard, hard
    return soft, soft, hard


def automatic_total() -> int:
    """The default total cap: 80 % of the soft file-descriptor limit, less a reserve."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        soft = 1 << 20
    return max(16, int(soft * FD_SHARE) - FD_RESERVE)


class ConnectionCaps:
    """Open connections, in total and per address; which are refused, and why."""

    def __init__(self, total: int | None, per_address: int | None,
                 trusted: tuple[Network, ...] = ()) -> None:
        self.total = total or None
        self.per_address = per_address or None
        self.trusted = tuple(trusted)  # --trusted-proxy networks
        self.open = 0
        self.by_address: Counter[str] = Counter()
        self.refused: dict[Any, str] = {}  # aiohttp's handler -> cause, until answered
        self._admitted: dict[Any, str] = {}  # handler -> address
        self.log = RefusalLog(log)

    def connection_made(self, handler: Any, transport: Any) -> None:
        peer = transport.get_extra_info("peername")
        address = str(peer[0]) if isinstance(peer, tuple) and peer else "?"
        # a trusted proxy's connections count per address request by request (middleware)
        counted = not self._trusted(address)
        cause = None
        if self.total is not None and self.open >= self.total:
            cause = "--max-connections"
        elif (counted and self.per_address is not None
              and self.by_address[address] >= self.per_address):
            cause = "--max-connections-per-ip"
        if cause is None:
            self.open += 1
            if counted:
                self.by_address[address] += 1
            self._admitted[handler] = address if counted else None
            return
        self.log.refused(f"connection cap {cause}", f"{self.open} open")
        if len(self.refused) >= ANSWERED:
            transport.abort()
        else:
            self.refused[handler] = cause

    def connection_lost(self, handler: Any) -> None:
        self.refused.pop(handler, None)
        if handler not in self._admitted:
            return
        address = self._admitted.pop(handler)
        self.open -= 1
        if address is not None:
            self._release(address)

    def _trusted(self, address: str) -> bool:
        return bool(self.trusted) and is_trusted(parse_address(address), self.trusted)

    def _release(self, address: str) -> None:
        left = self.by_address[address] - 1
        if left > 0:
            self.by_address[address] = left
        else:
            del self.by_address[address]

    def client(self, request: web.Request) -> ClientAddress:
        """The client a request is from (its X-Forwarded-For read only from a trusted peer)."""
        return resolve(request.remote, request.headers.getall("X-Forwarded-For", ()),
                       self.trusted)

    def middleware(self) -> Any:
        """Answers each request of a refused connection (the outermost middleware)."""

        @web.middleware
        async def refuse(request: web.Request, handler: Any) -> web.StreamResponse:
            if request.protocol in self.refused:
                return await _refusal(request)
            client = request[CLIENT] = self.client(request)
            if not client.proxied or self.per_address is None:
                return await handler(request)
            address = client.address
            if self.by_address[address] >= self.per_address:  # (the proxy's own included)
                self.log.refused("connection cap --max-connections-per-ip",
                                 f"{address} (through {client.peer}) has "
                                 f"{self.by_address[address]} open")
                return await _refusal(request)
            self.by_address[address] += 1
            try:
                return await handler(request)
            finally:
                self._release(address)

        return refuse


async def _refusal(request: web.Request) -> web.StreamResponse:
    """A refused connection's answer: 1011 after the upgrade for a Live WebSocket, else 503."""
    if match_live_path(request.path) is not None:
        ws = web.WebSocketResponse()
        if ws.can_prepare(request).ok:
            await ws.prepare(request)
            await ws.close(code=LIVE_REFUSAL.code, message=LIVE_REFUSAL.reason.encode("utf-8"))
            return ws
    return overloaded_response()


def client_of(request: web.Request) -> ClientAddress:
    """The client ``request`` is from: as the caps' middleware found it (``--trusted-proxy``),
    else its TCP peer."""
    client = request.get(CLIENT)
    if isinstance(client, ClientAddress):
        return client
    return resolve(request.remote, (), ())


def console_peer(request: web.Request) -> object:
    """The peer the console's loopback check sees: the socket's, or for a request a
    ``--trusted-proxy`` forwarded, the client it names as ``(address, 0)`` (None when it
    named none: the proxy's own request is not local)."""
    client = client_of(request)
    if client.proxied:
        return (client.address, 0) if client.forwarded else None
    return request.transport.get_extra_info("peername") if request.transport else None


class CappedAppRunner(web.AppRunner):
    """aiohttp's AppRunner, telling ``caps`` of every connection accepted and lost (through
    its server's connection_made/connection_lost, which aiohttp 3.x calls for each)."""

    def __init__(self, app: web.Application, caps: ConnectionCaps, **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        self.caps = caps

    async def _make_server(self) -> Any:
        server = await super()._make_server()
        made, lost, caps = server.connection_made, server.connection_lost, self.caps

        def connection_made(handler: Any, transport: Any) -> None:
            made(handler, transport)
            caps.connection_made(handler, transport)

        def connection_lost(handler: Any, exc: BaseException | None = None) -> None:
            caps.connection_lost(handler)
            lost(handler, exc)

        server.connection_made = connection_made
        server.connection_lost = connection_lost
        return server
