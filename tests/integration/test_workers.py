"""`openlive serve --workers N`: several processes share one port (SO_REUSEPORT) and one
store, so a session begun on one process resumes on another."""

from __future__ import annotations

import asyncio
import os
import signal
import time
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
    """Until every worker serves (has logged its endpoint). Not just any line of each: a
    worker killed between its first line and its endpoint never logs the endpoint, and a
    test that then counts endpoints waits for one that cannot come."""
    async with asyncio.timeout(20):
        while sum(f" w{i}: Live endpoint" in served.log for i in range(workers)) < workers:
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
        print(served.log)  # shown when the test fails
    assert code == 0
    assert not await still_listening(port)  # every worker is gone: nothing listens any more


async def test_workers_need_a_shared_store():
    code, out = await run_to_exit("serve", "--port", str(free_port()), "--workers", "2")
    assert code == 2
    assert "--workers N needs a fixed --port and a shared store" in out


# ------------------------------------------------------------------------- supervision

def proc_stat(pid: int | str) -> tuple[str, str, int] | None:
    """(command name, state, parent pid) from /proc/PID/stat; None if it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    comm, rest = stat.split(" (", 1)[1].rsplit(")", 1)  # "pid (comm) state ppid ..."
    state, ppid = rest.split()[:2]
    return comm, state, int(ppid)


def children_of(pid: int) -> list[int]:
    """Processes whose parent is ``pid`` (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (stat := proc_stat(entry.name)) is not None:
            if stat[2] == pid and stat[1] != "Z":
                found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    stat = proc_stat(pid)
    # a zombie has stopped; only its parent's wait() is missing
    return stat is not None and stat[1] != "Z"


def listening(port: int) -> list[str]:
    """The sockets on this machine that listen on TCP ``port`` (/proc/net/tcp, tcp6), each
    named with the processes that hold it ("inode 123: pid 45 (python)"); empty if none.
    Not a connect(): connecting to a closed port in the ephemeral range can connect to
    itself when the kernel picks that same port as the source (a TCP self-connect)."""
    inodes = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.append(fields[9])
    return [f"inode {inode}: {holders(inode)}" for inode in inodes]


async def still_listening(port: int, within: float = 10) -> list[str]:
    """:func:`listening` once it is empty, or after ``within`` seconds. A process that has
    exited can leave its listening socket in /proc/net/tcp for a moment, held by no
    process (the kernel releases a dead process's files after it is gone: seen here as
    "no process (closing)"); an orphan worker would hold it for good."""
    deadline = time.monotonic() + within
    while (found := listening(port)) and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    return found


def holders(inode: str) -> str:
    """Which processes hold socket ``inode`` open, with their state and parent."""
    found = []
    for fd_dir in Path("/proc").glob("[0-9]*/fd"):
        try:
            if f"socket:[{inode}]" not in [os.readlink(fd) for fd in fd_dir.iterdir()]:
                continue
            threads = len(list((fd_dir.parent / "task").iterdir()))
        except OSError:
            continue
        if (stat := proc_stat(fd_dir.parent.name)) is not None:
            comm, state, ppid = stat
            found.append(f"pid {fd_dir.parent.name} ({comm}, state {state}, ppid {ppid}, "
                         f"{threads} threads)")
    return ", ".join(found) or "no process (closing)"


async def the_worker(served: Served) -> int:
    """The pid of worker 1 (worker 0's one child)."""
    async with asyncio.timeout(20):
        while not (pids := children_of(served.proc.pid)):
            await asyncio.sleep(0.1)
    assert len(pids) == 1, pids
    return pids[0]


async def test_a_killed_worker_is_replaced_and_logged(tmp_path: Path):
    port = free_port()
    served = await launch_workers(port, f"sqlite:{tmp_path / 'sessions.db'}")
    try:
        await wait_for_workers(served, 2)
        first = await the_worker(served)
        os.kill(first, signal.SIGKILL)
        async with asyncio.timeout(30):
            while f"worker 1 (pid {first}) ended (signal 9): starting a new one" not in served.log:
                await asyncio.sleep(0.1)
            while (second := await the_worker(served)) == first:
                await asyncio.sleep(0.1)
            # the new worker serves: it logs its endpoint a second time
            while served.log.count(" w1: Live endpoint") < 2:
                await asyncio.sleep(0.1)
        assert alive(second)
        url = f"ws://127.0.0.1:{port}{LIVE_PATH}"
        reply, _ = await resumable_turn(url, "after the kill", None)
        assert reply == "You said: after the kill"
    finally:
        code = await served.stop(signal.SIGTERM, timeout=20)
        print(served.log)  # shown when the test fails
    assert code == 0
    assert not alive(second)


async def test_the_workers_stop_when_worker_0_dies(tmp_path: Path):
    port = free_port()
    served = await launch_workers(port, f"sqlite:{tmp_path / 'sessions.db'}")
    try:
        await wait_for_workers(served, 2)
        assert listening(port)
        child = await the_worker(served)
        served.proc.send_signal(signal.SIGKILL)  # no chance to stop its workers itself
        async with asyncio.timeout(30):
            while alive(child):
                await asyncio.sleep(0.1)
        assert not await still_listening(port)  # no orphan serves the port
    finally:
        served.kill()
        await served.stop(None, timeout=20)
        print(served.log)  # shown when the test fails


async def test_a_worker_that_keeps_ending_at_once_is_started_less_and_less_often(monkeypatch):
    """The supervisor alone, with a worker that ends as soon as it starts (no processes):
    the waits between starts double (a crash loop neither spins nor floods the log)."""
    from openlive.server import workers as wk

    monkeypatch.setattr(wk, "RESTART_DELAY", 0.05)
    monkeypatch.setattr(wk, "MAX_RESTART_DELAY", 0.4)
    supervisor = wk.Workers([], 2)
    starts: list[float] = []

    class Ended:
        pid = 4242

        def poll(self) -> int:
            return 1

    def start(index: int) -> None:
        starts.append(time.monotonic())
        supervisor.children[index] = Ended()  # type: ignore[assignment]
        supervisor._started_at[index] = starts[-1]

    monkeypatch.setattr(supervisor, "_start", start)
    supervisor.start()
    task = asyncio.create_task(supervisor.supervise(every=0.01))
    await asyncio.sleep(2.0)
    supervisor.stop_soon()
    await task
    gaps = [b - a for a, b in zip(starts, starts[1:], strict=False)]
    assert len(starts) >= 3, starts
    assert len(starts) <= 12  # at a steady 0.05 s it would be about 40
    assert gaps[1] >= 1.5 * 0.05  # the second wait is longer than the first
