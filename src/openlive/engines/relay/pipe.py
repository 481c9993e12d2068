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
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import aiohttp
from aiohttp import WSMsgType, web

from ...session import tokens as tk
from ...wire import errors
from ...wire.codec import parse_client_frame
from ...wire.errors import LiveError, cut_reason

if TYPE_CHECKING:
    from .engine import RelayEngine

log = logging.getLogger("openlive.relay")

_DATA = (WSMsgType.TEXT, WSMsgType.BINARY)
# codes that a close frame may not carry (RFC 6455 §7.4.1): "no code", "abnormal", "TLS"
_UNSENDABLE = {1004, 1005, 1006, 1015}


def _sendable(code: int | None) -> bool:
    return code is not None and 1000 <= code < 5000 and code not in _UNSENDABLE


class RelayConnection:
    observer: Callable[[str, str, object], None] | None = None  # ServerConfig.observer

    def __init__(self, engine: RelayEngine, ws: web.WebSocketResponse, *, api_version: str,
                 auth_error: LiveError | None, token: dict[str, Any] | None, label: str,
                 store: Any, binary_frames: bool = True) -> None:
        self.engine = engine
        self.ws = ws
        self.api_version = api_version
        self.auth_error = auth_error
        self.token = token
        self.label = label
        self.store = store
        self.binary_frames = binary_frames
        self.upstream: aiohttp.ClientWebSocketResponse | None = None
        self._closing = False
        self.close_reason: str | None = None  # the reason the client was closed with

    # ----------------------------------------------------------------- main loop

    async def run(self) -> None:
        dial = None if self.auth_error else asyncio.create_task(self._dial())
        try:
            first = await self._first_frame()
            if first is None:
                return
            if self.observer is not None:
                self.observer(self.label, "client", first)
            try:
                if self.auth_error is not None:
                    raise self.auth_error
                setup = await self._admit(first)
            except LiveError as exc:
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
            await self.close(1011, "Internal error encountered.")
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
        if self._closing:
            return
        self._closing = True
        log.info("%s closing: %d %s", self.label, code, reason)
        if self.upstream is not None and not self.upstream.closed:
            await self.upstream.close(code=1001 if code == 1001 else 1000)
        if not self.ws.closed:
            self.close_reason = cut_reason(reason)
            await self.ws.close(code=code, message=self.close_reason.encode("utf-8"))

    # ------------------------------------------------------------ the first frame

    async def _first_frame(self) -> str | bytes | None:
        msg = await self.ws.receive()
        return msg.data if msg.type in _DATA else None

    async def _admit(self, frame: str | bytes) -> str | bytes:
        """The setup to send upstream. Without a token: the frame as it came (the upstream
        judges it). With one: parsed, constrained by the token, one use spent (not when
        resuming), re-encoded."""
        token = self.token
        if token is None:
            return frame
        message = parse_client_frame(frame)
        if message.kind != "setup" or message.setup is None:
            raise LiveError(1007, errors.SETUP_ORDER)
        setup = tk.constrain_setup(message.setup, token)
        if not (setup.session_resumption and setup.session_resumption.handle):
            spent = await self.store.spend_token(token["name"], int(token.get("uses", 1)))
            refused = tk.new_session_error(token, time.time())
            if refused is not None or not spent:
                raise refused or LiveError(1008, errors.UNREGISTERED_CALLER)
        return json.dumps({"setup": setup.to_json_dict()}, separators=(",", ":"))

    # --------------------------------------------------------------- the upstream

    async def _dial(self) -> aiohttp.ClientWebSocketResponse:
        up = self.engine.upstream
        return await self.engine.http().ws_connect(
            up.url(self.api_version), headers=up.headers(),
            ssl=up.ssl_context if up.ssl_context is not None else True,
            compress=15 if up.compression else 0, max_msg_size=0,
            autoping=True, heartbeat=None)

    async def _await_upstream(self, dial: asyncio.Task) -> aiohttp.ClientWebSocketResponse | None:
        host = self.engine.upstream.host
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
                if not self.ws.closed and not self._closing:
                    self._closing = True
                    log.info("%s upstream closed: %s %s", self.label, code, reason)
                    self.close_reason = cut_reason(reason)
                    await self.ws.close(code=code, message=self.close_reason.encode("utf-8"))
            elif not up.closed:  # the client ended: say so upstream with its code
                code = self.ws.close_code
                await up.close(code=code if _sendable(code) else 1000)
            await asyncio.wait((to_up, to_client), timeout=5.0)  # both sides wind down
        finally:
            for task in (to_up, to_client):
                task.cancel()

    async def _client_to_upstream(self, up: aiohttp.ClientWebSocketResponse) -> None:
        ws, observer, label = self.ws, self.observer, self.label
        try:
            while True:
                msg = await ws.receive()
                kind = msg.type
                if kind is WSMsgType.TEXT:
                    if observer is not None:
                        observer(label, "client", msg.data)
                    await up.send_str(msg.data)
                elif kind is WSMsgType.BINARY:
                    if observer is not None:
                        observer(label, "client", msg.data)
                    await up.send_bytes(msg.data)
                else:  # closed, closing, or an error (e.g. 1009: aiohttp has closed it)
                    return
        except (ConnectionError, RuntimeError):  # the upstream went away mid-send
            return

    async def _upstream_to_client(self, up: aiohttp.ClientWebSocketResponse
                                  ) -> tuple[int, str] | None:
        """Forward until the upstream ends: its close code and reason, or None when the
        relay itself is closing it (the client left, the server stops)."""
        ws, observer, label = self.ws, self.observer, self.label
        binary = self.binary_frames
        try:
            while True:
                msg = await up.receive()
                kind = msg.type
                if kind is WSMsgType.BINARY:
                    if observer is not None:
                        observer(label, "server", msg.data)
                    if binary:
                        await ws.send_bytes(msg.data)
                    else:  # --text-frames: the client wants text
                        await ws.send_str(msg.data.decode("utf-8", "replace"))
                elif kind is WSMsgType.TEXT:
                    if observer is not None:
                        observer(label, "server", msg.data)
                    await ws.send_str(msg.data)
                elif kind is WSMsgType.CLOSE:
                    code = msg.data
                    return (code, msg.extra or "") if _sendable(code) else (1000, "")
                elif kind is WSMsgType.CLOSING or self._closing:
                    return None
                else:  # closed without a close frame, or a protocol error
                    host = self.engine.upstream.host
                    log.warning("%s upstream %s connection lost (%s)", label, host,
                                up.exception() or kind.name)
                    return 1011, f"openlive relay: upstream {host} connection lost"
        except (ConnectionError, RuntimeError):  # the client went away mid-send
            return None
