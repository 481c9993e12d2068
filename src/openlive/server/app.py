"""The HTTP + WebSocket app: one port for the Live endpoint, model listing and health."""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from .. import __version__
from ..engines.base import Engine
from ..session import tokens as tk
from ..session.admission import ANONYMOUS, Gate, owner_of, token_owner
from ..session.limits import Limits
from ..session.models import ModelCatalog, describe_model, list_page
from ..session.resumption import store_unavailable
from ..session.state import SessionCore
from ..store import GuardedStore, MemoryStore, Store, StoreError, guarded
from ..websocket_edge import SEND_TIMEOUT, WebSocketEdge, close_after
from ..wire.errors import LiveError, credential_error_body
from . import metrics
from .auth import Credentials, KeyChecker, fingerprint
from .auth_tokens import create_auth_token, match_auth_tokens_path
from .capacity import MAX_LOOP_LAG, Capacity
from .client_address import parse_networks
from .connection import Connection
from .connection_caps import ConnectionCaps, automatic_total, client_of
from .http_errors import error_response
from .limits import KeyLimiter
from .overload import overloaded_response
from .rfc6455 import require_masked_frames
from .routes import match_live_path, match_models_path
from .timeouts import body_within

log = logging.getLogger("openlive.server")

LIVE_SERVER: web.AppKey[LiveServer] = web.AppKey("openlive", "LiveServer")  # type: ignore[name-defined]
MAX_CLIENT_MESSAGE = 16 * 1024 * 1024  # a client frame larger than this closes with 1009
# openlive's own (Google documents none; docs/security.md): a request's head (and a REST
# body) must arrive within this many seconds of the connection, or of the previous request
HANDSHAKE_TIMEOUT = 10.0
# every connection ends this long after its lifetime at the latest (the session core ends
# its own at the lifetime; this bounds the edges that run none, and stuck ones)
LIFETIME_GRACE = 10.0


@dataclass
class ServerConfig:
    api_keys: list[str] = field(default_factory=list)
    binary_frames: bool = True  # like Google: every server message is a binary frame
    compression: bool = True  # permessage-deflate, offered by both SDKs
    max_message_bytes: int = MAX_CLIENT_MESSAGE
    store: Store | None = None  # resumable sessions and ephemeral tokens (default: memory)
    limits: Limits = field(default_factory=Limits)
    max_sessions_per_key: int | None = None  # concurrent sessions per API key
    max_starts_per_minute: int | None = None  # session starts per API key per minute
    allow_origins: list[str] = field(default_factory=list)  # browser Origins; empty = any
    console: bool = True  # serve the browser console at / (and POST /console/token)
    console_tokens: bool = True  # POST /console/token gives loopback pages a token (else 403)
    # per-model refusals off (TEXT replies, refused setup fields): session/models.py
    permissive: bool = False
    # observer(session label, direction, message), called in the server's event loop (keep it
    # quick): "open" (dict: api_version, constrained, auth kind; never a key or token),
    # "client" / "server" (each raw frame, str or bytes, in order), "close" (dict: code, and
    # the reason when this server closed)
    observer: Callable[[str, str, Any], None] | None = None
    # seconds for a request's head (and a REST body) to arrive (slowloris); also the idle
    # time of a keep-alive HTTP connection between requests
    handshake_timeout: float | None = HANDSHAKE_TIMEOUT
    # open TCP connections in total ("auto": 80 % of the fd limit, less 64) and per client
    # address (None: no cap); past either, HTTP 503 / close 1011 (server/connection_caps.py)
    max_connections: int | str | None = "auto"
    max_connections_per_ip: int | None = None
    # reverse proxies (CIDR networks or addresses) whose X-Forwarded-For names the client:
    # for the logs, the per-address cap and the admin API's loopback check
    # (server/client_address.py)
    trusted_proxies: list[str] = field(default_factory=list)
    # Live sessions open at once (None: no cap), and the event-loop lag past which new
    # sessions are refused (1011) and REST answers 503 (server/capacity.py)
    max_sessions: int | None = None
    max_loop_lag: float | None = MAX_LOOP_LAG
    # a send to a client that reads nothing ends its connection after this many seconds
    send_timeout: float | None = SEND_TIMEOUT
    # GET /metrics (server/metrics.py): "keyed" (a keyed server asks for one of its keys),
    # "open", or "off" (404, and nothing is counted)
    metrics: str = "keyed"


