"""--engine replay from hand-written recordings: replayed frames are ASCII as Google's are,
and messages the recorded server sent together go out together (a client that closes on
``turnComplete`` still gets what was sent with it)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from live_client import MODEL
from openlive.engines.replay import ReplayEngine
from openlive.testing import start_live_server
from openlive.wire.endpoints import auth_tokens_path, live_url
from openlive.wire.errors import UNREGISTERED_CALLER

SETUP = {"setup": {"model": MODEL,
                   "generationConfig": {"responseModalities": ["TEXT"]},
                   "sessionResumption": {}}}
HELLO = {"clientContent": {"turns": [{"role": "user", "parts": [{"text": "hello"}]}],
                           "turnComplete": True}}
REPLY = "Grüße aus Zürich — 😀 ça va ?"
KEY = "replay-test-key"
UPDATE = {"sessionResumptionUpdate": {"newHandle": "sha256:0123456789ab", "resumable": True}}


def write_recording(directory: Path, lines: list[tuple[float, str, dict]],
                    close: int = 1000) -> None:
    """A recording as ``serve --record`` writes it: open, (t, direction, message)…, close."""
    records = [{"t": 0.0, "direction": "open", "session": "x", "api_version": "v1beta"}]
    records += [{"t": t, "direction": d, "message": m} for t, d, m in lines]
    records.append({"t": lines[-1][0] + 0.01, "direction": "close", "code": close})
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "20260101T000000.000Z-s1.jsonl").write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")


async def ask(url: str) -> list[str | bytes]:
    """Setup, one question, every frame up to turnComplete; then close at once (as the
    google-genai SDK does when an app leaves its ``async with``)."""
    frames: list[str | bytes] = []
    async with connect(url) as ws:
        await ws.send(json.dumps(SETUP))
        frames.append(await ws.recv())
        await ws.send(json.dumps(HELLO))
        while True:
            frames.append(await ws.recv())
            if json.loads(frames[-1]).get("serverContent", {}).get("turnComplete"):
                break
    return frames


@pytest.mark.parametrize("binary_frames", [True, False])
def test_a_replayed_non_ascii_reply_is_sent_ascii_escaped(tmp_path, binary_frames):
    write_recording(tmp_path, [
        (0.001, "client", SETUP), (0.002, "server", {"setupComplete": {}}),
        (0.010, "client", HELLO),
        (0.011, "server", {"serverContent": {"modelTurn": {"parts": [{"text": REPLY}]}}}),
        (0.012, "server", {"serverContent": {"turnComplete": True}})])
    server = start_live_server(engine=ReplayEngine(tmp_path, speed=0), tls=False,
                               binary_frames=binary_frames)
    try:
        frames = asyncio.run(asyncio.wait_for(ask(server.live_url), 10))
    finally:
        server.stop()
    for frame in frames:  # Google's quickstart decodes every frame as ASCII
        raw = frame if isinstance(frame, bytes) else frame.encode("utf-8")
        assert isinstance(frame, bytes) == binary_frames
        assert raw.isascii(), raw
    texts = [p["text"] for f in frames
             for p in json.loads(f).get("serverContent", {}).get("modelTurn", {}).get("parts", [])]
    assert texts == [REPLY]


def test_what_was_sent_with_turn_complete_reaches_a_client_that_closes_on_it(tmp_path):
    """The recorded update came 4 ms after turnComplete (two frames from Google, or a
    recording made before the recorder stamped a burst with one time): the replay sends it
    with turnComplete, before the client's close can end the session."""
    write_recording(tmp_path, [
        (0.001, "client", SETUP), (0.002, "server", {"setupComplete": {}}),
        (0.010, "client", HELLO),
        (0.050, "server", {"serverContent": {"modelTurn": {"parts": [{"text": "hi"}]}}}),
        (0.060, "server", {"serverContent": {"turnComplete": True}}),
        (0.064, "server", UPDATE)])
    server = start_live_server(engine=ReplayEngine(tmp_path, speed=1), tls=False)
    try:
        for _ in range(5):
            asyncio.run(asyncio.wait_for(ask(server.live_url), 10))
        sessions = server.wait_closed()
    finally:
        server.stop()
    for session in sessions:
        assert session.close_code == 1000
        assert [next(iter(m)) for m in session.server] == [
            "setupComplete", "serverContent", "serverContent", "sessionResumptionUpdate"]


async def _mint_token(server, body: dict) -> str:
    async with aiohttp.ClientSession() as http, http.post(
            server.url + auth_tokens_path(), json=body,
            headers={"x-goog-api-key": KEY}) as resp:
        assert resp.status == 200, await resp.text()
        return (await resp.json())["name"]


async def _token_session(server, token: str) -> tuple[int | None, str]:
    """Setup and one question with an ephemeral token: the close code and reason (1000
    after the whole recorded reply)."""
    url = live_url(server.url, constrained=True) + "?access_token=" + token
    async with connect(url) as ws:
        await ws.send(json.dumps(SETUP))
        try:
            await ws.recv()
            await ws.send(json.dumps(HELLO))
            while not json.loads(await ws.recv()).get("serverContent", {}).get("turnComplete"):
                pass
        except ConnectionClosed:
            pass
        else:
            await ws.close()
    return ws.close_code, ws.close_reason or ""


def test_a_replay_spends_ephemeral_token_uses_and_keeps_their_expiry(tmp_path):
    """The replay admits by the session core's rules (issue 11, bug 1: a one-use token was
    reusable under --engine replay, and newSessionExpireTime was not enforced)."""
    write_recording(tmp_path, [
        (0.001, "client", SETUP), (0.002, "server", {"setupComplete": {}}),
        (0.010, "client", HELLO),
        (0.011, "server", {"serverContent": {"modelTurn": {"parts": [{"text": "hi"}]}}}),
        (0.012, "server", {"serverContent": {"turnComplete": True}})])
    server = start_live_server(engine=ReplayEngine(tmp_path, speed=0), tls=False,
                               api_keys=[KEY])

    async def go() -> None:
        once = await _mint_token(server, {"uses": 1})
        assert await _token_session(server, once) == (1000, "")
        assert await _token_session(server, once) == (1008, UNREGISTERED_CALLER[:123])
        soon = datetime.now(UTC) + timedelta(seconds=1)
        late = await _mint_token(server, {"uses": 5, "newSessionExpireTime":
                                          soon.isoformat().replace("+00:00", "Z")})
        await asyncio.sleep(max(0.0, (soon - datetime.now(UTC)).total_seconds()) + 0.05)
        assert await _token_session(server, late) == (1008, UNREGISTERED_CALLER[:123])

    try:
        asyncio.run(asyncio.wait_for(go(), 20))
    finally:
        server.stop()
