"""Where resumable sessions and ephemeral tokens live: one small async interface, three stores.

``memory`` (default; one process), ``sqlite:PATH`` (survives a restart) and ``redis://…``
(shared by several server processes behind a load balancer). Records are plain JSON-able
dicts: the session core serialises itself (see ``SessionCore.snapshot``); stores only keep
them until they expire.
"""

from __future__ import annotations

from .base import Store, StoreError
from .guard import STORE_TIMEOUT, GuardedStore, StoreUnavailable, guarded
from .memory import MemoryStore


def open_store(spec: str | None, timeout: float = STORE_TIMEOUT) -> GuardedStore:
    """``memory`` | ``sqlite:PATH`` | ``redis://host:port/db`` (also ``rediss://``), each
    call limited to ``timeout`` seconds (:mod:`.guard`)."""
    return guarded(_open(spec, timeout), timeout)


def _open(spec: str | None, timeout: float) -> Store:
    spec = (spec or "memory").strip()
    if spec == "memory":
        return MemoryStore()
    if spec.startswith("sqlite:"):
        from .sqlite import SQLiteStore
        path = spec[len("sqlite:"):]
        if path.startswith("//"):
            path = path[2:]
        if not path:
            raise StoreError("sqlite store needs a file: --store sqlite:PATH")
        return SQLiteStore(path)
    if spec.startswith(("redis://", "rediss://", "unix://")):
        from .redis import RedisStore
        return RedisStore(spec, timeout=timeout)
    raise StoreError(f"unknown store {spec!r}: use memory, sqlite:PATH or redis://HOST:PORT")


__all__ = ["STORE_TIMEOUT", "GuardedStore", "MemoryStore", "Store", "StoreError",
           "StoreUnavailable", "guarded", "open_store"]
