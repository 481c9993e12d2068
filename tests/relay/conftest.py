"""A relay chain on loopback: client -> relay openlive -> upstream openlive (emulator).

The upstream is a real openlive with its own API key, behind self-signed TLS that the relay
trusts through its CA file (as ``--upstream-cafile`` does); a middleware records each
upstream handshake (headers and query) so that tests can see what the relay sent.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from live_client import CLIENT_KEY, UPSTREAM_KEY
from openlive.engines.base import Engine
from openlive.engines.emulator import EmulatorEngine
from openlive.engines.emulator.script import parse_rules
from openlive.engines.relay import RelayEngine, Upstream
from openlive.server.app import LiveServer, ServerConfig
from openlive.server.run import RunningServer, start_server
from openlive.server.tls import server_context


@dataclass
class Chain:
    upstream: RunningServer
    relay: RunningServer
    handshakes: list[dict[str, Any]]  # what the upstream saw: {"headers", "query"} each
    tls_cert: str  # the CA file that trusts the upstream (and a TLS relay)
    upstream_frames: list[tuple[str, str, Any]] = field(default_factory=list)
    relay_frames: list[tuple[str, str, Any]] = field(default_factory=list)


async def start_upstream(engine: Engine, config: ServerConfig, ctx: ssl.SSLContext | None,
                         handshakes: list[dict[str, Any]]) -> RunningServer:
    """start_server's steps, with a middleware that records every handshake."""
    live = LiveServer(engine, config)
    app = live.make_app()

    @web.middleware
    async def record(request: web.Request, handler: Any) -> web.StreamResponse:
        handshakes.append({"headers": dict(request.headers), "query": dict(request.query)})
        return await handler(request)

    app.middlewares.append(record)
    runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=2.0)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ctx)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]  # noqa: SLF001
    return RunningServer(runner, live, "127.0.0.1", port, ctx is not None)


StartChain = Callable[..., Awaitable[Chain]]


@pytest.fixture
async def chain(tls_files: tuple[Path, Path]) -> AsyncIterator[StartChain]:
    """``await chain(script=[...], relay_tls=False, upstream_engine=None, **relay_config)``."""
    servers: list[RunningServer] = []

    async def start(*, script: list | None = None, relay_tls: bool = False,
                    upstream_engine: Engine | None = None, upstream_url: str | None = None,
                    trust: bool = True, **relay_config: Any) -> Chain:
        handshakes: list[dict[str, Any]] = []
        up_frames: list[tuple[str, str, Any]] = []
        relay_frames: list[tuple[str, str, Any]] = []
        engine = upstream_engine or EmulatorEngine(
            parse_rules(script) if script is not None else None)
        upstream = await start_upstream(
            engine, ServerConfig(api_keys=[UPSTREAM_KEY],
                                 observer=lambda *a: up_frames.append(a)),
            server_context(*tls_files), handshakes)
        servers.append(upstream)
        ctx = ssl.create_default_context(cafile=str(tls_files[0])) if trust else None
        relay_engine = RelayEngine(Upstream(upstream_url or upstream.http_url,
                                            api_key=UPSTREAM_KEY, ssl_context=ctx))
        relay_config.setdefault("api_keys", [CLIENT_KEY])
        relay_config.setdefault("observer", lambda *a: relay_frames.append(a))
        relay = await start_server(relay_engine, ServerConfig(**relay_config), port=0,
                                   ssl_context=server_context(*tls_files) if relay_tls
                                   else None)
        servers.append(relay)
        return Chain(upstream, relay, handshakes, str(tls_files[0]), up_frames, relay_frames)

    yield start
    for server in reversed(servers):
        await server.stop()
