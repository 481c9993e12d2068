"""The store interface. Times are Unix seconds, passed in by the caller."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

Record = dict[str, Any]


class StoreError(RuntimeError):
    """A store that cannot be opened or reached."""


class Store(ABC):
    name = "store"

    async def open(self) -> None:  # noqa: B027 - optional hook
        """Connect / create tables. Called once before use."""

    async def aclose(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""

    # -- resumable sessions, keyed by resumption handle
    @abstractmethod
    async def save_session(self, handle: str, record: Record, expires_at: float) -> None: ...

    @abstractmethod
    async def load_session(self, handle: str, now: float) -> Record | None:
        """The record, or None if unknown or expired at ``now``."""

    @abstractmethod
    async def delete_session(self, handle: str) -> None: ...

    # -- ephemeral tokens, keyed by name ("auth_tokens/…")
    @abstractmethod
    async def save_token(self, name: str, record: Record, expires_at: float) -> None: ...

    @abstractmethod
    async def load_token(self, name: str, now: float) -> Record | None:
        """The token with its ``used`` count, or None if unknown or expired at ``now``."""

    @abstractmethod
    async def spend_token(self, name: str, uses: int) -> bool:
        """Count one use, atomically; False if all ``uses`` are spent (0 = unlimited)."""

    # -- leases: "this session is connected", held by one connection (session/leases.py)
    @abstractmethod
    async def claim_lease(self, key: str, holder: str, ttl: float) -> bool:
        """Hold ``key`` for ``ttl`` seconds, atomically: True if it was free, expired or
        already ``holder``'s (then its time is renewed); False if another holds it."""

    @abstractmethod
    async def release_lease(self, key: str, holder: str) -> None:
        """Free ``key`` if ``holder`` holds it (another holder's lease stays)."""

    async def ping(self) -> None:  # noqa: B027 - a store in this process is always there
        """Raise if the store cannot be reached (readiness checks)."""
