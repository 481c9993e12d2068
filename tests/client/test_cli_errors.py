"""A user error on the command line is one line on stderr and exit status 2, never a
traceback or a silently changed value (issue 17)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

MAIN = "import sys; from openlive.cli import main; sys.exit(main())"


def openlive(*args: str, stdin: str = "", env: dict[str, str] | None = None
             ) -> tuple[int, str]:
    done = subprocess.run([sys.executable, "-c", MAIN, *args], input=stdin,
                          capture_output=True, text=True, timeout=60,
                          env={**os.environ, **(env or {})})
    return done.returncode, done.stderr


@pytest.mark.parametrize("args,says", [
    (["serve", "--port", "99999"], "--port: a port is 0 to 65535, got 99999"),
    (["serve", "--port", "65536"], "--port: a port is 0 to 65535, got 65536"),
    (["serve", "--workers", "0"], "--workers: must be 1 or more, got 0"),
    (["serve", "--session-ttl", "-5"], "--session-ttl: must be 0 or more seconds, got -5"),
    (["serve", "--setup-timeout", "nan"], "--setup-timeout: must be 0 or more seconds"),
    (["serve", "--max-sessions", "-1"], "--max-sessions: must be 0 or more, got -1"),
    (["serve", "--tls-cert", "/nope.pem", "--tls-key", "/nope.key"],
     "cannot use the TLS certificate and key (/nope.pem / /nope.key): No such file"),
    (["serve", "--engine", "relay", "--script", "bad.yaml"],
     "--script is an option of the emulator engine, but this server runs --engine relay"),
    (["serve", "--llm-model=/nope.gguf"],
     "--llm-model is an option of the local engine, but this server runs --engine emulator"),
    (["serve", "--engine", "replay", "--upstream", "wss://x"],
     "--upstream is an option of the relay engine"),
    (["chat", "--url", "ftp://x"], "--url: base URL must be http(s):// or ws(s)://"),
    (["chat", "--ca-file", "/nope.pem"], "--ca-file: no such file: /nope.pem"),
    (["chat", "--timeout", "x"], "argument --timeout: invalid float value: 'x'"),
])
def test_a_usage_error_is_one_line_and_exit_2(args, says):
    code, err = openlive(*args, stdin="hi\n")
    assert code == 2, err
    assert says in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err


def test_token_create_takes_chat_s_option_name_and_not_google_s_key():
    done = subprocess.run([sys.executable, "-c", MAIN, "token", "create", "--help"],
                          capture_output=True, text=True, timeout=60)
    assert "--ca-file" in done.stdout and "$OPENLIVE_API_KEY" in done.stdout
    assert "GEMINI_API_KEY" not in done.stdout


def test_mic_without_a_sound_library_says_what_to_install(tmp_path):
    """As on CI (no sounddevice): the mic command says how to get it, in one line."""
    blocked = tmp_path / "sounddevice"
    blocked.mkdir()
    (blocked / "__init__.py").write_text("raise ImportError('blocked for this test')\n")
    code, err = openlive("mic", "--list-devices", env={"PYTHONPATH": str(tmp_path)})
    assert code == 2, err
    assert "pip install 'openlive[audio]'" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err
