"""Real `openlive serve` processes for the remote-stage tests: a back end with the local
models (the model server) and front ends that call it over HTTP."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

BACK_KEY = "back-end-key-5d1e"
START_TIMEOUT = 300.0  # loading Whisper, Piper and the LLM on a busy 2-core machine


class Served:
    def __init__(self, proc: subprocess.Popen, log: Path, port: int) -> None:
        self.proc, self.log_path, self.port = proc, log, port

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    @property
    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@contextmanager
def serve(log: Path, *args: str, env: dict[str, str] | None = None) -> Iterator[Served]:
    """`openlive serve --port 0 ARGS`, until it logs its Live endpoint (or exits)."""
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "openlive.cli", "serve", "--port", "0",
                                 "--no-console", *args], stdout=out, stderr=subprocess.STDOUT,
                                env={**os.environ, **(env or {})})
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            m = re.search(r"Live endpoint: ws://127\.0\.0\.1:(\d+)/", log.read_text())
            if m:
                break
            if proc.poll() is not None:
                raise AssertionError(f"openlive serve exited {proc.returncode}:\n{log.read_text()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"openlive serve did not start:\n{log.read_text()}")
            time.sleep(0.2)
        yield Served(proc, log, int(m.group(1)))
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture(scope="session")
def back(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """`openlive serve --engine local` with the shipped models and one API key."""
    log = tmp_path_factory.mktemp("back") / "serve.log"
    with serve(log, "--engine", "local", "--api-key", BACK_KEY) as served:
        yield served
