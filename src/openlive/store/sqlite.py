"""A SQLite file: sessions and tokens survive a server restart (one host).

The stdlib ``sqlite3`` module runs in a worker thread (``asyncio.to_thread``), one
connection guarded by a lock; WAL mode lets another process read the same file.

The file holds resumption handles and ephemeral tokens in plain text: a new database is
created 0600 (SQLite gives its ``-wal`` and ``-shm`` files the database's mode) and a folder
the store creates 0700, whatever the umask. An existing file keeps its mode (a warning is
logged when others can read it).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sqlite3
import stat
import threading
import time
from pathlib import Path
from typing import Any

from .base import Record, Store, StoreError

log = logging.getLogger("openlive.store")

SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    handle TEXT PRIMARY KEY, record TEXT NOT NULL, expires_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS tokens (
    name TEXT PRIMARY KEY, record TEXT NOT NULL, expires_at REAL NOT NULL,
    used INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS leases (
    key TEXT PRIMARY KEY, holder TEXT NOT NULL, expires_at REAL NOT NULL);
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
            self._create_private()
            db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None,
                                 timeout=10)
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(SCHEMA)
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"cannot open SQLite store {self.path}: {exc}") from None
        self._db = db

    def _create_private(self) -> None:
        """The folder (0700) and an empty database file (0600) if they do not exist yet,
        before SQLite creates the file 0644 (its default, less the umask)."""
        if str(self.path) == ":memory:":
            return
        folder = self.path.parent
        if not folder.exists():
            folder.parent.mkdir(parents=True, exist_ok=True)
            try:
                folder.mkdir(mode=0o700)
                os.chmod(folder, 0o700)  # the umask may have narrowed it further
            except FileExistsError:
                pass
        try:
            # the umask can only narrow the mode given here: never wider than 0600
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            mode = stat.S_IMODE(self.path.stat().st_mode)
            if mode & 0o077:
                log.warning("SQLite store %s can be read by other users (mode %o): it holds "
                            "resumption handles and tokens; chmod 600 it", self.path, mode)
            return
        try:
            os.chmod(fd if os.chmod in os.supports_fd else self.path, 0o600)
        finally:
            os.close(fd)

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

    async def claim_lease(self, key: str, holder: str, ttl: float) -> bool:
        now = time.time()  # wall clock: every process sharing the file reads the same one
        changed = await self._run(
            "INSERT INTO leases VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE SET "
            "holder = excluded.holder, expires_at = excluded.expires_at "
            "WHERE leases.holder = excluded.holder OR leases.expires_at <= ?",
            (key, holder, now + ttl, now))
        return changed == 1

    async def release_lease(self, key: str, holder: str) -> None:
        await self._run("DELETE FROM leases WHERE key = ? AND holder = ?", (key, holder))

    async def ping(self) -> None:
        await self._run("SELECT 1")
