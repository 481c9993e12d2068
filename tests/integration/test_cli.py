"""`openlive serve` as a real subprocess: start on port 0, serve, stop on a signal; bad
scripts; self-signed TLS; API keys (which never reach the log)."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import ssl
import sys
from pathlib import Path

import pytest
from websockets.asyncio.client import connect

from live_client import (
    LIVE_PATH,
    closed_with,
    reply_text,
    say,
    send,
    setup,
    until_turn_complete,
)
from openlive.wire import errors

_BIN = Path(sys.executable).with_name("openlive")
OPENLIVE = [str(_BIN)] if _BIN.exists() else [sys.executable, "-m", "openlive.cli"]
ENDPOINT = re.compile(r"Live endpoint: (wss?://[^/\s]+)(/\S+)")
START_TIMEOUT = 20
#: These tests are about the CLI (serving, signals, TLS, keys, console flags), not speech:
#: with the local extra installed, `openlive serve`'s emulator answers a gemini model's AUDIO
#: session in Piper speech and holds turnComplete while it would play, so they ask the
#: emulator's own model for TEXT replies (gemini models refuse TEXT: session/models.py).
TEXT_SETUP = {"model": "models/openlive-emulator",
              "generationConfig": {"responseModalities": ["TEXT"]}}


class Served:
    """A running `openlive serve` and everything it has logged so far."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.lines: list[str] = []
        self.base = ""
        self.path = ""
        self._reader: asyncio.Task | None = None

    @property
    def log(self) -> str:
        return "".join(self.lines)

    async def wait_ready(self) -> None:
        assert self.proc.stdout is not None
        async with asyncio.timeout(START_TIMEOUT):
            while True:
                line = (await self.proc.stdout.readline()).decode("utf-8", "replace")
                if not line:
                    raise AssertionError(f"server exited before serving:\n{self.log}")
                self.lines.append(line)
                m = ENDPOINT.search(line)
                if m:
                    self.base, self.path = m.group(1), m.group(2)
                    break
        self._reader = asyncio.create_task(self._read_rest())

    async def _read_rest(self) -> None:
        assert self.proc.stdout is not None
        while line := await self.proc.stdout.readline():
            self.lines.append(line.decode("utf-8", "replace"))

    async def stop(self, sig: int | None = signal.SIGINT, timeout: float = 10) -> int:
        """Send ``sig`` (None: none, the process is already stopping) and wait for the exit."""
        if sig is not None and self.proc.returncode is None:
            self.proc.send_signal(sig)
        async with asyncio.timeout(timeout):
            code = await self.proc.wait()
            if self._reader is not None:
                await self._reader
        return code

    def kill(self) -> None:
        if self.proc.returncode is None:
            self.proc.kill()


async def launch(*args: str, env: dict[str, str] | None = None) -> Served:
    proc = await asyncio.create_subprocess_exec(
        *OPENLIVE, "serve", "--port", "0", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        stdin=asyncio.subprocess.DEVNULL, env={**os.environ, **(env or {})})
    # stderr (where the log goes) is merged into stdout: everything printed is in one log
    return Served(proc)


async def run_to_exit(*args: str, timeout: float = START_TIMEOUT) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        *OPENLIVE, *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        stdin=asyncio.subprocess.DEVNULL)
    try:
        async with asyncio.timeout(timeout):
            out, _ = await proc.communicate()
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    return proc.returncode, out.decode("utf-8", "replace")


