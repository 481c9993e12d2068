"""Slow peers: a request body that trickles in is cut off (slowloris on the REST routes).

A request's head is bounded by aiohttp itself: ``keepalive_timeout`` (passed by
server/run.py as ``ServerConfig.handshake_timeout``) closes a connection whose request head
has not fully arrived in time, and a keep-alive connection idle that long between requests.
aiohttp has no limit on a body's arrival, so this middleware reads it within the same time.
"""

from __future__ import annotations

import logging
from asyncio import timeout

from aiohttp import web

from .connection_caps import client_of
from .http_errors import error_response

log = logging.getLogger("openlive.server")


def body_within(seconds: float | None) -> web.middleware:
    """A middleware that reads each request body within ``seconds`` (None or 0: no limit);
    past it the client gets a JSON 408 and the connection closes."""

    @web.middleware
    async def read_body(request: web.Request, handler):  # type: ignore[no-untyped-def]
        if seconds and request.can_read_body:
            try:
                async with timeout(seconds):
                    await request.read()  # cached: the handler's read() or json() gets it
            except TimeoutError:
                log.info("request body from %s did not arrive within %g s: closing",
                         client_of(request).address, seconds)
                response = error_response(
                    408, "DEADLINE_EXCEEDED",
                    f"openlive: the request body did not arrive within {seconds:g} s")
                response.force_close()
                return response
        return await handler(request)

    return read_body
