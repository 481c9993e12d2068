"""The edge's side of a session lease (the rule: ``session/resumption.py``): claimed when the
connection goes live, renewed every third of its TTL while the connection lives, released
when it closes. A store that cannot be reached for a renewal is logged and tried again at
the next one; a lease another connection took (it expired meanwhile) ends this one."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from .base import Store

log = logging.getLogger("openlive.store")


class LeaseKeeper:
    def __init__(self, store: Store, key: str, holder: str, ttl: float, *,
                 on_lost: Callable[[], Awaitable[None]] | None = None, label: str = "") -> None:
        self.store, self.key, self.holder, self.ttl = store, key, holder, ttl
        self.on_lost = on_lost
        self.label = label
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._keep(), name=f"{self.label} lease")

    async def _keep(self) -> None:
        while True:
            try:
                held = await self.store.claim_lease(self.key, self.holder, self.ttl)
            except Exception as exc:  # the store is away: renew at the next round
                log.warning("%s could not renew its session lease: %s", self.label,
                            type(exc).__name__)
            else:
                if not held:
                    log.warning("%s lost its session lease to another connection",
                                self.label)
                    if self.on_lost is not None:
                        await self.on_lost()
                    return
            await asyncio.sleep(self.ttl / 3)

    async def release(self) -> None:
        """Stop renewing and free the lease (another connection may resume it now)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        try:
            await self.store.release_lease(self.key, self.holder)
        except Exception as exc:  # it expires by itself after its TTL
            log.warning("%s could not release its session lease: %s", self.label,
                        type(exc).__name__)


async def claim_within(store: Store, key: str, holder: str, ttl: float, wait: float,
                       every: float = 0.05) -> bool:
    """Claim a lease, trying again for up to ``wait`` seconds while another holds it (a
    connection that is closing lets go within moments)."""
    loop = asyncio.get_running_loop()
    until = loop.time() + wait
    while True:
        if await store.claim_lease(key, holder, ttl):
            return True
        if loop.time() >= until:
            return False
        await asyncio.sleep(every)
