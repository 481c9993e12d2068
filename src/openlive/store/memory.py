"""The default store: a dict in this process (lost on restart, not shared).

Records go when they expire, whether or not anyone asks for them again: every call first
drops the records whose time is up (a heap ordered by expiry, so each call does only the
work of what expired), so a closed session's snapshot lives no longer than its handle.
"""

from __future__ import annotations

import copy
import heapq
import time

from .base import Record, Store


class MemoryStore(Store):
    name = "memory"

    def __init__(self) -> None:
        self._sessions: dict[str, tuple[Record, float]] = {}
        self._tokens: dict[str, tuple[Record, float]] = {}
        self._used: dict[str, int] = {}
        self._leases: dict[str, tuple[str, float]] = {}  # key -> (holder, monotonic expiry)
        self._expiry: list[tuple[float, str, str]] = []  # (expires_at, table, key): a heap

    async def save_session(self, handle: str, record: Record, expires_at: float) -> None:
        self._purge(time.time())
        self._sessions[handle] = (copy.deepcopy(record), expires_at)
        heapq.heappush(self._expiry, (expires_at, "session", handle))

    async def load_session(self, handle: str, now: float) -> Record | None:
        self._purge(now)
        found = self._sessions.get(handle)
        if found is None or found[1] <= now:
            return None
        return copy.deepcopy(found[0])

    async def delete_session(self, handle: str) -> None:
        self._sessions.pop(handle, None)

    async def save_token(self, name: str, record: Record, expires_at: float) -> None:
        self._purge(time.time())
        self._tokens[name] = (copy.deepcopy(record), expires_at)
        self._used.setdefault(name, 0)
        heapq.heappush(self._expiry, (expires_at, "token", name))

    async def load_token(self, name: str, now: float) -> Record | None:
        self._purge(now)
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
        """Drop every record whose time is up at ``now`` (a record saved again since its heap
        entry was pushed keeps its newer expiry)."""
        heap = self._expiry
        while heap and heap[0][0] <= now:
            expires_at, table, key = heapq.heappop(heap)
            records = self._sessions if table == "session" else self._tokens
            found = records.get(key)
            if found is not None and found[1] == expires_at:
                del records[key]
                if table == "token":
                    self._used.pop(key, None)
