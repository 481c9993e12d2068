"""The one raw Live client of the tests (the `websockets` library, no SDK), importable from
every test folder (pyproject: ``pythonpath = ["tests"]``): ``from live_client import ...``.

Paths and URLs come from :mod:`openlive.wire.endpoints`, the default model from
:mod:`openlive.session.models`; Google's reason strings are :mod:`openlive.wire.errors`
(``errors.SESSION_NOT_FOUND``…), compared as ``(code, reason)`` with what
:func:`closed_with` returns. Every wait is bounded. Also here: :class:`ServeProcess` (an
``openlive serve`` subprocess) and :func:`free_port`.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import ssl
import sys
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from openlive.session.models import GEMINI_LIVE_MODELS
from openlive.wire import endpoints

#: The default model as apps hand it to an SDK (``connect(model=...)``): a bare name.
MODEL_NAME = GEMINI_LIVE_MODELS[0]
#: The default model as a raw ``setup`` carries it (canonical, as the server reports it).
MODEL = "models/" + MODEL_NAME
#: Another served model (a resumed session may not change to it; a token may lock it).
OTHER_MODEL = "models/" + next(m for m in GEMINI_LIVE_MODELS if m != MODEL_NAME)

#: ``/ws/…v1beta.GenerativeService.BidiGenerateContent`` (API keys).
LIVE_PATH = endpoints.live_path()
#: ``/ws/…v1alpha.GenerativeService.BidiGenerateContentConstrained`` (ephemeral tokens).
CONSTRAINED_PATH = endpoints.live_path(endpoints.TOKEN_API_VERSION, constrained=True)

TIMEOUT = 10.0  # seconds for any one wait: connect, a message, a turn, a close

# Top-level keys both SDKs know; anything else crashes google-genai's receive().
SDK_KEYS = {"setupComplete", "serverContent", "toolCall", "toolCallCancellation", "goAway",
            "sessionResumptionUpdate", "usageMetadata", "voiceActivity",
            "voiceActivityDetectionSignal"}

# The relay tests' keys (tests/relay): the one the relay holds for its upstream, and the
# relay's own key for its clients.
UPSTREAM_KEY = "upstream-secret-9c41e7d2b8"
CLIENT_KEY = "relay-client-key-55aa"

#: A script for the emulator: a get_weather tool call, then an echo.
WEATHER = [
    {"match": r"weather in (?P<city>\w+)",
     "call": {"name": "get_weather", "args": {"city": "{city}"}},
     "say": "It is {result[summary]} in {city}."},
    {"say": "You said: {text}"},
]


# ------------------------------------------------------------------ connecting

def _live_url(server: Any, *, path: str | None = None, query: str = "",
             constrained: bool = False, api_version: str | None = None) -> str:
    """The Live URL of ``server`` (anything with a ``ws_url``, or a ``ws://host:port`` base):
    ``endpoints.live_url`` (v1beta, or v1alpha …Constrained), or the base plus a raw ``path``
    (the odd shapes SDKs send: ``//ws/…``, ``/prefix/ws/…``); then ``?query``."""
    base = server if isinstance(server, str) else server.ws_url
    if path is None:
        url = endpoints.live_url(base, api_version=api_version, constrained=constrained)
    else:
        url = base + path
    return url + (f"?{query}" if query else "")


async def open_live(server: Any, *, path: str | None = None, query: str = "",
                    constrained: bool = False, api_version: str | None = None,
                    key: str | None = None, headers: dict[str, str] | None = None,
                    ssl_context: ssl.SSLContext | None = None,
                    **kw: Any) -> ClientConnection:
    """A WebSocket to the Live endpoint (see :func:`_live_url`); ``key`` is sent as
    ``x-goog-api-key``; other keywords (``origin=``…) go to ``websockets.connect``."""
    if key is not None:
        headers = {**(headers or {}), "x-goog-api-key": key}
    url = _live_url(server, path=path, query=query, constrained=constrained,
                   api_version=api_version)
    kw.setdefault("max_size", None)  # whatever the server sends, like the SDKs
    async with asyncio.timeout(TIMEOUT):
        return await connect(url, additional_headers=headers, ssl=ssl_context,
                             open_timeout=TIMEOUT, close_timeout=2, **kw)


# ------------------------------------------------------------------- messages

def decode(frame: str | bytes) -> dict:
    """A server frame as JSON: an object whose top-level keys the SDKs all know."""
    msg = json.loads(frame)
    assert isinstance(msg, dict), msg
    assert msg and set(msg) <= SDK_KEYS, f"unknown top-level keys in {msg}"
    return msg


async def send(ws: ClientConnection, message: dict, *, binary: bool = False) -> None:
    data = json.dumps(message)
    await ws.send(data.encode() if binary else data)


async def recv(ws: ClientConnection, timeout: float = TIMEOUT) -> dict:
    async with asyncio.timeout(timeout):
        return decode(await ws.recv())


async def setup(ws: ClientConnection, model: str = MODEL, *, transcribe: bool = True,
                **fields: Any) -> list[dict]:
    """Send setup; return setupComplete and (with sessionResumption) the first update.

    Live models answer in AUDIO only (session/models.py), so the reply's text is its
    transcript: unless ``transcribe=False`` (or the test names it), the setup asks for
    ``outputAudioTranscription`` and :func:`reply_text` reads it."""
    if transcribe and "outputAudioTranscription" not in fields \
            and "output_audio_transcription" not in fields:
        fields["outputAudioTranscription"] = {}
    await send(ws, {"setup": {"model": model, **fields}})
    first = await recv(ws)
    assert first == {"setupComplete": {}}, first
    out = [first]
    if "sessionResumption" in fields:
        out.append(await recv(ws))
        assert "sessionResumptionUpdate" in out[-1], out
    return out


async def say(ws: ClientConnection, text: str, *, binary: bool = False) -> None:
    """A complete user turn of text (clientContent)."""
    await send(ws, {"clientContent": {"turns": [{"role": "user", "parts": [{"text": text}]}],
                                      "turnComplete": True}}, binary=binary)


async def until(ws: ClientConnection, key: str, timeout: float = TIMEOUT) -> list[dict]:
    """Messages up to and including the first with top-level ``key`` (or serverContent.key)."""
    out: list[dict] = []
    async with asyncio.timeout(timeout):
        while True:
            msg = decode(await ws.recv())
            out.append(msg)
            if key in msg or msg.get("serverContent", {}).get(key):
                return out


async def until_turn_complete(ws: ClientConnection, timeout: float = TIMEOUT) -> list[dict]:
    """Every message up to and including the next turnComplete."""
    return await until(ws, "turnComplete", timeout)


async def turn(ws: ClientConnection, text: str) -> list[dict]:
    """:func:`say`, then :func:`until_turn_complete`."""
    await say(ws, text)
    return await until_turn_complete(ws)


async def until_handle(ws: ClientConnection, timeout: float = TIMEOUT) -> list[dict]:
    """Messages up to and including the next resumable sessionResumptionUpdate."""
    out: list[dict] = []
    async with asyncio.timeout(timeout):
        while True:
            msg = decode(await ws.recv())
            out.append(msg)
            if msg.get("sessionResumptionUpdate", {}).get("resumable"):
                return out


async def resumable_turn(ws: ClientConnection, text: str) -> list[dict]:
    """A turn, then the new handle that follows its turnComplete."""
    await say(ws, text)
    return await until_handle(ws)


def reply_text(messages: list[dict]) -> str:
    """What the model said: its text parts (TEXT replies) and the transcript of its audio
    (outputTranscription), in order; thought parts are not the reply."""
    out = []
    for m in messages:
        content = m.get("serverContent", {})
        out += [p.get("text", "") for p in content.get("modelTurn", {}).get("parts", [])
                if not p.get("thought")]
        out.append(content.get("outputTranscription", {}).get("text", ""))
    return "".join(out)


def transcript(messages: list[dict]) -> str:
    """The outputTranscription text among ``messages`` (what the model's audio said)."""
    return "".join(m.get("serverContent", {}).get("outputTranscription", {}).get("text", "")
                   for m in messages)


def reply_audio(messages: list[dict]) -> bytes:
    """The model's audio among ``messages`` (PCM16, every inlineData part, decoded)."""
    import base64
    return b"".join(
        base64.b64decode(p["inlineData"]["data"])
        for m in messages
        for p in m.get("serverContent", {}).get("modelTurn", {}).get("parts", [])
        if "inlineData" in p)


def handles(messages: list[dict]) -> list[str]:
    """The new handles of the resumable sessionResumptionUpdates among ``messages``."""
    return [m["sessionResumptionUpdate"]["newHandle"] for m in messages
            if m.get("sessionResumptionUpdate", {}).get("resumable")]


def check_normal_turn(messages: list[dict]) -> None:
    """modelTurn* (and its outputTranscription), then generationComplete, then turnComplete
    (with usageMetadata)."""
    *body, gen, done = messages
    assert gen == {"serverContent": {"generationComplete": True}}, messages
    assert done["serverContent"] == {"turnComplete": True}, messages
    assert done["usageMetadata"]["totalTokenCount"] >= 1
    assert body and all(set(m.get("serverContent", {})) & {"modelTurn", "outputTranscription"}
                        for m in body), messages


async def closed_with(ws: ClientConnection, got: list[dict] | None = None,
                      timeout: float = TIMEOUT) -> tuple[int, str]:
    """Read until the server closes: its close code and reason; the messages read before
    go into ``got``."""
    async with asyncio.timeout(timeout):
        try:
            while True:
                msg = decode(await ws.recv())
                if got is not None:
                    got.append(msg)
        except ConnectionClosed as exc:
            assert exc.rcvd is not None, f"no close frame from the server: {exc!r}"
            return exc.rcvd.code, exc.rcvd.reason


# ------------------------------------------------------------------- processes

def free_port() -> int:
    """A loopback TCP port free right now (for a process that cannot take port 0)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class OnLoopback:
    """``http_url`` and ``ws_url`` of something listening on 127.0.0.1:``port``."""

    port: int

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"


class ServedProcess(OnLoopback):
    """`openlive serve ARGS` as a plain subprocess (for synchronous fixtures), its output in
    ``log_path``; the constructor returns once it logs its Live endpoint (or raises
    AssertionError with the log's tail). ``port``: a fixed port (0: the server picks one,
    read from its log)."""

    def __init__(self, log_path: Any, *args: str, port: int = 0,
                 env: dict[str, str] | None = None, timeout: float = 120.0) -> None:
        import subprocess

        self.log_path, self.port = log_path, port
        with open(log_path, "wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "openlive.cli", "serve", "--port", str(port), *args],
                stdout=out, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})})
        self._wait(timeout)

    def _wait(self, timeout: float) -> None:
        import time

        deadline = time.monotonic() + timeout
        while True:
            m = re.search(r"Live endpoint: ws://[^:/]+:(\d+)/", self.log)
            if m:
                self.port = int(m.group(1))
                return
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                why = (f"exited {self.proc.returncode}" if self.proc.returncode is not None
                       else f"did not start in {timeout:.0f} s")
                raise AssertionError(f"openlive serve {why}:\n{self.log[-4000:]}")
            time.sleep(0.1)

    @property
    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL: the process dies with no goodbye (a crashed node)."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        """SIGTERM (the server's own shutdown), SIGKILL after 20 s."""
        import subprocess

        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class ServeProcess(OnLoopback):
    """`openlive serve --port 0 ARGS` in a subprocess; its URLs come from its log."""

    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        self.args = args
        self.env = env
        self.proc: asyncio.subprocess.Process | None = None
        self.port = 0
        self.log: list[str] = []

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
