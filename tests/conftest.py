"""Shared fixtures: real openlive servers on loopback (port 0), plain or TLS."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from openlive.engines.emulator import EmulatorEngine
from openlive.engines.emulator.script import parse_rules
from openlive.server.app import ServerConfig
from openlive.server.run import RunningServer, start_server
from openlive.server.tls import ensure_self_signed, server_context

StartServer = Callable[..., Awaitable[RunningServer]]


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed cert.pem/key.pem pair for localhost, 127.0.0.1 and ::1."""
    cert, key, _ = ensure_self_signed(tmp_path_factory.mktemp("tls"))
    return cert, key


@pytest.fixture
def client_ssl(tls_files: tuple[Path, Path]) -> ssl.SSLContext:
    """A client SSL context that trusts the test certificate."""
    return ssl.create_default_context(cafile=str(tls_files[0]))


@pytest.fixture
async def serve(tls_files: tuple[Path, Path]) -> AsyncIterator[StartServer]:
    """``await serve(script=[...rules...], tls=True, api_keys=[...], binary_frames=...)``
    starts a real server on 127.0.0.1 with a free port; all are stopped after the test."""
    started: list[RunningServer] = []

    async def start(*, script: list | None = None, tls: bool = False, host: str = "127.0.0.1",
                    **config) -> RunningServer:
        engine = EmulatorEngine(parse_rules(script) if script is not None else None)
        ctx = server_context(*tls_files) if tls else None
        server = await start_server(engine, ServerConfig(**config), host=host, port=0,
                                    ssl_context=ctx)
        started.append(server)
        return server

    yield start
    for server in started:
        await server.stop()
