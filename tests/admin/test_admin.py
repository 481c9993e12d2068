"""The runtime admin API (/__openlive/script, /__openlive/sessions) on a real server on
loopback: a raw WebSocket client, HTTP calls with aiohttp, and the docs' JS example run
with Node's test runner and the official @google/genai."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import shutil
import socket
from pathlib import Path

import aiohttp
import pytest
from websockets.asyncio.client import connect

from openlive.server.admin import KEY_HEADER
from openlive.server.client_address import parse_address, resolve
from openlive.testing import start_live_server

MODEL = "models/openlive-emulator"  # TEXT replies: the API's mechanics
DOCS = Path(__file__).parents[2] / "docs" / "testing.md"
JS_MODULES = Path(__file__).parents[1] / "interop" / "js" / "node_modules"


async def ask(url: str, text: str) -> str:
    reply = []
    async with connect(url) as ws:
        await ws.send(json.dumps({"setup": {"model": MODEL, "generationConfig": {
            "responseModalities": ["TEXT"]}}}))
        await ws.recv()
        await ws.send(json.dumps({"realtimeInput": {"text": text}}))
        while True:
            content = json.loads(await ws.recv()).get("serverContent", {})
            reply += [p.get("text", "") for p in content.get("modelTurn", {}).get("parts", [])]
            if content.get("turnComplete"):
                return "".join(reply)


@pytest.fixture
def server():
    running = start_live_server(tls=False, voice=False)
    try:
        yield running
    finally:
        running.stop()


async def call(method: str, url: str, body: str | None = None, **headers: str):
    async with aiohttp.ClientSession() as http, http.request(
            method, url, data=body, headers=headers) as response:
        return response.status, await response.json()


async def test_replace_the_script_read_and_forget_sessions(server) -> None:
    admin = server.url + "/__openlive"
    async with asyncio.timeout(30):
        assert await ask(server.live_url, "hi") == "You said: hi"  # the default script
        status, body = await call("POST", admin + "/script",
                                  json.dumps([{"match": "hi", "say": "scripted"}]))
        assert (status, body) == (200, {"rules": 1})
        assert await ask(server.live_url, "hi") == "scripted"
        status, body = await call("POST", admin + "/script", "- say: from YAML\n")
        assert status == 200 and await ask(server.live_url, "x") == "from YAML"

        status, body = await call("GET", admin + "/sessions")
        assert status == 200
        sessions = body["sessions"]
        assert [s["client"][1] for s in sessions] == [
            {"realtimeInput": {"text": t}} for t in ("hi", "hi", "x")]
        assert sessions[1]["client"][0] == {"setup": {
            "model": MODEL, "generationConfig": {"responseModalities": ["TEXT"]}}}
        assert sessions[1]["server"][0] == {"setupComplete": {}}
        assert {"serverContent": {"modelTurn": {"role": "model", "parts": [
            {"text": "scripted"}]}}} in sessions[1]["server"]
        assert all(s["closed"] and s["closeCode"] == 1000 for s in sessions)

        assert await call("DELETE", admin + "/sessions") == (200, {"sessions": []})
        assert (await call("GET", admin + "/sessions"))[1] == {"sessions": []}
        assert (await call("DELETE", admin + "/script"))[0] == 200
        assert await ask(server.live_url, "hi") == "You said: hi"  # the one it started with


@pytest.mark.parametrize(("body", "message"), [
    ("[]", "expected a non-empty list of rules"),
    ("[{sya: x}]", "sya"),
    ("{not: [valid", "not YAML or JSON"),
])
async def test_a_bad_script_is_refused_and_the_old_one_kept(server, body, message) -> None:
    async with asyncio.timeout(30):
        await call("POST", server.url + "/__openlive/script", "- say: kept\n")
        status, answer = await call("POST", server.url + "/__openlive/script", body)
        assert status == 400 and answer["error"]["status"] == "INVALID_ARGUMENT"
        assert message in answer["error"]["message"]
        assert await ask(server.live_url, "hi") == "kept"


def non_loopback_address() -> str | None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))  # no packet is sent: only the route is looked up
            address = s.getsockname()[0]
        except OSError:
            return None
    parsed = parse_address(address)
    return None if parsed is None or parsed.is_loopback else address


async def test_loopback_only_without_a_key() -> None:
    address = non_loopback_address()
    if address is None:
        pytest.skip("this machine has no address but loopback")
    running = start_live_server(tls=False, voice=False, host="0.0.0.0")
    try:
        async with asyncio.timeout(30):
            outside = f"http://{address}:{running.port}/__openlive/sessions"
            status, body = await call("GET", outside)
            assert status == 403 and "not from loopback" in body["error"]["message"]
            assert (await call("GET", f"http://127.0.0.1:{running.port}/__openlive/sessions"))[0] \
                == 200
    finally:
        running.stop()
    def loopback(peer: str) -> bool:
        return resolve(peer, (), ()).is_loopback

    assert loopback("::1") and loopback("127.0.0.2") and not loopback("192.0.2.2")


async def test_with_a_key_only_the_key_opens_it_and_it_is_never_logged(monkeypatch,
                                                                      caplog) -> None:
    key = "admin-key-that-must-not-be-logged-77"
    monkeypatch.setenv("OPENLIVE_ADMIN_KEY", key)
    caplog.set_level(logging.DEBUG)
    running = start_live_server(tls=False, voice=False)
    try:
        async with asyncio.timeout(30):
            url = running.url + "/__openlive/script"
            for headers in ({}, {KEY_HEADER: "wrong"}, {KEY_HEADER: key[:-1]}):
                status, body = await call("POST", url, "- say: x\n", **headers)
                assert status == 403 and "x-openlive-admin-key" in body["error"]["message"]
            status, _ = await call("POST", url, "- say: x\n", **{KEY_HEADER: key})
            assert status == 200
    finally:
        running.stop()
    assert key not in caplog.text


async def test_only_the_emulator_has_it(tmp_path) -> None:
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "a.jsonl").write_text(
        '{"t":0,"direction":"open"}\n{"t":0,"direction":"client","message":{"setup":'
        '{"model":"models/openlive-emulator"}}}\n')
    running = start_live_server(engine="replay", recordings=tmp_path / "r", tls=False)
    try:
        async with asyncio.timeout(30):
            assert (await call("GET", running.url + "/__openlive/sessions"))[0] == 404
    finally:
        running.stop()


def doc_js_example() -> tuple[str, str]:
    found = re.search(r"```js\n// (\S+\.mjs)\n(.*?)```", DOCS.read_text(), re.S)
    assert found, "docs/testing.md has a ```js block starting with // NAME.mjs"
    return found.group(1), found.group(2)


async def test_the_documented_js_example_passes(tmp_path) -> None:
    node = shutil.which("node")
    if node is None or not (JS_MODULES / "@google" / "genai").is_dir():
        pytest.fail("needs node and @google/genai in tests/interop/js (make test runs npm ci)",
                    pytrace=False)
    name, text = doc_js_example()
    (tmp_path / "node_modules").symlink_to(JS_MODULES)
    (tmp_path / name).write_text(text)
    running = start_live_server(tls=False, voice=False)  # as `openlive serve` on loopback
    try:
        proc = await asyncio.create_subprocess_exec(
            node, "--test", name, cwd=tmp_path,
            env={**os.environ, "OPENLIVE_URL": running.url},
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        async with asyncio.timeout(120):
            out, _ = await proc.communicate()
        report = out.decode()
        assert proc.returncode == 0, report
        assert re.search(r"^# pass 2$", report, re.M), report
        assert len(running.sessions) == 2
    finally:
        running.stop()


def test_the_journal_is_bounded() -> None:
    """The journal kept every frame of every session: a soak run grew the server by
    118 MiB a minute (bench/README.md). Now: the last N sessions, at most M bytes."""
    from openlive.server.admin import Journal

    journal = Journal(limit=3, max_bytes=100)
    for n in range(1, 5):
        journal(f"[session {n}]", "open", {})
        journal(f"[session {n}]", "client", b"x" * 20)
        journal(f"[session {n}]", "close", {"code": 1000})
    assert [s["id"] for s in journal.report()] == ["session 2", "session 3", "session 4"]
    assert journal.bytes == 60
    journal("[session 5]", "open", {})
    journal("[session 5]", "server", b"y" * 70)  # over the bytes: the oldest go first
    assert [s["id"] for s in journal.report()] == ["session 4", "session 5"]
    assert journal.bytes == 90
    journal("[session 5]", "server", b"z" * 90)  # alone over the budget: not kept
    [four, five] = journal.report()
    assert journal.bytes == 90 and five["truncated"] is True and "truncated" not in four
    assert five["server"] == [{"invalid": "y" * 70}] and not any(k[0] == "_" for k in five)
    journal("[session 2]", "client", b"late")  # a forgotten session's frames are ignored
    assert journal.bytes == 90
