"""Redis: every server process behind a load balancer resumes every session and honours
every token. Uses redis-py's asyncio client; records are JSON strings with a TTL."""

from __future__ import annotations

import json
import math

from .base import Record, Store, StoreError

PREFIX = "openlive:"


def _ttl_ms(expires_at: float, now: float) -> int:
    return max(1, math.ceil((expires_at - now) * 1000))


class RedisStore(Store):
    name = "redis"

    def __init__(self, url: str, prefix: str = PREFIX, timeout: float = 2.0) -> None:
        self.url = url
        self.prefix = prefix
        self.timeout = timeout  # socket timeouts; the guard (guard.py) limits whole calls
        self._redis = None

    async def open(self) -> None:
        try:
            import redis.asyncio as aioredis
        except ImportError:
            raise StoreError("the redis store needs the `redis` package: "
                             "pip install 'openlive[redis]'") from None
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff

        # one immediate retry (a pooled connection the server closed) instead of redis-py's
        # default three with backoff, which held each call of a paused Redis for 10 s
        client = aioredis.from_url(
            self.url, decode_responses=True, socket_timeout=self.timeout,
            socket_connect_timeout=self.timeout, retry=Retry(NoBackoff(), 1))
        try:
            await client.ping()
        except Exception as exc:
            await client.aclose()
            raise StoreError(f"cannot reach Redis at {self.url}: {exc}") from None
        self._redis = client

    async def aclose(self) -> None:
        if self._redis is not None:
            client, self._redis = self._redis, None
            await client.aclose()

    @property
    def r(self):
        if self._redis is None:
            raise StoreError("redis store used before open()")
        return self._redis

    @staticmethod
    def _now() -> float:
        import time
        return time.time()  # only to turn an absolute expiry into a Redis TTL

    async def save_session(self, handle: str, record: Record, expires_at: float) -> None:
        await self.r.set(self.prefix + "session:" + handle, json.dumps(record),
                         px=_ttl_ms(expires_at, self._now()))

    async def load_session(self, handle: str, now: float) -> Record | None:
        raw = await self.r.get(self.prefix + "session:" + handle)
        if raw is None:
            return None
        record = json.loads(raw)
        return record

    async def delete_session(self, handle: str) -> None:
        await self.r.delete(self.prefix + "session:" + handle)

    async def save_token(self, name: str, record: Record, expires_at: float) -> None:
        ttl = _ttl_ms(expires_at, self._now())
        pipe = self.r.pipeline(transaction=True)
        pipe.set(self.prefix + "token:" + name, json.dumps(record), px=ttl)
        pipe.set(self.prefix + "token-used:" + name, 0, px=ttl)
        await pipe.execute()

    async def load_token(self, name: str, now: float) -> Record | None:
        raw, used = await self.r.mget(self.prefix + "token:" + name,
                                      self.prefix + "token-used:" + name)
        if raw is None:
            return None
        return {**json.loads(raw), "used": int(used or 0)}

    # INCR only if the token exists and has uses left (0 = unlimited), in one step.
    _SPEND = """
    if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
    local used = tonumber(redis.call('GET', KEYS[2]) or '0')
    local uses = tonumber(ARGV[1])
    if uses > 0 and used >= uses then return 0 end
    redis.call('INCR', KEYS[2])
    return 1
    """

    async def spend_token(self, name: str, uses: int) -> bool:
        ok = await self.r.eval(self._SPEND, 2, self.prefix + "token:" + name,
                               self.prefix + "token-used:" + name, uses)
        return bool(ok)

    # SET the lease if it is free or already this holder's (renewing its TTL), in one step
    _CLAIM = """
    local held = redis.call('GET', KEYS[1])
    if held and held ~= ARGV[1] then return 0 end
    redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
    return 1
    """
    _RELEASE = """
    if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
    return 1
    """

    async def claim_lease(self, key: str, holder: str, ttl: float) -> bool:
        ok = await self.r.eval(self._CLAIM, 1, self.prefix + "lease:" + key, holder,
                               max(1, math.ceil(ttl * 1000)))
        return bool(ok)

    async def release_lease(self, key: str, holder: str) -> None:
        await self.r.eval(self._RELEASE, 1, self.prefix + "lease:" + key, holder)

    async def ping(self) -> None:
        await self.r.ping()
