"""`openlive serve --workers N`: worker 0 (the process started by the user) starts workers
1..N-1 as copies of itself on the same port (SO_REUSEPORT) and supervises them.

- A worker that exits while the server runs (killed, crashed) is logged and replaced,
  at most once every ``RESTART_DELAY`` seconds per worker.
- When worker 0 dies, even by SIGKILL, the others stop: on Linux the kernel sends them
  SIGTERM (``prctl(PR_SET_PDEATHSIG)``, which each worker asks for first thing,
  :func:`die_with_parent`); everywhere, each worker also checks every ``PARENT_CHECK``
  seconds that worker 0 is still its parent, and stops when it is not.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys
import time

log = logging.getLogger("openlive.server")

RESTART_DELAY = 1.0  # seconds before a worker that ended is started again...
MAX_RESTART_DELAY = 60.0  # ...doubled, up to this, each time it ends within STABLE seconds
STABLE = 10.0
SUPERVISE_EVERY = 0.5  # seconds between checks of the workers
PARENT_CHECK = 1.0  # seconds between a worker's checks that worker 0 lives
STOP_TIMEOUT = 10.0  # seconds a worker gets to stop before it is killed


def die_with_parent(parent: int) -> None:
    """First thing in worker 1..N-1: ask the kernel for SIGTERM when worker 0 (``parent``)
    dies (Linux), and stop now if it already has. Asked here, after exec, and not in a
    ``preexec_fn`` between fork and exec: worker 0 has threads when it restarts a worker,
    and "the child process could deadlock before exec is called" (Python's subprocess
    documentation on ``preexec_fn``)."""
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass  # the parent check (stop_when_orphaned) still stops it
    if os.getppid() != parent:
        raise SystemExit(f"openlive: worker 0 (pid {parent}) is gone: not starting")


class Workers:
    """Workers 1..count-1 of one server, started with ``argv`` (serve's own arguments)."""

    def __init__(self, argv: list[str], count: int) -> None:
        self.argv = argv
        self.count = count
        self.children: dict[int, subprocess.Popen] = {}
        self._started_at: dict[int, float] = {}
        self._delay: dict[int, float] = {}  # the wait before a worker's next start
        self._start_at: dict[int, float] = {}  # workers that ended: when to start them again
        self.stopping = False

    def _start(self, index: int) -> None:
        cmd = [sys.executable, "-m", "openlive.cli", *self.argv, "--worker-index", str(index),
               "--worker-parent", str(os.getpid())]
        self.children[index] = subprocess.Popen(cmd)
        self._started_at[index] = time.monotonic()

    def start(self) -> None:
        for index in range(1, self.count):
            self._start(index)

    async def supervise(self, every: float = SUPERVISE_EVERY) -> None:
        """Forever: replace each worker that has ended (logged); one that keeps ending
        soon after its start waits longer each time (a crash loop stays quiet)."""
        while not self.stopping:
            await asyncio.sleep(every)
            now = time.monotonic()
            for index, child in list(self.children.items()):
                code = child.poll()
                if code is None or self.stopping:
                    continue
                if index not in self._start_at:
                    lived = now - self._started_at[index]
                    delay = (min(self._delay.get(index, RESTART_DELAY) * 2, MAX_RESTART_DELAY)
                             if lived < STABLE and index in self._delay else RESTART_DELAY)
                    self._delay[index] = delay
                    self._start_at[index] = now + delay
                    how = f"signal {-code}" if code < 0 else f"exit code {code}"
                    log.warning("worker %d (pid %d) ended (%s): starting a new one in %g s",
                                index, child.pid, how, delay)
                elif now >= self._start_at[index]:
                    del self._start_at[index]
                    self._start(index)

    def stop_soon(self) -> None:
        """The server is stopping: replace no worker from now on."""
        self.stopping = True

    def stop(self) -> None:
        """SIGTERM every worker, wait for each (killed after STOP_TIMEOUT)."""
        self.stopping = True
        children = list(self.children.values())
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in children:
            try:
                child.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()


async def stop_when_orphaned(parent: int, every: float = PARENT_CHECK) -> None:
    """In worker 1..N-1: when worker 0 (``parent``) is no longer this process's parent, stop
    this process as Ctrl+C would (SIGTERM to itself)."""
    while True:
        await asyncio.sleep(every)
        if os.getppid() != parent:
            log.warning("worker 0 (pid %d) is gone: stopping", parent)
            os.kill(os.getpid(), signal.SIGTERM)
            return
