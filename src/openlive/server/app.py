"""The HTTP + WebSocket app: one port for the Live endpoint, model listing and health."""

from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass, field

from aiohttp import web

from .. import __version__
from ..engines.base import Engine
from ..session.models import ModelCatalog
from ..session.state import LiveSession
from .auth import Credentials, KeyChecker
from .connection import Connection
from .routes import match_live_path, match_models_path

log = logging.getLogger("openlive.server")

LIVE_SERVER: web.AppKey[LiveServer] = web.AppKey("openlive", "LiveServer")  # type: ignore[name-defined]
MAX_CLIENT_MESSAGE = 16 * 1024 * 1024  # a client frame larger than this closes with 1009


@dataclass
class ServerConfig:
    api_keys: list[str] = field(default_factory=list)
    binary_frames: bool = True  # like Google: every server message is a binary frame
    compression: bool = True  # permessage-deflate, offered by both SDKs
    max_message_bytes: int = MAX_CLIENT_MESSAGE


class LiveServer:
    """State shared by every connection of one server process."""

    def __init__(self, engine: Engine, config: ServerConfig | None = None) -> None:
        self.engine = engine
        self.config = config or ServerConfig()
        self.keys = KeyChecker(self.config.api_keys)
        self.catalog = ModelCatalog(engine.served_models())
        self.active: set[Connection] = set()
        self._ids = itertools.count(1)

    def make_app(self) -> web.Application:
        app = web.Application()
        app[LIVE_SERVER] = self
        app.router.add_route("*", "/{tail:.*}", self.handle)
        app.on_shutdown.append(self._on_shutdown)
        return app

    async def handle(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        route = match_live_path(path)
        if route is not None:
            if request.method != "GET":
                raise web.HTTPMethodNotAllowed(request.method, ["GET"])
            return await self._live(request, route.api_version)
        models = match_models_path(path)
        if models is not None and request.method == "GET":
            return self._models(*models)
        if path in ("/healthz", "/health") and request.method == "GET":
            return web.json_response({"status": "ok", "engine": self.engine.name,
                                      "version": __version__, "sessions": len(self.active)})
        return web.json_response(
            {"error": {"code": 404, "status": "NOT_FOUND",
                       "message": f"openlive: no route for {request.method} {path}"}},
            status=404)

    async def _live(self, request: web.Request, api_version: str) -> web.StreamResponse:
        ws = web.WebSocketResponse(
            autoping=True, heartbeat=None, compress=self.config.compression,
            max_msg_size=self.config.max_message_bytes)
        if not ws.can_prepare(request).ok:
            return web.json_response(
                {"error": {"code": 400, "status": "FAILED_PRECONDITION",
                           "message": "this is a WebSocket endpoint: connect with ws:// or wss://"}},
                status=400)
        await ws.prepare(request)
        creds = Credentials.from_request(request.query, request.headers)
        session = LiveSession(api_version=api_version, catalog=self.catalog,
                              auth_error=self.keys.check(creds))
        label = f"[session {next(self._ids)}]"
        peer = request.remote or "?"
        log.info("%s connected from %s (%s)", label, peer, api_version)
        conn = Connection(ws, session, self.engine, binary_frames=self.config.binary_frames,
                          label=label)
        self.active.add(conn)
        try:
            await conn.run()
        finally:
            self.active.discard(conn)
            log.info("%s disconnected (close code %s)", label, ws.close_code)
        return ws

    def _models(self, api_version: str, name: str | None) -> web.Response:
        def describe(model: str) -> dict:
            return {
                "name": f"models/{model}",
                "version": "openlive",
                "displayName": model,
                "description": f"Served by openlive ({self.engine.name} engine)",
                "inputTokenLimit": 131072,
                "outputTokenLimit": 8192,
                "supportedGenerationMethods": ["bidiGenerateContent"],
            }

        if name is None:
            return web.json_response({"models": [describe(m) for m in self.catalog.listed()]})
        resolved = self.catalog.resolve(name)
        if resolved is None:
            return web.json_response(
                {"error": {"code": 404, "status": "NOT_FOUND",
                           "message": f"models/{name} is not found for API version "
                                      f"{api_version}"}}, status=404)
        return web.json_response(describe(resolved[len("models/"):]))

    async def _on_shutdown(self, app: web.Application) -> None:
        for conn in list(self.active):
            await conn.close(1001, "server shutting down")
        await self.engine.aclose()
