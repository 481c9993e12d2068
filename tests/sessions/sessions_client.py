"""Helpers for the sessions tests: a raw Live client (websockets) and `openlive serve`
subprocesses. Every wait is bounded."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sys
from pathlib import Path
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from openlive.wire.endpoints import live_path

LIVE = live_path("v1beta")
CONSTRAINED = live_path("v1alpha", constrained=True)
MODEL = "models/gemini-live-2.5-flash-preview"
STEP = 5.0
SESSION_NOT_FOUND = (1008, "BidiGenerateContent session not found")
DEADLINE = (1011, "Deadline expired before operation could complete.")
UNREGISTERED = 1008
WEATHER = [
    {"match": r"weather in (?P<city>\w+)",
     "call": {"name": "get_weather", "args": {"city": "{city}"}},
     "say": "It is {result[summary]} in {city}."},
    {"say": "You said: {text}"},
]


async def open_ws(base_ws: str, path: str = LIVE, query: str = "",
                  headers: dict[str, str] | None = None, **kw: Any) -> ClientConnection:
    url = base_ws + path + (f"?{query}" if query else "")
    async with asyncio.timeout(STEP):
        return await connect(url, additional_headers=headers, open_timeout=STEP,
                             close_timeout=2, **kw)


async def send(ws: ClientConnection, message: dict) -> None:
    await ws.send(json.dumps(message))


async def recv(ws: ClientConnection, timeout: float = STEP) -> dict:
    async with asyncio.timeout(timeout):
        return json.loads(await ws.recv())


async def start(ws: ClientConnection, model: str = MODEL, **fields: Any) -> list[dict]:
    """Send setup; return setupComplete and (with sessionResumption) the first update."""
    await send(ws, {"setup": {"model": model, **fields}})
    first = await recv(ws)
    assert first == {"setupComplete": {}}, first
    out = [first]
    if "sessionResumption" in fields:
        out.append(await recv(ws))
        assert "sessionResumptionUpdate" in out[-1], out
    return out


async def say(ws: ClientConnection, text: str) -> None:
    await send(ws, {"clientContent": {"turns": [{"role": "user", "parts": [{"text": text}]}],
                                      "turnComplete": True}})


async def until(ws: ClientConnection, key: str, timeout: float = STEP) -> list[dict]:
    """Messages up to and including the first with top-level ``key`` (or serverContent.key)."""
    out: list[dict] = []
    async with asyncio.timeout(timeout):
        while True:
            msg = json.loads(await ws.recv())
            out.append(msg)
            if key in msg or msg.get("serverContent", {}).get(key):
                return out


async def turn(ws: ClientConnection, text: str) -> list[dict]:
    await say(ws, text)
    return await until(ws, "turnComplete")


async def until_handle(ws: ClientConnection, timeout: float = STEP) -> list[dict]:
    """Messages up to and including the next resumable sessionResumptionUpdate."""
    out: list[dict] = []
    async with asyncio.timeout(timeout):
        while True:
            msg = json.loads(await ws.recv())
            out.append(msg)
            if msg.get("sessionResumptionUpdate", {}).get("resumable"):
                return out


async def resumable_turn(ws: ClientConnection, text: str) -> list[dict]:
    """A turn, then the new handle that follows its turnComplete."""
    await say(ws, text)
    return await until_handle(ws)


def reply_text(messages: list[dict]) -> str:
    return "".join(p.get("text", "") for m in messages
                   for p in m.get("serverContent", {}).get("modelTurn", {}).get("parts", []))


def handles(messages: list[dict]) -> list[str]:
    return [m["sessionResumptionUpdate"]["newHandle"] for m in messages
            if m.get("sessionResumptionUpdate", {}).get("resumable")]


async def closed_with(ws: ClientConnection, timeout: float = STEP) -> tuple[int, str]:
    async with asyncio.timeout(timeout):
        try:
            while True:
                await ws.recv()
        except ConnectionClosed as exc:
            assert exc.rcvd is not None, f"no close frame: {exc!r}"
            return exc.rcvd.code, exc.rcvd.reason


class ServeProcess:
    """`openlive serve --port 0 ARGS` in a subprocess; its URLs come from its log."""

    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        self.args = args
        self.env = env
        self.proc: asyncio.subprocess.Process | None = None
        self.port = 0
        self.log: list[str] = []

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    async def __aenter__(self) -> ServeProcess:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "openlive.cli", "serve", "--port", "0", *self.args,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
            env={**os.environ, **(self.env or {})})
        assert self.proc.stderr is not None
        async with asyncio.timeout(15):
            while not self.port:
                line = (await self.proc.stderr.readline()).decode()
                if not line:
                    raise AssertionError("openlive serve exited:\n" + "".join(self.log))
                self.log.append(line)
                m = re.search(r"Live endpoint: ws://127\.0\.0\.1:(\d+)/", line)
                if m:
                    self.port = int(m.group(1))
        asyncio.get_running_loop().create_task(self._drain())
        return self

    async def _drain(self) -> None:
        assert self.proc is not None and self.proc.stderr is not None
        while line := await self.proc.stderr.readline():
            self.log.append(line.decode())

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                async with asyncio.timeout(10):
                    await self.proc.wait()
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


SRC = Path(__file__).resolve().parents[2] / "src"
