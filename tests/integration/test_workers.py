"""`openlive serve --workers N`: several processes share one port (SO_REUSEPORT) and one
store, so a session begun on one process resumes on another."""

from __future__ import annotations

import asyncio
import signal
import socket
from pathlib import Path

from test_cli import OPENLIVE, Served, run_to_exit
from websockets.asyncio.client import connect

from live_client import LIVE_PATH, free_port, recv, reply_text, say, setup, until_turn_complete


async def launch_workers(port: int, store: str, workers: int = 2) -> Served:
    proc = await asyncio.create_subprocess_exec(
        *OPENLIVE, "serve", "--port", str(port), "--workers", str(workers), "--store", store,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        stdin=asyncio.subprocess.DEVNULL)
    served = Served(proc)
    await served.wait_ready()
    return served


async def wait_for_workers(served: Served, workers: int) -> None:
    async with asyncio.timeout(20):
        while sum(f"w{i}:" in served.log for i in range(workers)) < workers:
            await asyncio.sleep(0.1)


async def resumable_turn(url: str, text: str, handle: str | None) -> tuple[str, str]:
    """One turn on a new connection (resuming ``handle``); returns (reply, newest handle)."""
    async with asyncio.timeout(10):
        async with connect(url, open_timeout=5, close_timeout=2) as ws:
            await setup(ws, sessionResumption={"handle": handle} if handle else {})
            newest = handle
            await say(ws, text)
            messages = await until_turn_complete(ws)
            for m in messages:
                update = m.get("sessionResumptionUpdate", {})
                if update.get("resumable") and update.get("newHandle"):
                    newest = update["newHandle"]
            try:  # the update that follows turnComplete
                m = await recv(ws, timeout=2)
                update = m.get("sessionResumptionUpdate", {})
                newest = update.get("newHandle") or newest
            except TimeoutError:
                pass
            return reply_text(messages), newest


async def test_two_workers_share_the_port_and_resume_each_others_sessions(tmp_path: Path):
    port = free_port()
    served = await launch_workers(port, f"sqlite:{tmp_path / 'sessions.db'}")
    try:
        await wait_for_workers(served, 2)
        url = f"ws://127.0.0.1:{port}{LIVE_PATH}"
        handle = None
        for i in range(16):  # each connection lands on either process
            reply, handle = await resumable_turn(url, f"turn {i}", handle)
            assert reply == f"You said: turn {i}"
            assert handle
        # both processes served connections, and every resume found the session
        done = [line for line in served.lines if "setup done" in line]
        assert len(done) == 16
        assert any(" w0:" in line for line in done) and any(" w1:" in line for line in done)
        assert "not found" not in served.log
    finally:
        code = await served.stop(signal.SIGTERM, timeout=20)
    assert code == 0
    with socket.socket() as s:  # every worker is gone: nothing listens any more
        assert s.connect_ex(("127.0.0.1", port)) != 0


async def test_workers_need_a_shared_store():
    code, out = await run_to_exit("serve", "--port", str(free_port()), "--workers", "2")
    assert code == 2
    assert "--workers N needs a fixed --port and a shared store" in out
