"""The runtime admin API, for test suites that are not Python (Jest or Vitest on
@google/genai, Go…), in the spirit of WireMock's ``/__admin`` API
(https://wiremock.org/docs/standalone/admin-api-reference/): a test drives the emulator
over HTTP while its app talks to the Live endpoint.

| route | what it does |
|---|---|
| ``POST /__openlive/script`` | replaces the emulator's script (YAML or JSON, as ``--script``) |
| ``DELETE /__openlive/script`` | restores the script the server started with |
| ``GET /__openlive/sessions`` | every session: what the client and the server sent |
| ``DELETE /__openlive/sessions`` | forgets them |

Sessions opened after a new script use it (each copies the rules when it opens); the
client's messages are normalised camelCase JSON, as the server's parser reads them.

Who may call it: without an admin key, clients on the loopback interface only (behind a
``--trusted-proxy``, the client its ``X-Forwarded-For`` names: a remote client through a
proxy on this machine is not loopback, nor is the proxy's own request; see
server/client_address.py); with one
(``$OPENLIVE_ADMIN_KEY``), whoever sends it in ``x-openlive-admin-key``, from anywhere, and
nobody else. The key is never logged. This is openlive's own API: Google has none like it.
Mounted when the engine is the emulator (the test double); the journal keeps the last
:data:`MAX_SESSIONS` sessions and at most :data:`MAX_JOURNAL_BYTES` of frames (a soak
run at 40 sessions grew the server by 118 MiB a minute while it kept every frame).
"""

from __future__ import annotations

import hmac
import json
import logging
import os
from collections import deque
from collections.abc import Callable
from typing import Any

import yaml
from aiohttp import web

from .connection_caps import client_of  # the client as the caps' middleware resolved it
from .http_errors import error_response

log = logging.getLogger("openlive.admin")

PREFIX = "/__openlive"
KEY_ENV = "OPENLIVE_ADMIN_KEY"
KEY_HEADER = "x-openlive-admin-key"
MAX_SESSIONS = 1000  # sessions kept in the journal (the oldest are dropped)
MAX_JOURNAL_BYTES = 64 * 1024 * 1024  # frames kept in all (the oldest sessions go first)
MAX_SCRIPT_BYTES = 1024 * 1024


class Journal:
    """A ``ServerConfig.observer``: every session's frames, for ``GET /__openlive/sessions``.

    Bounded: the last ``limit`` sessions and ``max_bytes`` of frames in all. Past the
    bytes, the oldest sessions are forgotten; a session that alone holds more keeps its
    first frames and is marked ``"truncated": true`` (its later frames are not kept)."""

    def __init__(self, limit: int = MAX_SESSIONS, max_bytes: int = MAX_JOURNAL_BYTES) -> None:
        self.limit, self.max_bytes = limit, max_bytes
        self.sessions: deque[dict[str, Any]] = deque()
        self.bytes = 0  # frames held, in all sessions
        self._open: dict[str, dict[str, Any]] = {}

    def __call__(self, label: str, direction: str, message: Any) -> None:
        if direction == "open":
            session = {"id": label.strip("[]"), "info": dict(message), "client": [],
                       "server": [], "closed": False, "closeCode": None, "_label": label,
                       "_bytes": 0}
            self.sessions.append(session)
            self._open[label] = session
            while len(self.sessions) > self.limit:
                self._forget_oldest()
            return
        session = self._open.get(label)
        if session is None:
            return
        if direction in ("client", "server"):
            self._keep(session, direction, message)
        elif direction == "close":
            session.update(closed=True, closeCode=message.get("code"))
            if message.get("reason"):
                session["closeReason"] = message["reason"]
            del self._open[label]

    def _keep(self, session: dict[str, Any], direction: str, frame: Any) -> None:
        size = len(frame) if isinstance(frame, str | bytes) else 0
        if session["_bytes"] + size > self.max_bytes:
            session["truncated"] = True  # this session alone is over the budget
            return
        while self.bytes + size > self.max_bytes:
            self._forget_oldest()  # never this one: it fits alone
        session[direction].append(frame)
        session["_bytes"] += size
        self.bytes += size

    def _forget_oldest(self) -> None:
        oldest = self.sessions.popleft()
        self.bytes -= oldest["_bytes"]
        self._open.pop(oldest["_label"], None)

    def clear(self) -> None:
        self.sessions.clear()  # open sessions go on, unrecorded: they were forgotten too
        self._open.clear()
        self.bytes = 0

    def report(self) -> list[dict[str, Any]]:
        return [_described(s) for s in list(self.sessions)]