class LiveServer:
    """State shared by every connection of one server process."""

    def __init__(self, engine: Engine, config: ServerConfig | None = None) -> None:
        self.engine = engine
        self.config = config or ServerConfig()
        self.keys = KeyChecker(self.config.api_keys)
        self.catalog = ModelCatalog(engine.served_models(), permissive=self.config.permissive)
        # every store call time-limited; its health for /healthz and /readyz (store/guard.py)
        self.store: GuardedStore = guarded(self.config.store or MemoryStore())
        self.limiter = KeyLimiter(self.config.max_sessions_per_key,
                                  self.config.max_starts_per_minute)
        self.active: set[Any] = set()  # Connection, or the relay's/replay's
        total = self.config.max_connections
        self.caps = ConnectionCaps(automatic_total() if total == "auto" else total,
                                   self.config.max_connections_per_ip,
                                   parse_networks(self.config.trusted_proxies))
        self.capacity = Capacity(self.config.max_sessions, self.config.max_loop_lag)
        self._capacity_probe: asyncio.Task[None] | None = None
        self._ids = itertools.count(1)
        self.observer = self.config.observer
        self._lag_probe: asyncio.Task[None] | None = None
        if self.config.metrics != "off":
            metrics.install_stage_sink()
            self.observer = metrics.MetricsObserver(self.config.observer)

    def make_app(self, routes: Iterable[Callable[[web.Application], None]] = ()
                 ) -> web.Application:
        """The Live endpoint, token and model routes, health; each of ``routes`` (e.g. the
        browser console, composed in server/run.py) adds its own ahead of the catch-all."""
        app = web.Application(middlewares=[self.caps.middleware(),
                                           body_within(self.config.handshake_timeout)])
        app[LIVE_SERVER] = self
        for add_routes in routes:
            add_routes(app)
        if self.config.metrics != "off":
            app.router.add_get("/metrics", metrics.metrics_handler(self.config.metrics,
                                                                   self.keys))
        app.router.add_route("*", "/{tail:.*}", self.handle)
        app.on_startup.append(self._on_startup)
        app.on_shutdown.append(self._on_shutdown)
        app.on_cleanup.append(self._on_cleanup)
        app.on_response_prepare.append(self._cors_headers)
        return app

    def _origin_allowed(self, origin: str | None) -> bool:
        allowed = self.config.allow_origins
        return not allowed or origin is None or "*" in allowed or origin in allowed

    async def _cors_headers(self, request: web.Request, response: web.StreamResponse) -> None:
        """CORS on the REST routes (the WebSocket upgrade has no CORS, only Origin)."""
        origin = request.headers.get("Origin")
        if origin is None or response.status == 101 or not self._origin_allowed(origin):
            return
        response.headers["Access-Control-Allow-Origin"] = (
            "*" if not self.config.allow_origins else origin)
        if self.config.allow_origins:
            response.headers["Vary"] = "Origin"

    async def handle(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        if request.method == "OPTIONS" and request.headers.get("Origin"):
            return self._preflight(request)
        route = match_live_path(path)
        if route is not None:
            if request.method != "GET":
                raise web.HTTPMethodNotAllowed(request.method, ["GET"])
            return await self._live(request, route.api_version, route.constrained)
        if self.capacity.overloaded() and (match_auth_tokens_path(path) is not None
                                           or match_models_path(path) is not None):
            self.capacity.log.refused("REST request: event loop lag over --max-loop-lag")
            return overloaded_response()
        if match_auth_tokens_path(path) is not None:
            if request.method != "POST":
                raise web.HTTPMethodNotAllowed(request.method, ["POST"])
            return await create_auth_token(request, keys=self.keys, store=self.store)
        models = match_models_path(path)
        if models is not None and request.method == "GET":
            # Google's ListModels needs a key too (issue 13: this server's did not)
            refused = self.keys.check(Credentials.from_request(request.query, request.headers))
            proxy = getattr(self.engine, "proxy_models", None)  # the relay asks its upstream
            if proxy is not None:
                return await proxy(request, *models, refused=refused)
            if refused is not None:
                status, body = credential_error_body(refused)
                return web.json_response(body, status=status)
            return self._models(*models, request.query)
        if path in ("/healthz", "/health") and request.method == "GET":
            # liveness: always 200 while the process answers; the store as last seen
            self.store.probe_soon()
            store = self.store.health()
            return web.json_response({"status": "ok" if self.store.ok else "degraded",
                                      "engine": self.engine.name, "version": __version__,
                                      "sessions": len(self.active), "store": store})
        if path == "/readyz" and request.method == "GET":
            return await self._ready()
        return error_response(404, "NOT_FOUND", f"openlive: no route for {request.method} {path}")

    def _preflight(self, request: web.Request) -> web.Response:
        origin = request.headers.get("Origin")
        if not self._origin_allowed(origin):
            return web.Response(status=403, text="origin not allowed")
        asked = request.headers.get("Access-Control-Request-Headers", "")
        return web.Response(status=204, headers={
            "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
            "Access-Control-Allow-Headers": asked or "content-type, x-goog-api-key, "
                                                     "x-goog-api-client, authorization",
            "Access-Control-Max-Age": "3600",
        })

    async def _ready(self) -> web.Response:
        """Readiness: 200 when the store answers now (within its time limit), else 503
        (a load balancer sends new sessions elsewhere until the store is back)."""
        try:
            await self.store.ping()
        except StoreError:
            return web.json_response({"status": "unavailable", "store": self.store.health()},
                                     status=503)
        return web.json_response({"status": "ready", "store": self.store.health()})

    async def _admission(self, creds: Credentials, constrained: bool, now: float
                         ) -> tuple[LiveError | None, dict | None, str, str]:
        """(error to close with after the first frame, token record, per-key id, the owner
        of the sessions this credential opens)."""
        if constrained and creds.access_token and not creds.api_key:
            try:
                record = await self.store.load_token(creds.access_token, now)
            except StoreError:  # refused after the first frame, as any credential error
                return store_unavailable(), None, "?", ANONYMOUS
            refused = tk.token_error(record, now)
            if refused is not None or record is None:
                return refused, None, "?", ANONYMOUS
            key_id = record.get("key") or fingerprint(creds.access_token)
            return None, record, key_id, token_owner(record)
        refused = self.keys.check(creds)
        key_id = fingerprint(creds.api_key) if creds.api_key else "anonymous"
        return refused, None, key_id, owner_of(creds.api_key)

    async def _live(self, request: web.Request, api_version: str,
                    constrained: bool = False) -> web.StreamResponse:
        if not self._origin_allowed(request.headers.get("Origin")):
            return error_response(403, "PERMISSION_DENIED",
                                  "openlive: this Origin is not allowed (--allow-origin)")
        ws = web.WebSocketResponse(  # (the edge answers close frames: RFC 6455 close codes)
            autoping=True, heartbeat=None, compress=self.config.compression,
            max_msg_size=self.config.max_message_bytes, autoclose=False)
        if not ws.can_prepare(request).ok:
            return error_response(400, "FAILED_PRECONDITION",
                                  "this is a WebSocket endpoint: connect with ws:// or wss://")
        await ws.prepare(request)
        require_masked_frames(request, ws)  # RFC 6455 §5.1 (aiohttp does not check)
        refused = self.capacity.admit()
        if refused is not None:  # closed at once: the sessions admitted keep their latency
            await ws.close(code=refused.code, message=refused.reason.encode("utf-8"))
            return ws
        try:
            return await self._live_session(request, ws, api_version, constrained)
        finally:
            self.capacity.release()

    async def _live_session(self, request: web.Request, ws: web.WebSocketResponse,
                            api_version: str, constrained: bool) -> web.WebSocketResponse:
        """One admitted Live session, from the credentials to the close."""
        creds = Credentials.from_request(request.query, request.headers)
        now = time.time()
        auth_error, token, key_id, owner = await self._admission(creds, constrained, now)
        counted = False
        if auth_error is None:
            auth_error = self.limiter.acquire(key_id, now)
            counted = auth_error is None
        label = f"[session {next(self._ids)}]"
        client = client_of(request)  # behind a --trusted-proxy: its X-Forwarded-For
        log.info("%s connected from %s%s (%s%s)", label, client.address,
                 f" via proxy {client.peer}" if client.forwarded else "", api_version,
                 ", ephemeral token" if token else "")
        observer = self.observer
        transport = request.transport
        edge = WebSocketEdge(ws, label=label, observer=observer,
                             binary_frames=self.config.binary_frames,
                             send_timeout=self.config.send_timeout,
                             abort=transport.abort if transport is not None else None)
        if observer is not None:
            observer(label, "open", {"api_version": api_version, "constrained": constrained,
                                     "auth": "token" if token else
                                     "api_key" if creds.api_key else "none"})
        pass_through = getattr(self.engine, "pass_through", None)  # the relay, the replay
        conn: Any
        if pass_through is not None:  # they answer whole connections, by the same Gate
            conn = pass_through(edge, Gate(auth_error=auth_error, token=token),
                                api_version=api_version, store=self.store)
        else:
            core = SessionCore(api_version=api_version, catalog=self.catalog,
                               auth_error=auth_error, now=now, limits=self.config.limits,
                               token=token, owner=owner, count_tokens=self.engine.count_tokens)
            conn = Connection(edge, core, self.engine, store=self.store)
        self.active.add(conn)
        lifetime = self.config.limits.connection_lifetime
        expiry = (asyncio.create_task(close_after(edge, lifetime + LIFETIME_GRACE))
                  if lifetime else None)
        try:
            await conn.run()
        finally:
            if expiry is not None:
                expiry.cancel()
            self.active.discard(conn)
            if observer is not None:
                closed: dict[str, Any] = {"code": ws.close_code}
                if edge.close_reason:
                    closed["reason"] = edge.close_reason
                observer(label, "close", closed)
            if counted:
                self.limiter.release(key_id)
            log.info("%s disconnected (close code %s)", label, ws.close_code,
                     extra={"close_code": ws.close_code})
        return ws

    def _models(self, api_version: str, name: str | None,
                query: Mapping[str, str] | None = None) -> web.Response:
        """ListModels / GetModel from the model table (session/models.py)."""
        engine = self.engine.name
        if name is None:
            query = query or {}
            try:
                names, token = list_page(self.catalog.listed(), query.get("pageSize"),
                                         query.get("pageToken"))
            except ValueError as exc:
                return error_response(400, "INVALID_ARGUMENT", f"openlive: {exc}")
            body: dict[str, Any] = {"models": [describe_model(m, engine) for m in names]}
            if token is not None:
                body["nextPageToken"] = token
            return web.json_response(body)
        resolved = self.catalog.resolve(name)
        if resolved is None:
            return error_response(404, "NOT_FOUND", f"models/{name} is not found for API "
                                                    f"version {api_version}")
        return web.json_response(describe_model(resolved[len("models/"):], engine))

    async def go_away_all(self, seconds: float) -> None:
        """goAway with ``seconds`` left to every session whose connection can send one (the
        emulator's and the local engine's; a relay's or replay's has no core of its own)."""
        for conn in list(self.active):
            go_away = getattr(conn, "go_away", None)
            if go_away is not None:
                await go_away(seconds)

    async def _on_startup(self, app: web.Application) -> None:
        await self.store.open()
        self._capacity_probe = asyncio.create_task(self.capacity.watch_loop_lag())
        if self.config.metrics != "off":
            self._lag_probe = asyncio.create_task(metrics.watch_loop_lag())

    async def _on_shutdown(self, app: web.Application) -> None:
        for conn in list(self.active):
            await conn.close(1001, "server shutting down")
        await self.engine.aclose()

    async def _on_cleanup(self, app: web.Application) -> None:
        if self._capacity_probe is not None:
            self._capacity_probe.cancel()
        if self._lag_probe is not None:
            self._lag_probe.cancel()
        await self.store.aclose()
