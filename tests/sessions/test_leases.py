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
