"""A raw Live client for the relay tests (the `websockets` library, no SDK)."""

from __future__ import annotations

import asyncio
import json
import ssl
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from openlive.server.run import RunningServer
from openlive.wire.endpoints import live_path

UPSTREAM_KEY = "upstream-secret-9c41e7d2b8"  # the server-held key
CLIENT_KEY = "relay-client-key-55aa"  # openlive's own key for clients of the relay
LIVE_PATH = live_path("v1beta")
CONSTRAINED = live_path("v1alpha", constrained=True)
MODEL = "models/gemini-live-2.5-flash-preview"
TIMEOUT = 10.0



async def open_live(server: RunningServer, *, path: str = LIVE_PATH, query: str = "",
                    key: str | None = CLIENT_KEY,
                    ssl_context: ssl.SSLContext | None = None) -> ClientConnection:
    headers = {"x-goog-api-key": key} if key else None
    url = server.ws_url + path + (f"?{query}" if query else "")
    async with asyncio.timeout(TIMEOUT):
        return await connect(url, additional_headers=headers, ssl=ssl_context,
                             open_timeout=TIMEOUT, close_timeout=2, max_size=None)


async def send(ws: ClientConnection, message: dict, *, binary: bool = False) -> None:
    data = json.dumps(message)
    await ws.send(data.encode() if binary else data)


async def recv(ws: ClientConnection) -> dict:
    async with asyncio.timeout(TIMEOUT):
        return json.loads(await ws.recv())


async def setup(ws: ClientConnection, model: str = MODEL, **fields: Any) -> dict:
    await send(ws, {"setup": {"model": model, **fields}})
    first = await recv(ws)
    assert first == {"setupComplete": {}}, first
    return first


async def say(ws: ClientConnection, text: str) -> None:
    await send(ws, {"clientContent": {"turns": [{"role": "user", "parts": [{"text": text}]}],
                                      "turnComplete": True}})


async def until_turn_complete(ws: ClientConnection) -> list[dict]:
    out: list[dict] = []
    async with asyncio.timeout(TIMEOUT):
        while True:
            msg = json.loads(await ws.recv())
            out.append(msg)
            if msg.get("serverContent", {}).get("turnComplete"):
                return out


def reply_text(messages: list[dict]) -> str:
    return "".join(part.get("text", "")
                   for m in messages
                   for part in m.get("serverContent", {}).get("modelTurn", {}).get("parts", []))


async def closed_with(ws: ClientConnection,
                      got: list[dict] | None = None) -> tuple[int | None, str]:
    """Read until the server closes: (code, reason); messages read go into ``got``."""
    async with asyncio.timeout(TIMEOUT):
        try:
            while True:
                msg = await ws.recv()
                if got is not None:
                    got.append(json.loads(msg))
        except ConnectionClosed as exc:
            rcvd = exc.rcvd
            return (rcvd.code, rcvd.reason) if rcvd else (None, "")
