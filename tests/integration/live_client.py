"""A raw Live client for the integration tests (the `websockets` library, no SDK)."""

from __future__ import annotations

import asyncio
import json
import ssl
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from openlive.wire.endpoints import live_path

LIVE_PATH = live_path("v1beta")
MODEL = "models/gemini-2.5-flash-native-audio-preview-12-2025"
TIMEOUT = 5.0

# Top-level keys both SDKs know; anything else crashes google-genai's receive().
SDK_KEYS = {"setupComplete", "serverContent", "toolCall", "toolCallCancellation", "goAway",
            "sessionResumptionUpdate", "usageMetadata", "voiceActivity",
            "voiceActivityDetectionSignal"}

SETUP_ORDER = "setup must be the first message and only the first"
INVALID_ARGUMENT = "Request contains an invalid argument."
UNEXPECTED_TOKEN = "Invalid JSON payload received. Unexpected token."


def live_url(server: Any, path: str = LIVE_PATH, query: str = "") -> str:
    return server.ws_url + path + (f"?{query}" if query else "")


async def open_live(server: Any, *, path: str = LIVE_PATH, query: str = "",
                    headers: dict[str, str] | None = None,
                    ssl_context: ssl.SSLContext | None = None) -> ClientConnection:
    async with asyncio.timeout(TIMEOUT):
        return await connect(live_url(server, path, query), additional_headers=headers,
                             ssl=ssl_context, open_timeout=TIMEOUT, close_timeout=2)


def decode(frame: str | bytes) -> dict:
    msg = json.loads(frame)
    assert isinstance(msg, dict), msg
    assert msg and set(msg) <= SDK_KEYS, f"unknown top-level keys in {msg}"
    return msg


async def recv(ws: ClientConnection, timeout: float = TIMEOUT) -> dict:
    async with asyncio.timeout(timeout):
        return decode(await ws.recv())


async def send(ws: ClientConnection, message: dict, *, binary: bool = False) -> None:
    data = json.dumps(message)
    await ws.send(data.encode() if binary else data)


async def setup(ws: ClientConnection, model: str = MODEL, **fields: Any) -> dict:
    await send(ws, {"setup": {"model": model, **fields}})
    first = await recv(ws)
    assert first == {"setupComplete": {}}, first
    return first


async def say(ws: ClientConnection, text: str, *, binary: bool = False) -> None:
    await send(ws, {"clientContent": {"turns": [{"role": "user", "parts": [{"text": text}]}],
                                      "turnComplete": True}}, binary=binary)


async def until_turn_complete(ws: ClientConnection, timeout: float = TIMEOUT) -> list[dict]:
    """Every message up to and including the next turnComplete."""
    out: list[dict] = []
    async with asyncio.timeout(timeout):
        while True:
            msg = decode(await ws.recv())
            out.append(msg)
            if msg.get("serverContent", {}).get("turnComplete"):
                return out


def reply_text(messages: list[dict]) -> str:
    return "".join(
        p.get("text", "")
        for m in messages
        for p in m.get("serverContent", {}).get("modelTurn", {}).get("parts", []))


def check_normal_turn(messages: list[dict]) -> None:
    """modelTurn*, then generationComplete, then turnComplete (with usageMetadata)."""
    *body, gen, done = messages
    assert gen == {"serverContent": {"generationComplete": True}}, messages
    assert done["serverContent"] == {"turnComplete": True}, messages
    assert done["usageMetadata"]["totalTokenCount"] >= 1
    assert body and all("modelTurn" in m.get("serverContent", {}) for m in body), messages


async def closed_with(ws: ClientConnection, timeout: float = TIMEOUT) -> tuple[int, str]:
    """Read until the server closes; its close code and reason."""
    async with asyncio.timeout(timeout):
        try:
            while True:
                decode(await ws.recv())
        except ConnectionClosed as exc:
            assert exc.rcvd is not None, f"no close frame from the server: {exc!r}"
            return exc.rcvd.code, exc.rcvd.reason
