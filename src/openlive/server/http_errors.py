"""Google-shaped JSON error responses for the REST routes (the body: wire.errors.error_body)."""

from __future__ import annotations

from collections.abc import Mapping

from aiohttp import web

from ..wire.errors import error_body


def error_response(code: int, status: str, message: str, reason: str | None = None, *,
                   headers: Mapping[str, str] | None = None) -> web.Response:
    """``{"error": {"code", "message", "status"}}`` with HTTP status ``code``."""
    return web.json_response(error_body(code, status, message, reason), status=code,
                             headers=headers)
