"""Real `openlive serve` processes for the remote-stage tests: a back end with the local
models (the model server) and front ends that call it over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from live_client import ServedProcess

BACK_KEY = "back-end-key-5d1e"
START_TIMEOUT = 300.0  # loading Whisper, Piper and the LLM on a busy 2-core machine


@contextmanager
def serve(log: Path, *args: str, env: dict[str, str] | None = None) -> Iterator[ServedProcess]:
    """`openlive serve --port 0 --no-console ARGS`, until it logs its Live endpoint."""
    served = ServedProcess(log, "--no-console", *args, env=env, timeout=START_TIMEOUT)
    try:
        yield served
    finally:
        served.stop()


@pytest.fixture(scope="session")
def back(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedProcess]:
    """`openlive serve --engine local` with the shipped models and one API key."""
    log = tmp_path_factory.mktemp("back") / "serve.log"
    with serve(log, "--engine", "local", "--api-key", BACK_KEY) as served:
        yield served
