"""`openlive serve`'s limit flags reach the server (a real subprocess; docs/security.md)."""

from __future__ import annotations

import asyncio
import json
import signal

import pytest
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


# ---------------------------------------------------- API keys out of ps output (item 7)

def command_lines(pid: int) -> str:
    """The command line of ``pid`` and of its children, as ps shows them to every user."""
    from pathlib import Path
    lines = [Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    for child in children.read_text().split() if children.exists() else ():
        lines.append(Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ")
                     .decode())
    return "\n".join(lines)


async def test_api_keys_from_a_file_or_the_environment_stay_out_of_ps(tmp_path):
    file_key, env_key = "file-key-5e1f0a2b9c", "env-key-7d3c2b1a0f"
    keys = tmp_path / "keys"
    keys.write_text(f"# the service's keys\n{file_key}\n")
    keys.chmod(0o600)
    served = await launch("--api-key-file", str(keys), env={"OPENLIVE_API_KEYS": env_key})
    try:
        await served.wait_ready()
        url = served.base + served.path
        shown = command_lines(served.proc.pid)
        assert file_key not in shown and env_key not in shown
        async with asyncio.timeout(20):
            for key in (file_key, env_key):
                async with connect(f"{url}?key={key}", open_timeout=10) as ws:
                    await setup(ws, **EMULATOR_TEXT)
            async with connect(url, open_timeout=10) as ws:  # no key: refused
                await ws.send(json.dumps({"setup": EMULATOR_TEXT}))
                with pytest.raises(ConnectionClosed) as refused:
                    await ws.recv()
                assert refused.value.rcvd is not None and refused.value.rcvd.code == 1008
        assert "API keys required: 2 configured" in served.log
        assert "ps shows them" not in served.log and "other users" not in served.log
    finally:
        await served.stop(signal.SIGINT, timeout=20)


async def test_keys_where_others_can_read_them_are_warned_about(tmp_path):
    keys = tmp_path / "keys"
    keys.write_text("file-key-1\n")
    keys.chmod(0o644)
    served = await launch("--api-key", "flag-key-2", "--api-key-file", str(keys))
    try:
        await served.wait_ready()
        assert "--api-key puts keys on the command line, where ps shows them" in served.log
        assert "can be read by other users (mode 644): chmod 600 it" in served.log
        assert "flag-key-2" not in served.log and "file-key-1" not in served.log
    finally:
        await served.stop(signal.SIGINT, timeout=20)