async def one_turn(url: str, text: str, *, ssl_context: ssl.SSLContext | None = None,
                   headers: dict[str, str] | None = None) -> str:
    async with asyncio.timeout(10):
        async with connect(url, ssl=ssl_context, additional_headers=headers,
                           open_timeout=5, close_timeout=2) as ws:
            await setup(ws, **TEXT_SETUP, transcribe=False)
            await say(ws, text)
            return reply_text(await until_turn_complete(ws))


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
async def test_serve_on_port_0_serves_a_turn_and_stops_cleanly(sig):
    served = await launch()
    try:
        await served.wait_ready()
        assert served.base.startswith("ws://127.0.0.1:")
        port = int(served.base.rsplit(":", 1)[1])
        assert port > 0
        assert served.path == LIVE_PATH
        assert await one_turn(served.base + served.path, "via the cli") == (
            "You said: via the cli")
        code = await served.stop(sig)
    finally:
        served.kill()
    assert code == 0, served.log
    assert "Traceback" not in served.log
    assert "shutting down" in served.log


async def test_stop_closes_open_sessions_with_1001():
    served = await launch()
    try:
        await served.wait_ready()
        async with asyncio.timeout(15):
            ws = await connect(served.base + served.path, open_timeout=5)
            await setup(ws, **TEXT_SETUP, transcribe=False)
            served.proc.send_signal(signal.SIGTERM)
            code, reason = await closed_with(ws)
            assert code == 1001 and reason == "server shutting down"
            assert await served.stop(None) == 0
    finally:
        served.kill()
    assert "Traceback" not in served.log


async def test_script_file_drives_replies(tmp_path):
    script = tmp_path / "rules.yaml"
    script.write_text('- match: "weather in (?P<city>\\\\w+)"\n'
                      '  say: "Always sunny in {city}."\n'
                      '- say: "Scripted: {text}"\n')
    served = await launch("--script", str(script))
    try:
        await served.wait_ready()
        url = served.base + served.path
        assert await one_turn(url, "weather in Lima?") == "Always sunny in Lima."
        assert await one_turn(url, "hi") == "Scripted: hi"
        assert await served.stop() == 0
    finally:
        served.kill()


@pytest.mark.parametrize("content,fragment", [
    ("- say: ok\n- match: x\n  sya: typo\n", "rule 2: unknown key(s) sya"),
    ("- say: ok\n- say: ok\n- match: '(unclosed'\n  say: x\n", "rule 3: bad regex"),
    ("- match: x\n  close: {code: 1005}\n", "rule 1: close code 1005"),
    ("- match: only a pattern\n", "rule 1: needs at least one of"),
    ("- say: [unclosed\n", "is not valid YAML"),
])
async def test_bad_script_exits_2_with_a_clear_message(tmp_path, content, fragment):
    script = tmp_path / "bad.yaml"
    script.write_text(content)
    code, out = await run_to_exit("serve", "--port", "0", "--script", str(script))
    assert code == 2, out
    assert fragment in out
    assert str(script) in out
    assert "Traceback" not in out
    assert "Live endpoint" not in out  # it never started serving


async def test_missing_script_exits_2(tmp_path):
    code, out = await run_to_exit("serve", "--port", "0", "--script",
                                  str(tmp_path / "absent.yaml"))
    assert code == 2 and "cannot read script" in out and "Traceback" not in out


async def test_tls_self_signed_creates_then_reuses_the_pair(tmp_path):
    tls_dir = tmp_path / "tls"
    cert, key = tls_dir / "cert.pem", tls_dir / "key.pem"

    served = await launch("--tls-self-signed", str(tls_dir))
    try:
        await served.wait_ready()
        assert served.base.startswith("wss://127.0.0.1:")
        assert cert.exists() and key.exists()
        assert key.stat().st_mode & 0o077 == 0  # the private key is not world-readable
        ctx = ssl.create_default_context(cafile=str(cert))
        assert await one_turn(served.base + served.path, "secure", ssl_context=ctx) == (
            "You said: secure")
        assert await served.stop() == 0
    finally:
        served.kill()
    assert "created self-signed certificate" in served.log
    first_cert, first_key = cert.read_bytes(), key.read_bytes()

    again = await launch("--tls-self-signed", str(tls_dir))
    try:
        await again.wait_ready()
        ctx = ssl.create_default_context(cafile=str(cert))
        assert await one_turn(again.base + again.path, "again", ssl_context=ctx) == (
            "You said: again")
        assert await again.stop() == 0
    finally:
        again.kill()
    assert "reusing self-signed certificate" in again.log
    assert (cert.read_bytes(), key.read_bytes()) == (first_cert, first_key)


