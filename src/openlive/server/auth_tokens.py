"""REST ``POST /{v1alpha,v1beta,v1}/auth_tokens``: mint an ephemeral token (the shapes both
official SDKs send, spec/sdk-wire.md §6), authorised by an API key."""

from __future__ import annotations

import json
import logging
import time

from aiohttp import web

from ..session import tokens as tk
from ..session.admission import owner_of
from ..store.base import Store, StoreError
from ..wire import errors
from ..wire.endpoints import AUTH_TOKENS_PATH_PATTERN
from .auth import Credentials, KeyChecker, fingerprint
from .http_errors import error_response

log = logging.getLogger("openlive.tokens")

def match_auth_tokens_path(path: str) -> str | None:
    m = AUTH_TOKENS_PATH_PATTERN.match(path)
    return m.group(1) if m else None


async def create_auth_token(request: web.Request, *, keys: KeyChecker,
                            store: Store) -> web.Response:
    """Mint a token for a caller with one of ``keys`` (anyone, on an open server) and save
    it in ``store``; a refusal is Google's error body. A store that fails gives HTTP 503
    ``UNAVAILABLE`` "The service is currently unavailable." in Google's error shape
    (https://ai.google.dev/gemini-api/docs/troubleshooting: 503 UNAVAILABLE, "the service
    may be temporarily overloaded or down"; the message is Google's UNAVAILABLE text,
    spec/protocol.md §5)."""
    creds = Credentials.from_request(request.query, request.headers)
    refused = keys.check(creds)
    if refused is not None or (not keys.open and creds.access_token):
        if creds.api_key:
            return error_response(400, "INVALID_ARGUMENT", errors.API_KEY_INVALID,
                                  "API_KEY_INVALID")
        return error_response(403, "PERMISSION_DENIED", errors.UNREGISTERED_CALLER)
    raw = await request.read()
    body = None
    if raw.strip():
        try:
            body = json.loads(raw)
        except (ValueError, RecursionError):  # RecursionError: nested thousands deep
            return error_response(400, "INVALID_ARGUMENT",
                                  errors.INVALID_JSON + "Unexpected token.")
    now = time.time()
    try:
        record = tk.make_token(body, now)
    except tk.TokenRequestError as exc:
        return error_response(400, "INVALID_ARGUMENT", str(exc))
    if creds.api_key:
        record["key"] = fingerprint(creds.api_key)
        record["owner"] = owner_of(creds.api_key)  # its sessions are the key's sessions
    try:
        await store.save_token(record["name"], record, record["expire_time"])
    except StoreError:  # no token is handed out that the store does not hold
        log.warning("ephemeral token not created: the store is unavailable")
        return error_response(503, "UNAVAILABLE", errors.UNAVAILABLE)
    log.info("ephemeral token created (%s uses, locked: %s)", record["uses"] or "unlimited",
             "whole setup" if record["setup"] and record["field_mask"] is None
             else ",".join(record["field_mask"] or []) or "nothing")
    return web.json_response(tk.token_response(record))
