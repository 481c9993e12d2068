"""Every store call with a time limit, and the store's health as the server sees it.

A store that is stopped fails at once; one that is paused (``SIGSTOP``, a network
partition) would otherwise hold a session for as long as its client library retries (10 s
and more with redis-py's defaults). :class:`GuardedStore` wraps any store: each call ends
within ``timeout`` seconds (openlive's own limit, :data:`STORE_TIMEOUT`; Google documents
nothing of the kind) and any failure becomes :class:`StoreUnavailable`, which the session
core turns into Google's 1011 "The service is currently unavailable." and REST into a JSON
503 (``session/resumption.py``, ``server/auth_tokens.py``). Nothing is retried or cached
here: the next call tries the store again, so the server recovers by itself when the store
returns. :meth:`GuardedStore.health` is the last thing seen (``/healthz``);
:meth:`GuardedStore.ping` asks the store now (``/readyz``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from typing import Any, TypeVar

from .base import Record, Store, StoreError

#: Seconds a store call may take before it counts as failed (openlive's own).
STORE_TIMEOUT = 2.0

T = TypeVar("T")


class StoreUnavailable(StoreError):
    """The store did not answer in time, or failed (the cause's type is in the message,
    never a record, key or handle)."""


class GuardedStore(Store):
    def __init__(self, inner: Store, timeout: float = STORE_TIMEOUT) -> None:
        self.inner = inner
        self.timeout = timeout
        self.name = inner.name
        self.ok = True
        self.error: str | None = None  # what the last failure was, while it lasts
        self.since = time.time()  # when ``ok`` last changed
        self._probe: asyncio.Task[None] | None = None
        self._probed = 0.0  # monotonic time of the last probe_soon() ping

    def health(self) -> dict[str, Any]:
        """The store's state as last seen: ``{"name", "state": "ok" | "unavailable"}``,
        with the failure's kind and since when while it is unavailable."""
        out: dict[str, Any] = {"name": self.name, "state": "ok" if self.ok else "unavailable"}
        if not self.ok:
            out["error"] = self.error
            out["since"] = round(self.since, 3)
        return out

    def probe_soon(self, every: float = 1.0) -> None:
        """Ping the store in the background (at most once per ``every`` s, one at a time),
        so that :meth:`health` follows the store even while nothing else uses it."""
        now = time.monotonic()
        if (self._probe is not None and not self._probe.done()) or now - self._probed < every:
            return
        self._probed = now

        async def probe() -> None:
            try:
                await self.ping()
            except StoreError:
                pass  # recorded in health()

        self._probe = asyncio.get_running_loop().create_task(probe())

    def _mark(self, ok: bool, error: str | None = None) -> None:
        if ok != self.ok:
            self.since = time.time()
        self.ok, self.error = ok, error

    async def _call(self, work: Awaitable[T]) -> T:
        try:
            result = await asyncio.wait_for(work, self.timeout)
        except TimeoutError:
            self._mark(False, f"no answer within {self.timeout:g} s")
            raise StoreUnavailable(f"{self.name} store: no answer within "
                                   f"{self.timeout:g} s") from None
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the library's own errors, whatever they are
            self._mark(False, type(exc).__name__)
            raise StoreUnavailable(f"{self.name} store: {type(exc).__name__}") from None
        self._mark(True)
        return result

    async def open(self) -> None:
        await self.inner.open()

    async def aclose(self) -> None:
        await self.inner.aclose()

    async def ping(self) -> None:
        await self._call(self.inner.ping())

    async def save_session(self, handle: str, record: Record, expires_at: float) -> None:
        await self._call(self.inner.save_session(handle, record, expires_at))

    async def load_session(self, handle: str, now: float) -> Record | None:
        return await self._call(self.inner.load_session(handle, now))

    async def delete_session(self, handle: str) -> None:
        await self._call(self.inner.delete_session(handle))

    async def save_token(self, name: str, record: Record, expires_at: float) -> None:
        await self._call(self.inner.save_token(name, record, expires_at))

    async def load_token(self, name: str, now: float) -> Record | None:
        return await self._call(self.inner.load_token(name, now))

    async def spend_token(self, name: str, uses: int) -> bool:
        return await self._call(self.inner.spend_token(name, uses))

    async def claim_lease(self, key: str, holder: str, ttl: float) -> bool:
        return await self._call(self.inner.claim_lease(key, holder, ttl))

    async def release_lease(self, key: str, holder: str) -> None:
        await self._call(self.inner.release_lease(key, holder))


def guarded(store: Store, timeout: float = STORE_TIMEOUT) -> GuardedStore:
    """``store`` with time limits (itself if it already has them)."""
    return store if isinstance(store, GuardedStore) else GuardedStore(store, timeout)