async def test_api_keys_are_enforced_and_never_logged():
    secret, env_secret, wrong = "s3cr3t-KEY-abc123", "ENV-key-XYZ789", "WRONG-key-000111"
    served = await launch("--api-key", secret, "--log-level", "debug",
                          env={"OPENLIVE_API_KEYS": f" {env_secret} , "})
    try:
        await served.wait_ready()
        url = served.base + served.path
        async with asyncio.timeout(15):
            # a wrong key: the handshake succeeds, the first frame gets 1007
            async with connect(f"{url}?key={wrong}", open_timeout=5) as ws:
                await send(ws, {"setup": {"model": "gemini-2.0-flash-exp"}})
                assert await closed_with(ws) == (1007, errors.API_KEY_INVALID)
            async with connect(url, additional_headers={"x-goog-api-key": wrong},
                               open_timeout=5) as ws:
                await send(ws, {"setup": {"model": "gemini-2.0-flash-exp"}})
                assert (await closed_with(ws))[0] == 1007
            # no key at all
            async with connect(url, open_timeout=5) as ws:
                await send(ws, {"setup": {"model": "gemini-2.0-flash-exp"}})
                assert (await closed_with(ws))[0] == 1008
            # the right keys, from the flag and from the environment
            assert await one_turn(f"{url}?key={secret}", "by query") == "You said: by query"
            assert await one_turn(url, "by header",
                                  headers={"x-goog-api-key": env_secret}) == (
                "You said: by header")
        assert await served.stop() == 0
    finally:
        served.kill()
    log = served.log
    assert "API keys required: 2 configured" in log
    assert "connected from" in log  # the sessions were logged...
    for key in (secret, env_secret, wrong):
        assert key not in log  # ...but no key ever was


async def _http(method: str, url: str, **kw) -> tuple[int, dict | str]:
    import aiohttp
    async with asyncio.timeout(5), aiohttp.ClientSession() as http:
        async with http.request(method, url, **kw) as resp:
            if resp.content_type == "application/json":
                return resp.status, await resp.json()
            return resp.status, await resp.text()


@pytest.mark.parametrize("flag", ["--no-console", "--no-console-tokens", None])
async def test_console_flags(flag):
    key = "console-flag-key-7781"
    served = await launch("--api-key", key, *([flag] if flag else []))
    try:
        await served.wait_ready()
        http = served.base.replace("ws", "http", 1)
        page, page_body = await _http("GET", http + "/")
        token, token_body = await _http("POST", http + "/console/token",
                                        headers={"Origin": http})
        assert await one_turn(f"{served.base}{served.path}?key={key}", "still live") == (
            "You said: still live")
        assert await served.stop() == 0
    finally:
        served.kill()
    if flag == "--no-console":
        assert page == 404 and page_body["error"]["status"] == "NOT_FOUND"
        assert token == 404
        assert "console: off (--no-console)" in served.log
    elif flag == "--no-console-tokens":
        assert page == 200 and "openlive console" in page_body
        assert token == 403 and "name" not in token_body
        assert "enter an API key or an ephemeral token" in token_body["error"]["message"]
        assert "console tokens off" in served.log
    else:
        assert page == 200 and token == 200
        assert token_body["name"].startswith("auth_tokens/")
        assert f"console: {http}/" in served.log
    assert key not in served.log


async def test_serve_help_lists_the_console_flags():
    code, out = await run_to_exit("serve", "--help")
    assert code == 0
    assert "--no-console " in out and "--no-console-tokens" in out
    assert "reverse proxy" in out
