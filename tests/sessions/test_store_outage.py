"""A store that is stopped or paused (SIGSTOP), with a real redis-server: every store call
ends within its time limit; the client gets Google's 1011 "The service is currently
unavailable." and REST a JSON 503; no handle is sent that is not stored; /healthz and
/readyz say so; the server recovers by itself when the store is back."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest

from live_client import (
    MODEL,
    ServeProcess,
    closed_with,
    handles,
    open_live,
    send,
    setup,
)
from openlive.store import STORE_TIMEOUT, StoreUnavailable, open_store
from openlive.wire import errors


async def get(server: ServeProcess, path: str) -> tuple[int, dict]:
    async with aiohttp.ClientSession() as http:
        async with http.get(server.http_url + path,
                            timeout=aiohttp.ClientTimeout(total=30)) as resp:
            return resp.status, await resp.json()


async def mint(server: ServeProcess) -> tuple[int, dict]:
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{server.http_url}/v1alpha/auth_tokens", json={"uses": 1},
                             timeout=aiohttp.ClientTimeout(total=30)) as resp:
            return resp.status, await resp.json()


async def test_a_paused_store_fails_each_call_within_its_time_limit(own_redis) -> None:
    store = open_store(own_redis.url, timeout=0.5)
    await store.open()
    try:
        await store.save_token("t", {"name": "t"}, time.time() + 60)
        own_redis.pause()
        started = time.monotonic()
        with pytest.raises(StoreUnavailable):
            await store.load_token("t", time.time())
        assert time.monotonic() - started < 10  # redis-py alone waited 10 s and more
        assert store.health()["state"] == "unavailable"
        own_redis.resume()
        for _ in range(100):  # the next call reaches it again (bounded)
            try:
                record = await store.load_token("t", time.time())
                break
            except StoreUnavailable:
                await asyncio.sleep(0.1)
        assert record is not None and store.health() == {"name": "redis", "state": "ok"}
    finally:
        own_redis.resume()
        await store.aclose()


async def test_a_stopped_store_is_reported_and_refused_cleanly_then_recovers(own_redis) -> None:
    async with asyncio.timeout(120):
        async with ServeProcess("--store", own_redis.url) as server:
            assert (await get(server, "/readyz"))[0] == 200
            status, body = await get(server, "/healthz")
            assert status == 200 and body["store"] == {"name": "redis", "state": "ok"}
            ws = await open_live(server)
            [handle] = handles(await setup(ws, sessionResumption={}))
            await ws.close()

            own_redis.stop()
            status, body = await get(server, "/readyz")
            assert status == 503 and body["store"]["state"] == "unavailable"
            status, body = await get(server, "/healthz")  # alive, and says why not ready
            assert status == 200 and body["status"] == "degraded"
            assert body["store"]["state"] == "unavailable"
            # REST: Google's error shape, 503 UNAVAILABLE (was a plain-text 500)
            assert await mint(server) == (503, {"error": {
                "code": 503, "message": errors.UNAVAILABLE, "status": "UNAVAILABLE"}})
            # a new resumable session: no handle that was not stored, then 1011
            ws = await open_live(server)
            await send(ws, {"setup": {"model": MODEL, "sessionResumption": {}}})
            got: list[dict] = []
            assert await closed_with(ws, got, timeout=30) == (1011, errors.UNAVAILABLE)
            assert handles(got) == []
            # a resume: 1011 unavailable, not a traceback
            ws = await open_live(server)
            await send(ws, {"setup": {"model": MODEL, "sessionResumption": {"handle": handle}}})
            assert await closed_with(ws, timeout=30) == (1011, errors.UNAVAILABLE)
            # an ephemeral token cannot be checked: 1011 after the first frame (was 1006)
            ws = await open_live(server, constrained=True, query="access_token=auth_tokens/x")
            await send(ws, {"setup": {"model": MODEL}})
            assert await closed_with(ws, timeout=30) == (1011, errors.UNAVAILABLE)
            # a session that does not need the store goes on
            ws = await open_live(server)
            assert "setupComplete" in (await setup(ws))[0]
            await ws.close()

            own_redis.start()  # same port: the server finds it again by itself
            for _ in range(100):
                if (await get(server, "/readyz"))[0] == 200:
                    break
                await asyncio.sleep(0.2)
            else:
                raise AssertionError("/readyz never recovered")
            assert (await get(server, "/healthz"))[1]["store"]["state"] == "ok"
            assert (await mint(server))[0] == 200
            ws = await open_live(server)
            assert len(handles(await setup(ws, sessionResumption={}))) == 1
            await ws.close()


async def test_a_paused_store_gives_1011_within_the_time_limit(own_redis) -> None:
    async with asyncio.timeout(120):
        async with ServeProcess("--store", own_redis.url) as server:
            own_redis.pause()
            started = time.monotonic()
            ws = await open_live(server)
            await send(ws, {"setup": {"model": MODEL, "sessionResumption": {}}})
            got: list[dict] = []
            assert await closed_with(ws, got, timeout=30) == (1011, errors.UNAVAILABLE)
            assert handles(got) == []
            assert time.monotonic() - started < 10 * STORE_TIMEOUT  # bounded, not forever
            assert (await get(server, "/readyz"))[0] == 503
            own_redis.resume()
            for _ in range(100):
                if (await get(server, "/readyz"))[0] == 200:
                    break
                await asyncio.sleep(0.2)
            else:
                raise AssertionError("/readyz never recovered")
            ws = await open_live(server)
            assert len(handles(await setup(ws, sessionResumption={}))) == 1
            await ws.close()


async def test_the_relay_and_replay_admission_with_the_store_down(own_redis) -> None:
    """The relay and the replay spend a token use through websocket_edge.admit_first_frame:
    with the store down that is the same 1011 unavailable close, not a traceback."""
    import json

    from openlive.session.admission import Gate
    from openlive.websocket_edge import admit_first_frame
    from openlive.wire.errors import LiveError

    store = open_store(own_redis.url, timeout=0.5)
    await store.open()
    try:
        own_redis.stop()
        gate = Gate(token={"name": "auth_tokens/t", "uses": 1, "setup": None,
                           "field_mask": None})
        with pytest.raises(LiveError) as info:
            await admit_first_frame(gate, json.dumps({"setup": {"model": MODEL}}), store)
        assert (info.value.code, info.value.reason) == (1011, errors.UNAVAILABLE)
    finally:
        await store.aclose()


async def test_the_consoles_token_with_the_store_down_is_503(own_redis) -> None:
    """POST /console/token (a loopback page of a keyed server) mints a token like
    /auth_tokens: with the store down, the same JSON 503 (was a plain-text 500)."""
    async with asyncio.timeout(60):
        async with ServeProcess("--store", own_redis.url, "--api-key", "k") as server:
            own_redis.stop()
            async with aiohttp.ClientSession() as http:
                async with http.post(f"{server.http_url}/console/token",
                                     headers={"Origin": server.http_url}) as resp:
                    assert resp.status == 503, await resp.text()
                    body = await resp.json()
            assert body["error"]["status"] == "UNAVAILABLE"
