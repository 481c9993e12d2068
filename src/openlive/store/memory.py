"""The default store: a dict in this process (lost on restart, not shared)."""

from __future__ import annotations

import copy
import time

from .base import Record, Store


class MemoryStore(Store):
    name = "memory"

    def __init__(self) -> None:
        self._sessions: dict[str, tuple[Record, float]] = {}
        self._tokens: dict[str, tuple[Record, float]] = {}
        self._used: dict[str, int] = {}
        self._leases: dict[str, tuple[str, float]] = {}  # key -> (holder, monotonic expiry)
        self._saves = 0

    async def save_session(self, handle: str, record: Record, expires_at: float) -> None:
        self._sessions[handle] = (copy.deepcopy(record), expires_at)
        self._saves += 1
        if self._saves % 256 == 0:  # expired records go without anyone asking for them
            self._purge(time.time())

    async def load_session(self, handle: str, now: float) -> Record | None:
        found = self._sessions.get(handle)
        if found is None:
            return None
        if found[1] <= now:
            del self._sessions[handle]
            self._purge(now)
            return None
        return copy.deepcopy(found[0])

    async def delete_session(self, handle: str) -> None:
        self._sessions.pop(handle, None)

    async def save_token(self, name: str, record: Record, expires_at: float) -> None:
        self._tokens[name] = (copy.deepcopy(record), expires_at)
        self._used.setdefault(name, 0)

    async def load_token(self, name: str, now: float) -> Record | None:
        found = self._tokens.get(name)
        if found is None or found[1] <= now:
            return None
        return {**copy.deepcopy(found[0]), "used": self._used.get(name, 0)}

    async def spend_token(self, name: str, uses: int) -> bool:
        if name not in self._tokens:
            return False
        used = self._used.get(name, 0)
        if uses and used >= uses:
            return False
        self._used[name] = used + 1
        return True

    async def claim_lease(self, key: str, holder: str, ttl: float) -> bool:
        now = time.monotonic()
        held = self._leases.get(key)
        if held is not None and held[0] != holder and held[1] > now:
            return False
        self._leases[key] = (holder, now + ttl)
        return True

    async def release_lease(self, key: str, holder: str) -> None:
        held = self._leases.get(key)
        if held is not None and held[0] == holder:
            del self._leases[key]

    def _purge(self, now: float) -> None:
        for table in (self._sessions, self._tokens):
            for key in [k for k, (_, exp) in table.items() if exp <= now]:
                del table[key]
                self._used.pop(key, None)
