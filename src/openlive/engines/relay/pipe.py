"""One relayed connection: the client's WebSocket piped to an upstream Live WebSocket.

The server has already checked the client's credentials (openlive's own keys or ephemeral
tokens); a refusal is reported after the client's first frame, as Google does. Then:

* the upstream is dialled as soon as the client is let in (in parallel with its setup),
  with the server-held key in ``x-goog-api-key`` and nothing of the client's handshake;
* the setup frame goes up as it came, except with an ephemeral token: its constraints are
  applied (the one frame that is parsed and re-encoded) and one use is spent;
* every later frame is forwarded in both directions without parsing, with its frame type;
  the upstream decides what is valid (a malformed frame is closed by the upstream, for
  that session only);
* the upstream's close code and reason reach the client unchanged, and the client's close
  goes upstream; goAway, resumption handles and everything else are ordinary frames.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import Any

import aiohttp
from aiohttp import WSMsgType

from ...session.admission import Gate
from ...websocket_edge import WebSocketEdge, admit_first_frame
from ...wire.errors import INTERNAL, LiveError
from .upstream import Upstream

log = logging.getLogger("openlive.relay")

# codes that a close frame may not carry (RFC 6455 §7.4.1): "no code", "abnormal", "TLS"
_UNSENDABLE = {1004, 1005, 1006, 1015}


def _sendable(code: int | None) -> bool:
    return code is not None and 1000 <= code < 5000 and code not in _UNSENDABLE


class RelayConnection:
    def __init__(self, edge: WebSocketEdge, gate: Gate, upstream: Upstream,
                 http: Callable[[], aiohttp.ClientSession], *, api_version: str,
                 store: Any) -> None:
        self.edge = edge
        self.ws = edge.ws
        self.gate = gate
        self.upstream_config = upstream
        self.http = http
        self.api_version = api_version
        self.label = edge.label
        self.store = store
        self.upstream: aiohttp.ClientWebSocketResponse | None = None

    @property
    def close_reason(self) -> str | None:
        return self.edge.close_reason

    # ----------------------------------------------------------------- main loop

    async def run(self) -> None:
        dial = None if self.gate.auth_error else asyncio.create_task(self._dial())
        try:
            first = await self.edge.receive()
            if first is None:
                return
            try:
                setup = await self._admit(first)
            except LiveError as exc:
                if exc.detail:  # what the client's reason does not say (a spent token…)
                    log.info("%s refused: %s", self.label, exc.detail)
                await self.close(exc.code, exc.reason)
                return
            assert dial is not None
            up = self.upstream = await self._await_upstream(dial)
            if up is None:
                return
            if isinstance(setup, str):
                await up.send_str(setup)
            else:
                await up.send_bytes(setup)
            await self._pipe(up)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("%s relay failed", self.label)
            await self.close(1011, INTERNAL)
        finally:
            if dial is not None and not dial.done():
                dial.cancel()
            elif dial is not None and self.upstream is None and not dial.cancelled() \
                    and dial.exception() is None:  # dialled, but the client left first
                self.upstream = dial.result()
            if self.upstream is not None and not self.upstream.closed:
                await self.upstream.close()

    async def close(self, code: int, reason: str) -> None:
        """Close the client's side (and the upstream's, e.g. when the server stops)."""
        if self.edge.closing:
            return
        if self.upstream is not None and not self.upstream.closed:
            await self.upstream.close(code=1001 if code == 1001 else 1000)
        await self.edge.close(code, reason)

    # ------------------------------------------------------------ the first frame

    async def _admit(self, frame: str | bytes) -> str | bytes:
        """The setup to send upstream, by the shared admission rules
        (:func:`openlive.websocket_edge.admit_first_frame`). Without a token: the frame as
        it came (the upstream judges it). With one: constrained by the token, re-encoded."""
        setup = await admit_first_frame(self.gate, frame, self.store)
        if setup is None:
            return frame
        return json.dumps({"setup": setup.to_json_dict()}, separators=(",", ":"))

    # --------------------------------------------------------------- the upstream

    async def _dial(self) -> aiohttp.ClientWebSocketResponse:
        up = self.upstream_config
        return await self.http().ws_connect(
            up.url(self.api_version), headers=up.headers(),
            ssl=up.ssl_context if up.ssl_context is not None else True,
            compress=15 if up.compression else 0, max_msg_size=0,
            autoping=True, heartbeat=None)

    async def _await_upstream(self, dial: asyncio.Task) -> aiohttp.ClientWebSocketResponse | None:
        host = self.upstream_config.host
        try:
            return await dial
        except aiohttp.WSServerHandshakeError as exc:
            why = f"refused the WebSocket handshake (HTTP {exc.status})"
        except aiohttp.ClientConnectorCertificateError:
            why = "has a TLS certificate this server does not trust (--upstream-cafile)"
        except aiohttp.ClientSSLError:
            why = "TLS handshake failed"
        except (aiohttp.ClientError, OSError) as exc:
            why = f"is unreachable ({type(exc).__name__})"
        except TimeoutError:
            why = "did not answer in time"
        log.warning("%s upstream %s %s", self.label, host, why)
        await self.close(1011, f"openlive relay: upstream {host} {why}")
        return None

    # ------------------------------------------------------------------ the pipe

    async def _pipe(self, up: aiohttp.ClientWebSocketResponse) -> None:
        to_up = asyncio.create_task(self._client_to_upstream(up))
        to_client = asyncio.create_task(self._upstream_to_client(up))
        try:
            done, _ = await asyncio.wait((to_up, to_client),
                                         return_when=asyncio.FIRST_COMPLETED)
            ended = to_client.result() if to_client in done else None
            if ended is not None:  # the upstream ended: its code and reason, unchanged
                code, reason = ended
                log.info("%s upstream closed: %s %s", self.label, code, reason)
                await self.edge.close(code, reason)
            elif not up.closed:  # the client ended: say so upstream with its code
                code = self.ws.close_code
                await up.close(code=code if _sendable(code) else 1000)
            await asyncio.wait((to_up, to_client), timeout=5.0)  # both sides wind down
        finally:
            for task in (to_up, to_client):
                task.cancel()

    async def _client_to_upstream(self, up: aiohttp.ClientWebSocketResponse) -> None:
        edge = self.edge
        try:
            while (data := await edge.receive()) is not None:
                if isinstance(data, str):
                    await up.send_str(data)
                else:
                    await up.send_bytes(data)
            # closed, closing, or an error (e.g. 1009: aiohttp has closed it)
        except (ConnectionError, RuntimeError):  # the upstream went away mid-send
            return

    async def _upstream_to_client(self, up: aiohttp.ClientWebSocketResponse
                                  ) -> tuple[int, str] | None:
        """Forward until the upstream ends: its close code and reason, or None when the
        relay itself is closing it (the client left, the server stops)."""
        edge = self.edge
        while True:
            msg = await up.receive()
            kind = msg.type
            if kind is WSMsgType.BINARY:  # as it came, or text with --text-frames
                if not await edge.send(msg.data):
                    return None  # the client went away mid-send
            elif kind is WSMsgType.TEXT:
                if not await edge.send(msg.data, text=True):
                    return None
            elif kind is WSMsgType.CLOSE:
                code = msg.data
                return (code, msg.extra or "") if _sendable(code) else (1000, "")
            elif kind is WSMsgType.CLOSING or edge.closing:
                return None
            else:  # closed without a close frame, or a protocol error
                host = self.upstream_config.host
                log.warning("%s upstream %s connection lost (%s)", self.label, host,
                            up.exception() or kind.name)
                return 1011, f"openlive relay: upstream {host} connection lost"
