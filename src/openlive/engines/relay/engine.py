"""The relay engine: every session is forwarded to an upstream Live endpoint (Google's, or
another openlive) with a key the server holds, so clients never see it.

Unlike the other engines the relay produces no turns: the server hands it each
authenticated WebSocket (``pass_through``) and it pipes frames both ways as they are
(:mod:`openlive.engines.relay.pipe`). One aiohttp client session per server process dials
the upstream.
"""

from __future__ import annotations

import logging
from typing import Any

import aiohttp
from aiohttp import web

from ...session.admission import Gate
from ...websocket_edge import WebSocketEdge
from ...wire.endpoints import models_path
from ...wire.errors import LiveError, credential_error_body, error_body
from ...wire.setup import Setup
from ..base import Engine, EngineSession
from .pipe import RelayConnection
from .upstream import Upstream

log = logging.getLogger("openlive.relay")

LISTING_TIMEOUT = aiohttp.ClientTimeout(total=30)  # GET …/models upstream


class RelayEngine(Engine):
    name = "relay"

    def __init__(self, upstream: Upstream) -> None:
        self.upstream = upstream
        self._http: aiohttp.ClientSession | None = None

    def open_session(self, setup: Setup, model: str) -> EngineSession:
        raise NotImplementedError("the relay engine passes whole connections through")

    def http(self) -> aiohttp.ClientSession:
        """The shared client session (made in the server's event loop on first use)."""
        if self._http is None or self._http.closed:
            self._http = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=None, connect=self.upstream.connect_timeout))
        return self._http

    def pass_through(self, edge: WebSocketEdge, gate: Gate, *, api_version: str,
                     store: Any) -> RelayConnection:
        """The connection object the server runs instead of its own session core."""
        return RelayConnection(edge, gate, self.upstream, self.http, api_version=api_version,
                               store=store)

    async def proxy_models(self, request: web.Request, api_version: str, name: str | None,
                           *, refused: LiveError | None = None) -> web.Response:
        """GET …/models[/NAME] answered by the upstream (with the server key): the relay
        serves whatever models the upstream serves. Clients need a key of this server."""
        if refused is not None:
            status, body = credential_error_body(refused)
            return web.json_response(body, status=status)
        up = self.upstream
        base = up.base_url.rstrip("/")
        base = base if "://" in base else "http://" + base
        base = "http" + base[2:] if base.startswith("ws") else base  # ws(s):// -> http(s)://
        url = base + models_path(api_version, name)
        params = {k: v for k, v in request.query.items() if k in ("pageSize", "pageToken")}
        try:
            async with self.http().get(url, params=params, headers=up.headers(),
                                       timeout=LISTING_TIMEOUT,
                                       ssl=up.ssl_context if up.ssl_context else True) as resp:
                body = await resp.read()
                return web.Response(status=resp.status, body=body,
                                    content_type=resp.content_type or "application/json")
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            log.warning("upstream %s models listing failed: %s", up.host, type(exc).__name__)
            return web.json_response(error_body(
                502, "UNAVAILABLE", f"openlive relay: upstream {up.host} is unreachable"),
                status=502)

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None
