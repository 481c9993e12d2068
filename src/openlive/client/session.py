"""A Live session over a raw WebSocket (aiohttp): the I/O edge. Every protocol decision
(state, resumption, what to re-send, which tool calls to run) is the core's
(:mod:`openlive.client.protocol`); the send helpers are in :mod:`openlive.client.send`, tool
running in :mod:`openlive.client.tools`.

```python
async with connect("gemini-3.8-live", api_key=KEY,
                   output_transcription=True) as session:  # AUDIO replies, and their text
    await session.send_text("Hello")
    async for message in session:          # does not stop at turnComplete
        ...
```
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable, Generator
from typing import Any, Literal

import aiohttp
from aiohttp import WSMsgType
from yarl import URL

from ..wire.client_messages import ClientMessage
from ..wire.content import FunctionResponse
from ..wire.server_messages import ServerMessage
from ..wire.setup import Setup
from .config import make_setup
from .errors import LiveClientError, LiveConnectError, LiveSessionClosed
from .protocol import ClientCore, Decisions, Received, State
from .reconnect import ResumptionState, RetryPolicy
from .send import SendHelpers
from .tools import ToolRegistry, ToolTasks
from .url import Endpoint, endpoint

__all__ = ["DEFAULT_CONNECT_TIMEOUT", "MAX_SERVER_MESSAGE", "LiveSession", "Received", "State",
           "connect"]

log = logging.getLogger("openlive.client")

MAX_SERVER_MESSAGE = 64 * 1024 * 1024
DEFAULT_CONNECT_TIMEOUT = 30.0
_SEND_ERRORS = (aiohttp.ClientError, ConnectionError, RuntimeError)

_END = object()


def _close_info(ws: aiohttp.ClientWebSocketResponse, msg: aiohttp.WSMessage) -> tuple[int | None,
                                                                                       str]:
    if msg.type is WSMsgType.CLOSE:
        return msg.data, msg.extra or ""
    exc = ws.exception()
    return ws.close_code if ws.close_code is not None else 1006, str(exc) if exc else ""


class LiveSession(SendHelpers):
    """One Live session (possibly spanning several connections when it resumes).

    Iterate it for server messages (``setupComplete`` of each connection included); the
    iteration ends when the session ends normally (close 1000 or :meth:`close`) and raises
    :class:`LiveSessionClosed` with Google's close code and reason otherwise.
    """

    def __init__(self, endpoint: Endpoint, setup: Setup, *, tools: ToolRegistry | None = None,
                 ssl: Any = True, heartbeat: float | None = None,
                 connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
                 retry: RetryPolicy | None = None,
                 http: aiohttp.ClientSession | None = None) -> None:
        self.endpoint = endpoint
        self.tools = tools or ToolRegistry()
        self.ssl = ssl
        self.heartbeat = heartbeat
        self.connect_timeout = connect_timeout
        self.retry = retry or RetryPolicy()
        self.core = ClientCore(setup, tools=self.tools)
        self._http = http
        self._own_http = http is None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._queue: asyncio.Queue[Any] = asyncio.Queue()
        self._send_lock = asyncio.Lock()
        self._reader: asyncio.Task[None] | None = None
        self._tool_tasks = ToolTasks(self.tools, respond=self._send_tool_result,
                                     finished=self.core.tool_finished)

    # ------------------------------------------------------- the core's state

    @property
    def setup(self) -> Setup:
        return self.core.setup

    @property
    def state(self) -> State:
        return self.core.state

    @property
    def session_id(self) -> str | None:
        return self.core.session_id

    @property
    def reconnects(self) -> int:
        return self.core.reconnects

    @property
    def resumption(self) -> bool:
        return self.core.resumption

    @property
    def resume_state(self) -> ResumptionState:
        return self.core.resume_state

    @property
    def handle(self) -> str | None:
        """The latest resumable session handle (pass it as ``handle=`` to resume later)."""
        return self.core.handle

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> LiveSession:
        if self._http is None:
            self._http = aiohttp.ClientSession()
        try:
            first = await self._open()
        except BaseException:
            await self._close_http()
            self.core.finish(None)
            raise
        self._apply(first)
        await self._write_outbox()
        self._reader = asyncio.create_task(self._run(), name="openlive-client-reader")
        return self

    async def close(self) -> None:
        """End the session (close 1000) and stop background work. Idempotent."""
        if not self.core.close():
            return
        ws = self._ws
        if ws is not None and not ws.closed:
            try:
                await asyncio.wait_for(ws.close(code=1000), 5)
            except (TimeoutError, aiohttp.ClientError, ConnectionError, RuntimeError):
                pass
        if self._reader is not None and not self._reader.done():
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)
        if self._ws is not None and self._ws is not ws and not self._ws.closed:
            await self._ws.close(code=1000)  # opened by a resume that raced with close()
        self._tool_tasks.cancel_all()
        await self._close_http()
        self._queue.put_nowait(_END)

    async def __aenter__(self) -> LiveSession:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _close_http(self) -> None:
        if self._own_http and self._http is not None:
            await self._http.close()
            self._http = None

    async def _open(self) -> Decisions:
        """Connect, send setup, wait for setupComplete (raise LiveConnectError if refused);
        returns the core's decisions for the setupComplete."""
        assert self._http is not None
        shown = self.endpoint.redacted_url
        try:
            ws = await asyncio.wait_for(self._http.ws_connect(
                URL(self.endpoint.url, encoded=True), headers=self.endpoint.headers,
                ssl=self.ssl, heartbeat=self.heartbeat, autoping=True,
                max_msg_size=MAX_SERVER_MESSAGE), self.connect_timeout)
        except aiohttp.WSServerHandshakeError as exc:
            raise LiveConnectError(
                f"the server refused the WebSocket upgrade at {shown}: HTTP {exc.status} "
                f"{exc.message}", status=exc.status, url=shown) from None
        except TimeoutError:
            raise LiveConnectError(f"cannot connect to {shown}: timed out after "
                                   f"{self.connect_timeout:g} s", url=shown) from None
        except (aiohttp.ClientError, OSError) as exc:
            raise LiveConnectError(f"cannot connect to {shown}: {exc}", url=shown) from None
        try:
            await ws.send_str(self.core.connect())
            async with asyncio.timeout(self.connect_timeout):
                while True:
                    msg = await ws.receive()
                    if msg.type in (WSMsgType.TEXT, WSMsgType.BINARY):
                        decisions = self.core.receive_frame(msg.data, time.monotonic())
                        if decisions.setup_complete:
                            break
                        continue
                    code, reason = _close_info(ws, msg)
                    raise LiveConnectError.closed(code, reason, shown)
        except TimeoutError:
            await ws.close()
            raise LiveConnectError(f"no setupComplete from {shown} within "
                                   f"{self.connect_timeout:g} s", url=shown) from None
        except (aiohttp.ClientError, ConnectionError) as exc:
            await ws.close()
            raise LiveConnectError(f"connection to {shown} failed during setup: {exc}",
                                   url=shown) from None
        except BaseException:
            await ws.close()
            raise
        self._ws = ws
        return decisions

    def _apply(self, decisions: Decisions) -> bool:
        """Do what the core decided for one frame; True when it is time to switch
        connections (goAway)."""
        for call in decisions.run_tools:
            self._tool_tasks.start(call)
        self._tool_tasks.cancel(decisions.cancel_tools)
        for got in decisions.deliver:
            self._queue.put_nowait(got)
        return decisions.switch

    async def _write_outbox(self) -> None:
        """After setupComplete: what the core says to (re)send, before any new send."""
        async with self._send_lock:
            frames = self.core.take_outbox()
            ws = self._ws
            assert ws is not None
            for i, frame in enumerate(frames):
                try:
                    await ws.send_str(frame)
                except _SEND_ERRORS:
                    self.core.requeue(frames[i:])  # dropped again: the reader resumes
                    break
                self.core.sent(frame)
            self.core.live()

    # ---------------------------------------------------------------- the reader

    async def _run(self) -> None:
        try:
            while True:
                ws = self._ws
                assert ws is not None
                code, reason, switch = await self._read(ws)
                if self.core.closing:
                    return
                if switch:
                    log.info("goAway: resuming on a new connection")
                    await ws.close(code=1000, message=b"resuming after goAway")
                elif self.core.closed(code, reason):
                    log.info("connection closed (%s %s): resuming", code, reason)
                else:
                    self._end()
                    return
                try:
                    await self._resume()
                except LiveConnectError as exc:
                    self._finish(exc)
                    return
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug here must end the iteration, not hang it
            log.exception("client reader failed")
            self._finish(LiveSessionClosed(None, f"client error: {exc}"))

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> tuple[int | None, str, bool]:
        """Deliver messages until the connection closes (code, reason, False) or a goAway
        reaches a point where switching connections is safe (…, True)."""
        while True:
            msg = await ws.receive()
            if msg.type in (WSMsgType.TEXT, WSMsgType.BINARY):
                if self._apply(self.core.receive_frame(msg.data, time.monotonic())):
                    return None, "", True
            else:
                code, reason = _close_info(ws, msg)
                return code, reason, False

    async def _resume(self) -> None:
        last: LiveConnectError | None = None
        for delay in self.retry.delays():
            if delay:
                await asyncio.sleep(delay)
            try:
                first = await self._open()
            except LiveConnectError as exc:
                last = exc
                log.info("resume failed: %s", exc)
                if not self.core.should_retry(exc.code):
                    break
                continue
            self._apply(first)
            await self._write_outbox()
            return
        assert last is not None
        raise last

    def _finish(self, error: LiveClientError | None) -> None:
        self.core.finish(error)
        self._end()

    def _end(self) -> None:
        """The core says the session is over: stop the tools, end the iteration."""
        self._tool_tasks.cancel_all()
        self._queue.put_nowait(_END)

    async def _send_tool_result(self, response: FunctionResponse) -> None:
        if self.core.state is State.CLOSED:
            return
        try:
            await self.send_tool_response(response)
        except LiveClientError as exc:
            log.info("tool response %s not sent: %s", response.id, exc)

    # ---------------------------------------------------------------- receiving

    def __aiter__(self) -> LiveSession:
        return self

    async def __anext__(self) -> ServerMessage:
        return (await self._next()).message

    async def _next(self) -> Received:
        item = await self._queue.get()
        if item is _END:
            self._queue.put_nowait(_END)  # later iterations end too
            if self.core.error is not None:
                raise self.core.error
            raise StopAsyncIteration
        return item

    async def receive(self) -> ServerMessage:
        """The next server message; raises LiveSessionClosed (or StopAsyncIteration once the
        session ended normally)."""
        return await self.__anext__()

    async def received(self) -> AsyncIterator[Received]:
        """Like iterating the session, with each message's raw frame and arrival time."""
        while True:
            try:
                yield await self._next()
            except StopAsyncIteration:
                return

    # ------------------------------------------------------------------ sending

    async def send(self, message: ClientMessage | dict[str, Any]) -> None:
        """Send any client message (a model, or a dict in camelCase or snake_case).

        While the client is reconnecting the message is queued and sent after the new
        ``setupComplete``; see :mod:`openlive.client.reconnect` for the exact guarantee.
        The typed helpers (``send_text``, ``send_audio``, …) come from
        :class:`openlive.client.send.SendHelpers`.
        """
        if isinstance(message, dict):
            message = ClientMessage.model_validate(message)
        frame = self.core.frame_for(message)
        async with self._send_lock:
            if not self.core.write_or_queue(frame):
                return
            ws = self._ws
            assert ws is not None
            try:
                await ws.send_str(frame)
            except _SEND_ERRORS as exc:
                error = self.core.write_failed(frame, ws.close_code, str(exc))
                if error is not None:
                    raise error from None
                return
            self.core.sent(frame)


