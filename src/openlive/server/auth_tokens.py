"""REST ``POST /{v1alpha,v1beta,v1}/auth_tokens``: mint an ephemeral token (the shapes both
official SDKs send, spec/sdk-wire.md §6), authorised by an API key."""

from __future__ import annotations

import json
import logging
import re
import time
from typing import TYPE_CHECKING

from aiohttp import web

from ..session import tokens as tk
from ..wire import errors
from .auth import Credentials, fingerprint

if TYPE_CHECKING:
    from .app import LiveServer

log = logging.getLogger("openlive.tokens")

_AUTH_TOKENS_PATH = re.compile(r"^/+(?:.*/)?(v1|v1beta|v1alpha)/auth_tokens$")


def match_auth_tokens_path(path: str) -> str | None:
    m = _AUTH_TOKENS_PATH.match(path)
    return m.group(1) if m else None


def google_error(code: int, status: str, message: str, reason: str | None = None) -> web.Response:
    body: dict = {"error": {"code": code, "message": message, "status": status}}
    if reason:
        body["error"]["details"] = [{"@type": "type.googleapis.com/google.rpc.ErrorInfo",
                                     "reason": reason, "domain": "googleapis.com"}]
    return web.json_response(body, status=code)


async def create_auth_token(server: LiveServer, request: web.Request) -> web.Response:
    creds = Credentials.from_request(request.query, request.headers)
    refused = server.keys.check(creds)
    if refused is not None or (not server.keys.open and creds.access_token):
        if creds.api_key:
            return google_error(400, "INVALID_ARGUMENT", errors.API_KEY_INVALID,
                                "API_KEY_INVALID")
        return google_error(403, "PERMISSION_DENIED", errors.UNREGISTERED_CALLER)
    raw = await request.read()
    body = None
    if raw.strip():
        try:
            body = json.loads(raw)
        except ValueError:
            return google_error(400, "INVALID_ARGUMENT",
                                errors.INVALID_JSON + "Unexpected token.")
    now = time.time()
    try:
        record = tk.make_token(body, now)
    except tk.TokenRequestError as exc:
        return google_error(400, "INVALID_ARGUMENT", str(exc))
    if creds.api_key:
        record["key"] = fingerprint(creds.api_key)
    await server.store.save_token(record["name"], record, record["expire_time"])
    log.info("ephemeral token created (%s uses, locked: %s)", record["uses"] or "unlimited",
             "whole setup" if record["setup"] and record["field_mask"] is None
             else ",".join(record["field_mask"] or []) or "nothing")
    return web.json_response(tk.token_response(record))
