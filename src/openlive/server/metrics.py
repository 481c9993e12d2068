"""Prometheus metrics: ``GET /metrics`` in the text exposition format (prometheus_client).

One registry per process (a node is one process; ``--workers N`` gives N scrape targets on
one port, so scrape each worker through its own port or sum what the load balancer sees).
What is counted, all cheap enough for every message (a regex on a frame's first bytes and
a cached counter child: about 1 µs):

* ``openlive_sessions_open`` (gauge), ``openlive_sessions_started_total`` (setupComplete
  sent), ``openlive_session_closes_total{code}``;
* ``openlive_messages_total{direction,type}``: client and server messages by their
  top-level field (``realtimeInput``, ``serverContent``, …);
* ``openlive_first_reply_seconds``: a turn ready -> the model's first output of it;
* ``openlive_voice_stage_seconds{stage}``: end-of-speech commit, recognition, LLM first
  token, first audio (reported by the engines, :mod:`openlive.engines.audio.stage_metrics`);
* ``openlive_event_loop_lag_seconds``: how late a 0.25 s sleep wakes up;
* ``openlive_store_errors_total{operation}``, ``openlive_backend_errors_total{backend}``;
* ``openlive_refused_total{cause}``: refusals by a limit (server/overload.py).

``--metrics keyed`` (default) asks a keyed server's scraper for one of its API keys
(``Authorization: Bearer KEY``, ``x-goog-api-key`` or ``?key=``); ``open`` never does;
``off`` answers 404.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

from ..engines.audio import stage_metrics
from .auth import Credentials, KeyChecker

METRICS_MODES = ("keyed", "open", "off")
LAG_INTERVAL = 0.25  # seconds between event-loop lag probes

REGISTRY = CollectorRegistry(auto_describe=True)

SESSIONS_OPEN = Gauge("openlive_sessions_open", "Live WebSocket connections open now",
                      registry=REGISTRY)
SESSIONS_STARTED = Counter("openlive_sessions_started", "Sessions set up (setupComplete sent)",
                           registry=REGISTRY)
CLOSES = Counter("openlive_session_closes", "Connections closed, by WebSocket close code",
                 ["code"], registry=REGISTRY)
MESSAGES = Counter("openlive_messages", "Live messages by direction and top-level field",
                   ["direction", "type"], registry=REGISTRY)
_LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0,
                    30.0)
FIRST_REPLY = Histogram("openlive_first_reply_seconds",
                        "A turn ready to answer -> the model's first output of it",
                        buckets=_LATENCY_BUCKETS, registry=REGISTRY)
VOICE_STAGE = Histogram("openlive_voice_stage_seconds", "Time spent in one voice stage of a turn",
                        ["stage"], buckets=_LATENCY_BUCKETS, registry=REGISTRY)
LOOP_LAG = Histogram("openlive_event_loop_lag_seconds",
                     f"How late the event loop wakes from a {LAG_INTERVAL} s sleep",
                     buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
                     registry=REGISTRY)
STORE_ERRORS = Counter("openlive_store_errors", "Store operations that failed", ["operation"],
                       registry=REGISTRY)
BACKEND_ERRORS = Counter("openlive_backend_errors", "Model back-end requests that failed",
                         ["backend"], registry=REGISTRY)
REFUSED = Counter("openlive_refused", "Connections, sessions and REST requests refused by a "
                  "limit (docs/security.md), by cause", ["cause"], registry=REGISTRY)

for _stage in stage_metrics.STAGES:  # every stage shows (at 0) before its first turn
    VOICE_STAGE.labels(_stage)

# the top-level field of a Live frame: JSON objects open with it ({"realtimeInput": ...})
_FIRST_KEY_BYTES = re.compile(rb'\s*\{\s*"([A-Za-z_]{1,40})"')
_FIRST_KEY_STR = re.compile(r'\s*\{\s*"([A-Za-z_]{1,40})"')
_CAMEL = {"setup": "setup", "client_content": "clientContent",
          "realtime_input": "realtimeInput", "tool_response": "toolResponse",
          "context_update": "contextUpdate"}
_KNOWN = {"client": {*_CAMEL.values()},
          "server": {"setupComplete", "serverContent", "toolCall", "toolCallCancellation",
                     "goAway", "sessionResumptionUpdate", "voiceActivity",
                     "voiceActivityDetectionSignal", "usageMetadata"}}
_children: dict[tuple[str, str], Any] = {}


def message_type(frame: str | bytes) -> str:
    """The top-level field of a Live frame, camelCase; ``other`` when there is none."""
    match = (_FIRST_KEY_BYTES if isinstance(frame, bytes) else _FIRST_KEY_STR).match(frame)
    if match is None:
        return "other"
    key = match.group(1)
    return key.decode("ascii") if isinstance(key, bytes) else key


def count_message(direction: str, frame: str | bytes) -> None:
    key = message_type(frame)
    key = _CAMEL.get(key, key)
    if key not in _KNOWN[direction]:
        key = "other"  # a client's junk never becomes a label of its own
    child = _children.get((direction, key))
    if child is None:
        child = _children[direction, key] = MESSAGES.labels(direction, key)
    child.inc()
    if key == "setupComplete":
        SESSIONS_STARTED.inc()


class MetricsObserver:
    """A server observer (``ServerConfig.observer``'s signature) that counts sessions,
    messages and closes for every edge (local engines, relay, replay), then hands each
    report to the next observer (the recorder), if any."""

    def __init__(self, then: Any = None) -> None:
        self.then = then

    def __call__(self, label: str, direction: str, message: Any) -> None:
        if direction == "client" or direction == "server":
            count_message(direction, message)
        elif direction == "open":
            SESSIONS_OPEN.inc()
        elif direction == "close":
            SESSIONS_OPEN.dec()
            CLOSES.labels(str(message.get("code"))).inc()
        if self.then is not None:
            self.then(label, direction, message)


class _StageSink:
    def stage(self, name: str, seconds: float) -> None:
        VOICE_STAGE.labels(name).observe(max(0.0, seconds))

    def backend_error(self, backend: str) -> None:
        BACKEND_ERRORS.labels(backend).inc()


def install_stage_sink() -> None:
    """Let the voice stages report here (idempotent)."""
    if not isinstance(stage_metrics.sink, _StageSink):
        stage_metrics.sink = _StageSink()


def first_reply(seconds: float) -> None:
    FIRST_REPLY.observe(max(0.0, seconds))


def refused(cause: str) -> None:
    """One refusal by a limit (``cause``: one of a few fixed names, never client input)."""
    REFUSED.labels(cause).inc()


def store_error(operation: str) -> None:
    STORE_ERRORS.labels(operation).inc()


async def watch_loop_lag(interval: float = LAG_INTERVAL) -> None:
    """Forever: sleep ``interval``, record how late the wake-up was."""
    loop = asyncio.get_running_loop()
    while True:
        start = loop.time()
        await asyncio.sleep(interval)
        LOOP_LAG.observe(max(0.0, loop.time() - start - interval))


def metrics_handler(mode: str, keys: KeyChecker):
    """The ``GET /metrics`` handler for ``mode`` (``keyed`` or ``open``)."""

    async def handle(request: web.Request) -> web.Response:
        if mode == "keyed" and not keys.open:
            auth = request.headers.get("Authorization", "")
            key = auth[7:].strip() if auth[:7].lower() == "bearer " else None
            creds = Credentials.from_request(request.query, request.headers)
            if keys.check(Credentials(api_key=key or creds.api_key)) is not None:
                return web.Response(status=401, text="openlive: /metrics needs one of this "
                                    "server's API keys (Authorization: Bearer KEY)\n",
                                    headers={"WWW-Authenticate": "Bearer"})
        body = generate_latest(REGISTRY)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    return handle
