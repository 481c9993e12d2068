"""Store leases ("this session is connected"), the same on every store: one holder at a
time, renewed by its holder, released only by it, free again once expired. A real
redis-server and a real SQLite file."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from openlive.store import open_store
from openlive.store.base import Store


@pytest.fixture(params=["memory", "sqlite", "redis"])
async def store(request: pytest.FixtureRequest, tmp_path) -> AsyncIterator[Store]:
    if request.param == "memory":
        spec = "memory"
    elif request.param == "sqlite":
        spec = f"sqlite:{tmp_path / 'leases.db'}"
    else:
        spec = request.getfixturevalue("redis_url")
    opened = open_store(spec)
    await opened.open()
    try:
        yield opened
    finally:
        await opened.aclose()


async def test_one_holder_at_a_time(store: Store) -> None:
    key = f"s-{id(store)}"
    assert await store.claim_lease(key, "a", 30)
    assert not await store.claim_lease(key, "b", 30)  # a's connection is still open
    assert await store.claim_lease(key, "a", 30)  # a renews it
    await store.release_lease(key, "b")  # not b's to release
    assert not await store.claim_lease(key, "b", 30)
    await store.release_lease(key, "a")
    assert await store.claim_lease(key, "b", 30)  # a closed: b resumes
    await store.release_lease(key, "b")


async def test_a_lease_expires_without_renewal(store: Store) -> None:
    key = f"crashed-{id(store)}"
    assert await store.claim_lease(key, "crashed", 0.2)
    assert not await store.claim_lease(key, "next", 30)
    await asyncio.sleep(0.4)  # the crashed process never renews nor releases it
    assert await store.claim_lease(key, "next", 30)
    await store.release_lease(key, "next")


# ----------------------------------------------------------- across server processes

async def test_resuming_a_session_still_connected_on_another_node_is_refused(redis_url) -> None:
    """Two `openlive serve` processes share Redis: a resume on node b while the session's
    connection on node a is still open is refused with Google's 1011 (spec/protocol.md §5;
    github.com/aicc2025/sip-to-ai pull 14); once a's connection closes, it resumes."""
    from websockets.exceptions import ConnectionClosed

    from live_client import (
        MODEL,
        ServeProcess,
        closed_with,
        decode,
        handles,
        open_live,
        send,
        setup,
    )
    from openlive.wire import errors

    args = ("--store", redis_url)
    async with asyncio.timeout(60):
        async with ServeProcess(*args) as a, ServeProcess(*args) as b:
            first = await open_live(a)
            [handle] = handles(await setup(first, sessionResumption={}))
            second = await open_live(b)
            await send(second, {"setup": {"model": MODEL,
                                          "sessionResumption": {"handle": handle}}})
            got: list[dict] = []
            assert await closed_with(second, got) == (1011, errors.INTERNAL)
            assert got == []  # refused before setupComplete: nothing of the session was sent
            assert not any("resumed a stored session" in line for line in b.log)  # at admission
            # the refused resume took nothing from the first connection: it still works
            await send(first, {"realtimeInput": {"audioStreamEnd": True}})
            await first.close()
            for _ in range(100):  # a's teardown releases the lease (bounded wait)
                third = await open_live(b)
                await send(third, {"setup": {"model": MODEL,
                                             "sessionResumption": {"handle": handle}}})
                try:
                    if "setupComplete" in decode(await third.recv()):
                        break
                except ConnectionClosed:
                    pass
                await asyncio.sleep(0.1)
            else:
                raise AssertionError("the session never became resumable again")
            await third.close()


async def test_the_memory_store_drops_expired_records_unasked() -> None:
    """A closed session's snapshot lives as long as its handle, not until someone looks it
    up or 256 more saves come (issue 13: each one stayed 2 h and more)."""
    import time

    from openlive.store.memory import MemoryStore

    store = MemoryStore()
    now = time.time()
    await store.save_session("old", {"v": 1}, now - 1)  # its handle has expired
    await store.save_token("auth_tokens/old", {"name": "old"}, now - 1)
    await store.save_session("kept", {"v": 1}, now - 1)
    await store.save_session("kept", {"v": 2}, now + 3600)  # saved again: a newer expiry
    await store.save_session("new", {"v": 1}, now + 3600)
    assert set(store._sessions) == {"kept", "new"} and store._tokens == {}
    assert await store.load_session("kept", time.time()) == {"v": 2}


async def test_closing_then_resuming_at_once_on_another_node_is_not_refused(tmp_path) -> None:
    """A client sees its close before the server has saved the session and let go of its
    lease; a resume sent at once (as SDK reconnect loops do) waits for it instead of being
    refused (7 of 30 were, before the claim waited). Two processes on one SQLite file."""
    from live_client import MODEL, ServeProcess, decode, open_live, send

    args = ("--store", f"sqlite:{tmp_path / 'shared.db'}")
    async with asyncio.timeout(120):
        async with ServeProcess(*args) as a, ServeProcess(*args) as b:
            handle = None
            for i in range(12):
                ws = await open_live((a, b)[i % 2])
                resumption = {"handle": handle} if handle else {}
                await send(ws, {"setup": {"model": MODEL, "sessionResumption": resumption}})
                while True:  # setupComplete, then the session's new handle
                    update = decode(await ws.recv()).get("sessionResumptionUpdate", {})
                    if update.get("newHandle"):
                        handle = update["newHandle"]
                        break
                await ws.close()  # and resume on the other process at once
