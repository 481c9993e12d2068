"""`openlive serve --engine relay` as a real subprocess in front of an upstream openlive: it
serves a turn, its whole log (debug level) never holds the upstream key, and bad options
fail at start with a clear message."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from pathlib import Path

from live_client import (
    CLIENT_KEY,
    UPSTREAM_KEY,
    open_live,
    reply_text,
    say,
    setup,
    until_turn_complete,
)

_BIN = Path(sys.executable).with_name("openlive")
OPENLIVE = [str(_BIN)] if _BIN.exists() else [sys.executable, "-m", "openlive.cli"]
ENDPOINT = re.compile(r"Live endpoint: (wss?://[^/\s]+)/")
KEY_ENV = "OPENLIVE_TEST_UPSTREAM_KEY"


async def run_to_exit(*args: str, env: dict[str, str]) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        *OPENLIVE, "serve", "--port", "0", "--engine", "relay", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        stdin=asyncio.subprocess.DEVNULL, env=env)
    try:
        async with asyncio.timeout(20):
            out, _ = await proc.communicate()
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    return proc.returncode or 0, out.decode("utf-8", "replace")


async def test_relay_cli_serves_and_never_logs_the_key(serve, tls_files):
    upstream = await serve(tls=True, api_keys=[UPSTREAM_KEY])
    env = {**os.environ, KEY_ENV: UPSTREAM_KEY}
    proc = await asyncio.create_subprocess_exec(
        *OPENLIVE, "serve", "--port", "0", "--engine", "relay", "--log-level", "debug",
        "--upstream", upstream.http_url, "--upstream-api-key-env", KEY_ENV,
        "--upstream-cafile", str(tls_files[0]), "--api-key", CLIENT_KEY,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        stdin=asyncio.subprocess.DEVNULL, env=env)
    lines: list[str] = []
    try:
        async with asyncio.timeout(20):
            while not (m := ENDPOINT.search(lines[-1] if lines else "")):
                line = (await proc.stdout.readline()).decode()  # type: ignore[union-attr]
                assert line, "".join(lines)
                lines.append(line)
        ws = await open_live(m.group(1), key=CLIENT_KEY)
        await setup(ws)
        await say(ws, "via the relay cli")
        assert reply_text(await until_turn_complete(ws)) == "You said: via the relay cli"
        await ws.close()
        proc.send_signal(signal.SIGINT)
        async with asyncio.timeout(10):
            out, _ = await proc.communicate()
        lines.append(out.decode())
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    log = "".join(lines)
    assert proc.returncode == 0, log
    assert f"relay engine (upstream {upstream.http_url}, key from ${KEY_ENV})" in log
    assert "upstream closed" in log or "disconnected" in log
    assert UPSTREAM_KEY not in log and CLIENT_KEY not in log
    assert "Traceback" not in log


async def test_relay_cli_refuses_bad_options():
    env = {k: v for k, v in os.environ.items() if k != KEY_ENV}
    code, out = await run_to_exit("--upstream-api-key-env", KEY_ENV, env=env)
    assert code == 2
    assert f"needs the upstream API key in ${KEY_ENV}, which is not set" in out
    env[KEY_ENV] = UPSTREAM_KEY
    code, out = await run_to_exit("--upstream-api-key-env", KEY_ENV,
                                  "--upstream", "ftp://example.invalid", env=env)
    assert code == 2 and "--upstream: base URL must be http(s):// or ws(s)://" in out
    code, out = await run_to_exit("--upstream-api-key-env", KEY_ENV,
                                  "--upstream-cafile", "/no/such/ca.pem", env=env)
    assert code == 2 and "cannot use --upstream-cafile /no/such/ca.pem" in out
    assert UPSTREAM_KEY not in out
