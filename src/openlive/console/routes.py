"""The console's HTTP routes: the page, its static files, ``POST /console/token``,
``GET /console/models``, ``GET /console/info`` and ``GET /console/seen``."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from aiohttp import web

from ..session import tokens as tk
from ..store.base import StoreError
from ..wire.errors import UNAVAILABLE, error_body
from .tokens import TOKEN_EXPIRE, TOKEN_NEW_SESSION, TOKEN_USES, refusal

if TYPE_CHECKING:
    from ..store.base import Store

log = logging.getLogger("openlive.console")

STATIC_DIR = Path(__file__).parent / "static"
TOKEN_PATH = "/console/token"
MODELS_PATH = "/console/models"  # the model names for the page's list (no key needed)
INFO_PATH = "/console/info"  # open server? tokens? does the engine hear audio?
SEEN_PATH = "/console/seen"  # what the server saw in this page's video (docs/vision.md)
_SHA256 = re.compile(r"[0-9a-f]{64}")
TOKENS_OFF = ("this server gives the console no tokens (serve --no-console-tokens): "
              "enter an API key or an ephemeral token (e.g. from `openlive token create`)")

# Everything the page loads comes from this server; it may connect to any Live endpoint.
_CSP = ("default-src 'self'; connect-src 'self' ws: wss: http: https:; "
        "img-src 'self' data: blob:; media-src 'self' blob: mediastream:; "
        "style-src 'self'; script-src 'self'; worker-src 'self'; object-src 'none'; "
        "base-uri 'none'; frame-ancestors 'none'")


def add_console_routes(app: web.Application, *, store: Store, open_server: bool,
                       tokens: bool = True,
                       models: Callable[[], list[str]] = list,
                       listens: Callable[[], bool] = lambda: True,
                       seen: Callable[[str], tuple[int, dict]] | None = None,
                       peer_of: Callable[[web.Request], object] | None = None) -> None:
    """Register the console; call before the server's catch-all route. ``store``: where
    console tokens are saved (the Live server's, which checks them); ``open_server``: the
    server has no API keys; ``tokens``: loopback pages may get a token (False:
    ``serve --no-console-tokens``); ``models``: the served model names (the page's list:
    ``GET /v1beta/models`` needs a key of a keyed server, as Google's does); ``listens``:
    whether the engine hears audio (``GET /console/info`` tells the page, which says so
    when a microphone would talk to a server that ignores it); ``seen``: the status and
    body of ``GET /console/seen`` for a frame hash (engines/vision/console_view.py; None:
    the server does not look at video); ``peer_of``: the request's peer as the loopback
    check sees it (default: the socket's; behind a ``--trusted-proxy`` the server passes
    the forwarded client, so a proxy on this machine does not make every page local)."""
    peer = peer_of or socket_peer

    async def index(request: web.Request) -> web.StreamResponse:
        return web.FileResponse(STATIC_DIR / "index.html", headers={
            "Content-Security-Policy": _CSP, "Cache-Control": "no-cache",
            "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"})

    async def token(request: web.Request) -> web.Response:
        return await console_token(request, store=store, open_server=open_server,
                                   tokens=tokens, peer=peer(request))

    app.router.add_get("/", index)
    async def model_names(request: web.Request) -> web.Response:
        return web.json_response({"models": models()}, headers={"Cache-Control": "no-cache"})

    async def info(request: web.Request) -> web.Response:
        return web.json_response({"open": open_server, "tokens": tokens,
                                  "hearsAudio": listens()},
                                 headers={"Cache-Control": "no-cache"})

    app.router.add_post(TOKEN_PATH, token)
    app.router.add_get(MODELS_PATH, model_names)
    app.router.add_get(INFO_PATH, info)
    async def seen_route(request: web.Request) -> web.Response:
        return await what_was_seen(request, seen, peer(request))

    app.router.add_get(SEEN_PATH, seen_route)
    app.router.add_static("/console/", STATIC_DIR, append_version=False)


def socket_peer(request: web.Request) -> object:
    """The TCP peer (``(host, port, …)``) of ``request``'s connection."""
    return request.transport.get_extra_info("peername") if request.transport else None


async def console_token(request: web.Request, *, store: Store, open_server: bool,
                        tokens: bool = True, peer: object = None) -> web.Response:
    """``{"open": true}`` on a server without keys; else a single-use ephemeral token for
    loopback pages (``{"name": "auth_tokens/…", …}``), or 403 with the reason (always 403
    with ``tokens=False``, i.e. ``serve --no-console-tokens``)."""
    if open_server:
        return web.json_response({"open": True}, headers={"Cache-Control": "no-store"})
    if not tokens:
        why: str | None = TOKENS_OFF
    else:
        why = refusal(peer, request.headers.get("Host"), request.headers.get("Origin"),
                      request.scheme)
    if why is not None:
        log.info("console token refused (%s)", why.split(";")[0])
        return web.json_response(error_body(403, "PERMISSION_DENIED", why), status=403,
                                 headers={"Cache-Control": "no-store"})
    now = time.time()
    record = tk.make_token({"uses": TOKEN_USES,
                            "expireTime": tk.format_time(now + TOKEN_EXPIRE),
                            "newSessionExpireTime": tk.format_time(now + TOKEN_NEW_SESSION)},
                           now)
    record["key"] = "console"  # per-key limits count console sessions together
    record["owner"] = "console"  # a console page resumes its sessions with a fresh token
    try:
        await store.save_token(record["name"], record, record["expire_time"])
    except StoreError:  # as POST /auth_tokens: Google's 503 UNAVAILABLE body, no token
        log.warning("console token not created: the store is unavailable")
        return web.json_response(error_body(503, "UNAVAILABLE", UNAVAILABLE), status=503,
                                 headers={"Cache-Control": "no-store"})
    log.info("console token created for a loopback page")
    return web.json_response(tk.token_response(record), headers={"Cache-Control": "no-store"})


def _no_store(body: dict, status: int = 200) -> web.Response:
    return web.json_response(body, status=status, headers={"Cache-Control": "no-store"})


async def what_was_seen(request: web.Request, seen: Callable[[str], tuple[int, dict]] | None,
                        peer: object) -> web.Response:
    """``GET /console/seen?frame=<SHA-256 hex of the first video frame the page sent on its
    connection>``: the latest description the server made of that session's video. Only
    for the console's own page on this machine, as console tokens (:func:`~.tokens.refusal`:
    a loopback peer, a loopback ``Host``, no foreign ``Origin``: else 403), and only to
    whoever knows the session's first frame. 400: no such hash; 404: no live session
    received that frame (the message says when the server does not look at video)."""
    why = refusal(peer, request.headers.get("Host"), request.headers.get("Origin"),
                  request.scheme)
    if why is not None:
        return _no_store(error_body(403, "PERMISSION_DENIED", (
            "what the server saw is shown only to the console's own page opened on this "
            "machine (localhost or 127.0.0.1)")), 403)
    key = request.query.get("frame", "").strip().lower()
    if not _SHA256.fullmatch(key):
        return _no_store(error_body(400, "INVALID_ARGUMENT", (
            "frame: the SHA-256 (64 hex digits) of the first video frame this page sent "
            "on its connection")), 400)
    if seen is None:
        return _no_store(error_body(404, "NOT_FOUND", (
            "no live session on this server received that video frame: this server does "
            "not look at video")), 404)
    status, body = seen(key)
    return _no_store(body, status)
