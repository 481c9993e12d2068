"""Start and stop a server: used by `openlive serve`, the tests and the benchmarks.

The composition root: the one place that puts the Live server (server/app.py) and the
browser console (openlive.console, which knows nothing of the server) in one app."""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
import ssl
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web

from ..console import add_console_routes
from ..engines.base import Engine
from ..engines.vision import console_view
from .admin import add_admin_routes
from .app import LiveServer, ServerConfig
from .connection_caps import CappedAppRunner, console_peer

log = logging.getLogger("openlive.server")


@dataclass
class RunningServer:
    runner: web.AppRunner
    live: LiveServer
    host: str
    port: int
    tls: bool

    @property
    def http_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'https' if self.tls else 'http'}://{host}:{self.port}"

    @property
    def ws_url(self) -> str:
        return ("wss" if self.tls else "ws") + self.http_url[len("https" if self.tls else "http"):]

    async def stop(self) -> None:
        await self.runner.cleanup()


def build_app(live: LiveServer) -> web.Application:
    """The server's whole HTTP app: the Live routes, and the browser console at ``/`` unless
    ``ServerConfig(console=False)`` (``serve --no-console``)."""
    def console(app: web.Application) -> None:
        add_console_routes(app, store=live.store, open_server=live.keys.open,
                           tokens=live.config.console_tokens, models=live.catalog.listed,
                           listens=live.engine.listens, seen=console_view.answer,
                           peer_of=console_peer)

    def model_server(app: web.Application) -> None:  # the local engine's models, over HTTP
        from .openai_routes import add_openai_routes
        add_openai_routes(app, live.engine, live.keys, google=live.handle)

    routes = [console] if live.config.console else []
    if live.engine.name == "local":
        routes.append(model_server)
    routes.append(lambda app: add_admin_routes(app, live))  # the emulator's /__openlive API
    return live.make_app(routes=routes)


async def start_server(engine: Engine, config: ServerConfig | None = None, *,
                       host: str = "127.0.0.1", port: int = 8080,
                       ssl_context: ssl.SSLContext | None = None,
                       reuse_port: bool = False) -> RunningServer:
    """Start serving; ``port=0`` picks a free port (see ``RunningServer.port``).
    ``reuse_port`` lets several processes share the port (SO_REUSEPORT, Linux)."""
    live = LiveServer(engine, config)
    runner = CappedAppRunner(build_app(live), live.caps, access_log=None, handle_signals=False,
                             shutdown_timeout=2.0,
                             # a request head must arrive in time (slowloris; docs/security.md)
                             keepalive_timeout=live.config.handshake_timeout or 3630)
    await runner.setup()
    site = web.TCPSite(runner, host, port, ssl_context=ssl_context, backlog=1024,
                       reuse_port=reuse_port or None)
    await site.start()
    sockets = [s for s in (site._server.sockets if site._server else ())]  # noqa: SLF001
    bound = sockets[0].getsockname()[1] if sockets else port
    return RunningServer(runner, live, host, bound, ssl_context is not None)


async def serve_forever(server: RunningServer,
                        on_stop: Callable[[], None] | None = None, drain: float = 0.0) -> None:
    """Serve until SIGINT or SIGTERM; then call ``on_stop`` (if any), drain the sessions
    for up to ``drain`` seconds (:func:`drain_sessions`), and stop."""
    # What is loaded by now (models, tables, the app) lives as long as the process: keep
    # it out of the collector's full passes, whose cost otherwise grows with model size
    gc.collect()
    gc.freeze()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):
            pass
    await stop.wait()
    if on_stop is not None:
        on_stop()
    if drain > 0 and server.live.active:
        await drain_sessions(server, drain)
    log.info("shutting down (%d open sessions)", len(server.live.active))
    await server.stop()


async def drain_sessions(server: RunningServer, seconds: float) -> None:
    """A planned stop (``serve --drain SECONDS``): stop taking connections (a load balancer
    sends new ones to the other nodes), send every session goAway with ``seconds`` left
    (the clients resume elsewhere with their handles, as they do before Google's own
    connection ends), and wait until they have left or the time is up (the core then
    closes each with 1011, as at the end of any goAway)."""
    for site in list(server.runner.sites):
        await site.stop()
    log.info("draining %d open sessions: goAway with %g s left", len(server.live.active),
             seconds)
    await server.live.go_away_all(seconds)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds + 2.0
    while server.live.active and loop.time() < deadline:
        await asyncio.sleep(0.1)
