"""`openlive serve --engine local` model options through the real CLI: bad paths and
endpoints are refused before serving, with the flag named (exit 2)."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

OPENLIVE = str(Path(sys.executable).with_name("openlive"))  # the installed console script


def serve(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([OPENLIVE, "serve", "--engine", "local",
                           "--port", "0", *args], capture_output=True, text=True, timeout=120,
                          env=env)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_help_lists_every_model_option():
    out = subprocess.run([OPENLIVE, "serve", "--help"],
                         capture_output=True, text=True, timeout=60).stdout
    for flag in ("--llm-model", "--llm-threads", "--llm-context", "--llm-slots", "--llm-url",
                 "--llm-model-name", "--llm-api-key-env", "--llm-tools", "--whisper-model",
                 "--piper-voice", "--piper-config"):
        assert flag in out


@pytest.mark.parametrize(("args", "message"), [
    (["--llm-model", "/nonexistent.gguf"], "--llm-model /nonexistent.gguf: no such file"),
    (["--whisper-model", "/nonexistent"], "--whisper-model /nonexistent: no such file"),
    (["--whisper-model", sys.executable], "not a directory"),
    (["--piper-voice", "/nonexistent.onnx"], "--piper-voice /nonexistent.onnx: no such file"),
    (["--piper-config", sys.executable], "--piper-config needs --piper-voice"),
    (["--llm-threads", "0"], "--llm-threads must be at least 1"),
    (["--llm-slots", "0"], "--llm-slots must be at least 1"),
    (["--llm-model-name", "x"], "--llm-model-name needs --llm-url"),
    (["--llm-url", "ftp://host/v1"], "not an http(s) URL"),
])
def test_bad_option_exits_2_naming_it(args, message):
    r = serve(*args)
    assert r.returncode == 2, r.stderr
    assert message in r.stderr


def test_corrupt_gguf_is_refused(tmp_path):
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"GGUF" + bytes(4096))
    r = serve("--llm-model", str(bad))
    assert r.returncode == 2 and f"--llm-model {bad}: cannot load it" in r.stderr, r.stderr


def test_unreachable_llm_url_and_missing_key_are_refused():
    url = f"http://127.0.0.1:{closed_port()}/v1"
    r = serve("--llm-url", url)
    assert r.returncode == 2 and f"cannot reach the LLM endpoint {url}" in r.stderr, r.stderr
    r = serve("--llm-url", url, "--llm-api-key-env", "OPENLIVE_TEST_UNSET_KEY")
    assert r.returncode == 2
    assert "OPENLIVE_TEST_UNSET_KEY: that environment variable is not set" in r.stderr


def test_the_engine_is_built_with_every_model_loaded_and_warmed(caplog):
    import argparse
    import logging

    from openlive.engines.options import add_engine_arguments, build_engine

    parser = argparse.ArgumentParser()
    add_engine_arguments(parser)
    with caplog.at_level(logging.INFO, "openlive"):
        engine = build_engine(parser.parse_args(["--engine", "local", "--llm-slots", "3"]))
    assert engine.voice._transcriber is not None and engine.voice._synthesizer is not None
    assert "speech models warmed up" in caplog.text
    assert engine.llm().server is not None
    assert "2 threads, 3 slots" in caplog.text  # --llm-slots reached llama.cpp
