"""Fixtures for the client tests (see client_listener.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from client_listener import Handler, Listener


@pytest.fixture
async def listen() -> AsyncIterator[Callable[[Handler], Awaitable[Listener]]]:
    """``listener = await listen(handler)``: a raw Live listener on 127.0.0.1 (port 0)."""
    started: list[Listener] = []

    async def start(handler: Handler) -> Listener:
        listener = await Listener(handler).start()
        started.append(listener)
        return listener

    yield start
    for listener in started:
        await listener.stop()
