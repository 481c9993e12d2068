"""Stores across processes: a SQLite file survives a server restart; with Redis a second
`openlive serve` process resumes a session begun on the first and honours its tokens."""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

import aiohttp
import pytest

from live_client import (
    MODEL,
    WEATHER,
    ServeProcess,
    closed_with,
    handles,
    open_live,
    reply_text,
    resumable_turn,
    send,
    setup,
    until,
    until_handle,
)
from openlive.wire import errors

KEY = "store-key"
# These tests are about the stores, not the replies: their sessions use openlive's own
# emulator model, which still answers in TEXT (Google's Live models answer in AUDIO only,
# issue 12), so that `openlive serve` does not load its speech models (the local extra) to
# speak them, which takes seconds a process.
EMULATOR = "models/openlive-emulator"


async def text_setup(ws: Any, **fields: Any) -> list[dict]:
    return await setup(ws, EMULATOR, transcribe=False,
                       generationConfig={"responseModalities": ["TEXT"]}, **fields)


async def mint(server: ServeProcess, body: dict) -> str:
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{server.http_url}/v1alpha/auth_tokens", json=body,
                             headers={"x-goog-api-key": KEY}) as resp:
            assert resp.status == 200, await resp.text()
            return (await resp.json())["name"]


async def test_sqlite_store_survives_a_restart(tmp_path) -> None:
    db = tmp_path / "state" / "openlive.db"
    args = ("--store", f"sqlite:{db}", "--api-key", KEY)
    async with asyncio.timeout(40):
        async with ServeProcess(*args) as first:
            ws = await open_live(first, query=f"key={KEY}")
            await text_setup(ws, sessionResumption={})
            msgs = await resumable_turn(ws, "before the restart")
            [handle] = handles(msgs)
            await ws.close()
            token = await mint(first, {"uses": 2})
        assert first.proc is not None and first.proc.returncode is not None
        assert db.is_file()
        # `openlive token create --store` writes straight into the file, no server needed
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "openlive.cli", "token", "create", "--store", f"sqlite:{db}",
            "--uses", "0", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await proc.communicate()
        assert proc.returncode == 0, err.decode()
        offline_token = out.decode().strip()
        assert offline_token.startswith("auth_tokens/")
        async with ServeProcess(*args) as second:
            assert second.port  # a new process, maybe a new port
            ws = await open_live(second, query=f"key={KEY}")
            await text_setup(ws, sessionResumption={"handle": handle})
            msgs = await resumable_turn(ws, "after the restart")
            assert reply_text(msgs) == "You said: after the restart"
            usage = next(m for m in msgs if "usageMetadata" in m)["usageMetadata"]
            assert usage["promptTokenCount"] > 10  # the earlier turn is in the prompt
            await ws.close()
            ws = await open_live(second, constrained=True, query=f"access_token={token}")
            await text_setup(ws)  # the token minted before the restart still works
            await ws.close()
            for _ in range(2):  # uses 0: unlimited
                ws = await open_live(second, constrained=True,
                                     query=f"access_token={offline_token}")
                await text_setup(ws)
                await ws.close()
            ws = await open_live(second, query=f"key={KEY}")
            await send(ws, {"setup": {"model": MODEL,
                                      "sessionResumption": {"handle": "unknown"}}})
            # Google's exact text, checked literally here only (elsewhere: errors.SESSION_NOT_FOUND)
            assert await closed_with(ws) == (1008, "BidiGenerateContent session not found")


async def test_redis_store_shared_by_two_server_processes(redis_url, tmp_path) -> None:
    script = tmp_path / "weather.yaml"
    script.write_text(json.dumps(WEATHER))  # JSON is YAML
    args = ("--store", redis_url, "--api-key", KEY, "--script", str(script))
    async with asyncio.timeout(40):
        async with ServeProcess(*args) as a, ServeProcess(*args) as b:
            assert a.port != b.port
            ws = await open_live(a, query=f"key={KEY}")
            [handle] = handles(await text_setup(ws, sessionResumption={}))
            await send(ws, {"clientContent": {"turns": [{"role": "user", "parts": [
                {"text": "weather in Oslo"}]}], "turnComplete": True}})
            call = (await until(ws, "toolCall"))[-1]["toolCall"]["functionCalls"][0]
            await ws.close()  # dropped on process a with the tool call pending
            await asyncio.sleep(0.3)
            ws = await open_live(b, query=f"key={KEY}")
            await text_setup(ws, sessionResumption={"handle": handle})
            await send(ws, {"toolResponse": {"functionResponses": [
                {"id": call["id"], "name": call["name"], "response": {"summary": "cold"}}]}})
            msgs = await until_handle(ws)
            assert reply_text(msgs) == "It is cold in Oslo."
            await ws.close()
            token = await mint(a, {"uses": 1})
            ws = await open_live(b, constrained=True, query=f"access_token={token}")
            await text_setup(ws)  # minted on a, spent on b...
            await ws.close()
            ws = await open_live(a, constrained=True, query=f"access_token={token}")
            await send(ws, {"setup": {"model": MODEL}})
            assert await closed_with(ws) == (  # ...so spent for a too
                1008, errors.cut_reason(errors.UNREGISTERED_CALLER))


@pytest.mark.parametrize("umask", [0o000, 0o022])
async def test_sqlite_store_files_are_private_whatever_the_umask(tmp_path, umask) -> None:
    """The database holds resumption handles and tokens in plain text: it was created 0644
    (issue 13). The file and SQLite's -wal/-shm files beside it are 0600, a folder the
    store creates 0700; the umask cannot widen them."""
    import os
    import stat

    from openlive.store.sqlite import SQLiteStore

    db = tmp_path / "new" / "deeper" / "store.db"
    old = os.umask(umask)
    try:
        store = SQLiteStore(db)
        await store.open()
        await store.save_token("tokens/x", {"uses": 1}, 1e12)
        assert await store.load_token("tokens/x", 0)
        files = [p for p in db.parent.iterdir()]
        assert {p.name for p in files} >= {"store.db", "store.db-wal", "store.db-shm"}
        for p in files:
            assert stat.S_IMODE(p.stat().st_mode) == 0o600, p
        assert stat.S_IMODE(db.parent.stat().st_mode) == 0o700
        await store.aclose()
    finally:
        os.umask(old)


async def test_an_existing_readable_sqlite_store_is_kept_and_warned_about(tmp_path,
                                                                          caplog) -> None:
    import os
    import sqlite3
    import stat

    from openlive.store.sqlite import SQLiteStore

    db = tmp_path / "old.db"
    sqlite3.connect(db).close()
    os.chmod(db, 0o644)
    store = SQLiteStore(db)
    await store.open()
    await store.aclose()
    assert stat.S_IMODE(db.stat().st_mode) == 0o644  # the operator's file, the operator's mode
    assert any("can be read by other users" in r.getMessage() for r in caplog.records)