class _Connect:
    """What :func:`connect` returns: ``await`` it or use it as ``async with``."""

    def __init__(self, session: LiveSession) -> None:
        self._session = session

    def __await__(self) -> Generator[Any, None, LiveSession]:
        return self._session.start().__await__()

    async def __aenter__(self) -> LiveSession:
        return await self._session.start()

    async def __aexit__(self, *exc: object) -> None:
        await self._session.close()


def connect(model: str, *, api_key: str | None = None, token: str | None = None,
            base_url: str | None = None, api_version: str | None = None,
            config: Setup | dict[str, Any] | None = None,
            modality: Literal["TEXT", "AUDIO"] | None = None,
            system_instruction: str | None = None, voice: str | None = None,
            input_transcription: bool = False, output_transcription: bool = False,
            tools: ToolRegistry | list[Callable[..., Any]] | None = None,
            resumption: bool = False, handle: str | None = None,
            ssl: Any = True, headers: dict[str, str] | None = None,
            key_in_header: bool = False, heartbeat: float | None = None,
            connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
            retry: RetryPolicy | None = None,
            http: aiohttp.ClientSession | None = None) -> _Connect:
    """Open a Live session: build the endpoint URL, send ``setup``, wait for
    ``setupComplete``. Raises :class:`LiveConnectError` (with Google's close code and reason)
    when the server refuses.

    - ``base_url``: default Google's endpoint; ``http://127.0.0.1:8080`` for a local openlive.
    - ``api_key`` goes in ``?key=`` (``key_in_header=True``: ``x-goog-api-key``); ``token``
      (an ephemeral ``auth_tokens/…``) uses the v1alpha Constrained method.
    - ``config``: a :class:`openlive.wire.Setup` or a dict; the keyword shortcuts apply on top.
    - ``tools``: functions (or a :class:`ToolRegistry`) answered automatically.
    - ``resumption=True`` asks for resumption handles and resumes transparently after
      ``goAway`` or a dropped connection; ``handle=`` resumes an earlier session.
    - ``heartbeat``: client pings every N seconds (aiohttp waits N/2 for the pong). Default
      None: no client pings, so a slow pong can never kill a long call (spec §5, §9); the
      client still answers the server's pings.
    """
    registry = tools if isinstance(tools, ToolRegistry) else ToolRegistry(list(tools or []))
    setup = make_setup(model, config, modality=modality, system_instruction=system_instruction,
                       voice=voice, input_transcription=input_transcription,
                       output_transcription=output_transcription, tools=registry,
                       resumption=resumption, handle=handle)
    ep = endpoint(base_url, api_key=api_key, token=token, api_version=api_version,
                  key_in_header=key_in_header, headers=headers)
    return _Connect(LiveSession(ep, setup, tools=registry, ssl=ssl, heartbeat=heartbeat,
                                connect_timeout=connect_timeout, retry=retry, http=http))
