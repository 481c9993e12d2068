"""The pure parts of multi-session serving that are not the session core (those are in
tests/session/): the per-key limiter, and the store contract (memory, SQLite file, Redis)."""

from __future__ import annotations

import asyncio

import pytest

from openlive.server.limits import KeyLimiter
from openlive.store import open_store


def test_key_limiter() -> None:
    lim = KeyLimiter(max_sessions=2, max_starts_per_minute=3)
    assert lim.acquire("a", 0) is None and lim.acquire("a", 1) is None
    refused = lim.acquire("a", 2)
    assert refused is not None and refused.code == 1011 and "exhausted" in refused.reason
    assert lim.acquire("b", 2) is None  # keys are counted apart
    lim.release("a")
    assert lim.acquire("a", 3) is None
    lim.release("a")
    assert lim.acquire("a", 4).code == 1011  # 4th start within a minute
    lim.release("a")
    assert lim.acquire("a", 61) is None  # the first start left the window


# ---------------------------------------------------------------------- stores

@pytest.fixture(params=["memory", "sqlite", "redis"])
def store_spec(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:{tmp_path / 'openlive.db'}"
    if request.param == "redis":
        return request.getfixturevalue("redis_url")
    return "memory"


async def test_store_contract(store_spec: str) -> None:
    import time
    async with asyncio.timeout(10):
        store = open_store(store_spec)
        await store.open()
        try:
            now = time.time()
            await store.save_session("h1", {"a": [1, 2]}, now + 60)
            await store.save_session("old", {"a": 0}, now + 0.05)
            assert await store.load_session("h1", now) == {"a": [1, 2]}
            assert await store.load_session("missing", now) is None
            await asyncio.sleep(0.1)
            assert await store.load_session("old", time.time()) is None
            await store.delete_session("h1")
            assert await store.load_session("h1", now) is None
            await store.save_token("auth_tokens/t", {"uses": 2}, now + 60)
            assert (await store.load_token("auth_tokens/t", now))["used"] == 0
            assert await store.spend_token("auth_tokens/t", 2)
            assert await store.spend_token("auth_tokens/t", 2)
            assert not await store.spend_token("auth_tokens/t", 2)
            assert (await store.load_token("auth_tokens/t", now))["used"] == 2
            assert not await store.spend_token("auth_tokens/none", 0)
            await store.save_token("auth_tokens/u", {"uses": 0}, now + 60)
            for _ in range(5):
                assert await store.spend_token("auth_tokens/u", 0)
        finally:
            await store.aclose()
