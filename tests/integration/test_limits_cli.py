"""`openlive serve`'s limit flags reach the server (a real subprocess; docs/security.md)."""

from __future__ import annotations

import asyncio
import signal

from test_cli import launch
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from live_client import setup
from openlive.wire import errors

EMULATOR_TEXT = {"model": "models/openlive-emulator",
                 "generationConfig": {"responseModalities": ["TEXT"]}}


async def test_serve_limit_flags_are_applied_and_the_fd_limit_is_logged():
    served = await launch("--max-sessions", "1", "--handshake-timeout", "1",
                          "--max-connections", "50", "--send-timeout", "5")
    try:
        await served.wait_ready()
        assert "file descriptors: soft limit" in served.log
        url = served.base + served.path
        async with asyncio.timeout(20):
            async with connect(url, open_timeout=10) as first:
                await setup(first, **EMULATOR_TEXT)
                async with connect(url, open_timeout=10) as second:
                    try:
                        await second.recv()
                        raise AssertionError("the second session was not refused")
                    except ConnectionClosed as closed:
                        assert closed.rcvd is not None
                        assert (closed.rcvd.code, closed.rcvd.reason) == (
                            1011, errors.UNAVAILABLE)
            host, port = served.base.split("//")[1].rsplit(":", 1)
            reader, writer = await asyncio.open_connection(host, int(port))
            assert await reader.read() == b""  # an idle socket closed by --handshake-timeout
            writer.close()
        assert "refused (session capacity --max-sessions)" in served.log
    finally:
        await served.stop(signal.SIGINT, timeout=20)