def _client_message(frame: str | bytes) -> dict[str, Any]:
    from ..wire.codec import parse_client_frame
    from ..wire.errors import LiveError

    try:
        return parse_client_frame(frame).to_json_dict()
    except LiveError:
        text = frame.decode("utf-8", "replace") if isinstance(frame, bytes) else frame
        return {"invalid": text}


def _server_message(frame: str | bytes) -> Any:
    try:
        return json.loads(frame)
    except ValueError:
        return {"invalid": frame.decode("utf-8", "replace") if isinstance(frame, bytes)
                else frame}


def _described(session: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in session.items()
           if k not in ("client", "server") and not k.startswith("_")}
    out["client"] = [_client_message(f) for f in session["client"]]
    out["server"] = [_server_message(f) for f in session["server"]]
    return out


class Admin:
    """The routes, the journal, and the emulator whose script they replace."""

    def __init__(self, engine: Any, key: str | None = None) -> None:
        self.engine = engine
        self.key = key or None
        self.journal = Journal()
        self.started_with = list(engine.rules)

    def allowed(self, request: web.Request) -> bool:
        if self.key is not None:
            sent = request.headers.get(KEY_HEADER, "")
            return hmac.compare_digest(sent.encode(), self.key.encode())
        return client_of(request).is_loopback

    @web.middleware
    async def guard(self, request: web.Request, handler: Callable) -> web.StreamResponse:
        if request.path == PREFIX or request.path.startswith(PREFIX + "/"):
            if not self.allowed(request):
                client = client_of(request)
                log.warning("admin request %s %s from %s%s refused", request.method,
                            request.path, client.address,
                            f" via proxy {client.peer}" if client.forwarded else "")
                why = ("a wrong or missing x-openlive-admin-key" if self.key is not None
                       else "not from loopback (set $OPENLIVE_ADMIN_KEY to allow others)")
                return error_response(403, "PERMISSION_DENIED", f"openlive admin: {why}")
        return await handler(request)

    async def replace_script(self, request: web.Request) -> web.Response:
        from ..engines.emulator.script import ScriptError, parse_rules

        if (request.content_length or 0) > MAX_SCRIPT_BYTES:
            return error_response(413, "INVALID_ARGUMENT", "openlive admin: script too large")
        body = await request.read()  # aiohttp refuses a body over client_max_size (1 MiB)
        try:
            data = yaml.safe_load(body.decode("utf-8"))  # YAML, and so JSON too
            rules = parse_rules(data, source="POST /__openlive/script")
        except (UnicodeDecodeError, yaml.YAMLError) as exc:
            return error_response(400, "INVALID_ARGUMENT",
                                  f"openlive admin: the script is not YAML or JSON: {exc}")
        except ScriptError as exc:
            return error_response(400, "INVALID_ARGUMENT", f"openlive admin: {exc}")
        self.engine.rules = rules  # sessions copy the rules when they open
        log.info("admin: script replaced (%d rules)", len(rules))
        return web.json_response({"rules": len(rules)})

    async def reset_script(self, request: web.Request) -> web.Response:
        self.engine.rules = list(self.started_with)
        return web.json_response({"rules": len(self.started_with)})

    async def sessions(self, request: web.Request) -> web.Response:
        return web.json_response({"sessions": self.journal.report()})

    async def forget_sessions(self, request: web.Request) -> web.Response:
        self.journal.clear()
        return web.json_response({"sessions": []})


def add_admin_routes(app: web.Application, live: Any, key: str | None = None) -> Admin | None:
    """Mount the admin API on ``app`` when ``live``'s engine is the emulator; its journal
    joins the server's observer. ``key``: the admin key (default ``$OPENLIVE_ADMIN_KEY``)."""
    engine = live.engine
    if getattr(engine, "name", None) != "emulator" or not hasattr(engine, "rules"):
        return None
    admin = Admin(engine, key if key is not None else os.environ.get(KEY_ENV, "").strip())
    # the server's observer (LiveServer.observer when it keeps one, else its config's) now
    # shows each frame to the journal first
    holder = live if hasattr(live, "observer") else live.config
    previous = holder.observer

    def observe(label: str, direction: str, message: Any) -> None:
        admin.journal(label, direction, message)
        if previous is not None:
            previous(label, direction, message)

    holder.observer = observe
    app.middlewares.append(admin.guard)
    app.router.add_post(f"{PREFIX}/script", admin.replace_script)
    app.router.add_delete(f"{PREFIX}/script", admin.reset_script)
    app.router.add_get(f"{PREFIX}/sessions", admin.sessions)
    app.router.add_delete(f"{PREFIX}/sessions", admin.forget_sessions)
    log.debug("admin API at %s/ (%s)", PREFIX,
              "admin key required" if admin.key else "loopback clients only")
    return admin
