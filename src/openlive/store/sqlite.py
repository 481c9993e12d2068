"""A SQLite file: sessions and tokens survive a server restart (one host).

The stdlib ``sqlite3`` module runs in a worker thread (``asyncio.to_thread``), one
connection guarded by a lock; WAL mode lets another process read the same file.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
from pathlib import Path
from typing import Any

from .base import Record, Store, StoreError

SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    handle TEXT PRIMARY KEY, record TEXT NOT NULL, expires_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS tokens (
    name TEXT PRIMARY KEY, record TEXT NOT NULL, expires_at REAL NOT NULL,
    used INTEGER NOT NULL DEFAULT 0);
"""


class SQLiteStore(Store):
    name = "sqlite"

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._db: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    async def open(self) -> None:
        await asyncio.to_thread(self._open)

    def _open(self) -> None:
        try:
            if self.path.parent and not self.path.parent.exists():
                self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None,
                                 timeout=10)
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(SCHEMA)
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"cannot open SQLite store {self.path}: {exc}") from None
        self._db = db

    async def aclose(self) -> None:
        if self._db is not None:
            db, self._db = self._db, None
            await asyncio.to_thread(db.close)

    async def _run(self, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]] | int:
        def work() -> list[tuple[Any, ...]] | int:
            if self._db is None:
                self._open()
            assert self._db is not None
            with self._lock:
                cur = self._db.execute(sql, args)
                return cur.fetchall() if cur.description else cur.rowcount
        return await asyncio.to_thread(work)

    async def save_session(self, handle: str, record: Record, expires_at: float) -> None:
        await self._run("INSERT OR REPLACE INTO sessions VALUES (?, ?, ?)",
                        (handle, json.dumps(record), expires_at))

    async def load_session(self, handle: str, now: float) -> Record | None:
        rows = await self._run(
            "SELECT record FROM sessions WHERE handle = ? AND expires_at > ?", (handle, now))
        if not rows:
            await self._run("DELETE FROM sessions WHERE expires_at <= ?", (now,))
            return None
        return json.loads(rows[0][0])  # type: ignore[index]

    async def delete_session(self, handle: str) -> None:
        await self._run("DELETE FROM sessions WHERE handle = ?", (handle,))

    async def save_token(self, name: str, record: Record, expires_at: float) -> None:
        await self._run("INSERT OR REPLACE INTO tokens (name, record, expires_at, used) "
                        "VALUES (?, ?, ?, 0)", (name, json.dumps(record), expires_at))

    async def load_token(self, name: str, now: float) -> Record | None:
        rows = await self._run(
            "SELECT record, used FROM tokens WHERE name = ? AND expires_at > ?", (name, now))
        if not rows:
            return None
        record, used = rows[0]  # type: ignore[index]
        return {**json.loads(record), "used": used}

    async def spend_token(self, name: str, uses: int) -> bool:
        changed = await self._run(
            "UPDATE tokens SET used = used + 1 WHERE name = ? AND (? = 0 OR used < ?)",
            (name, uses, uses))
        return changed == 1
