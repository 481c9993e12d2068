"""A Live session over a raw WebSocket (aiohttp): connect, send helpers, the receive
iterator, automatic tool calls, and transparent resumption after goAway or a drop.

```python
async with connect("gemini-2.5-flash-native-audio-preview-12-2025", api_key=KEY,
                   modality="TEXT") as session:
    await session.send_text("Hello")
    async for message in session:          # does not stop at turnComplete
        ...
```
"""

from __future__ import annotations

import asyncio
import enum
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import aiohttp
import numpy as np
from aiohttp import WSMsgType
from pydantic import ValidationError
from yarl import URL

from ..wire.base import Empty
from ..wire.client_messages import (
    ClientContent,
    ClientMessage,
    ContextUpdate,
    RealtimeInput,
    ToolResponse,
    ToolsUpdate,
)
from ..wire.codec import parse_server_frame
from ..wire.content import Blob, Content, FunctionResponse, Part, Scheduling
from ..wire.server_messages import ServerMessage
from ..wire.setup import Setup, Tool
from . import audio
from .config import make_setup
from .errors import LiveClientError, LiveConnectError, LiveSessionClosed, is_fatal_close
from .reconnect import ResumptionState, RetryPolicy
from .tools import ToolRegistry
from .url import Endpoint, endpoint

log = logging.getLogger("openlive.client")

MAX_SERVER_MESSAGE = 64 * 1024 * 1024
DEFAULT_CONNECT_TIMEOUT = 30.0


class State(enum.Enum):
    CONNECTING = "connecting"
    LIVE = "live"
    RECONNECTING = "reconnecting"
    CLOSED = "closed"


@dataclass(frozen=True)
class Received:
    """One server message with its frame as received (``raw``, for logging and ``--json``)
    and the monotonic time it arrived."""

    message: ServerMessage
    raw: str
    at: float


_END = object()


def _close_info(ws: aiohttp.ClientWebSocketResponse, msg: aiohttp.WSMessage) -> tuple[int | None,
                                                                                       str]:
    if msg.type is WSMsgType.CLOSE:
        return msg.data, msg.extra or ""
    exc = ws.exception()
    return ws.close_code if ws.close_code is not None else 1006, str(exc) if exc else ""


class LiveSession:
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
        self.setup = setup
        self.tools = tools or ToolRegistry()
        self.ssl = ssl
        self.heartbeat = heartbeat
        self.connect_timeout = connect_timeout
        self.retry = retry or RetryPolicy()
        self.resumption = setup.session_resumption is not None
        self.resume_state = ResumptionState(
            handle=setup.session_resumption.handle if setup.session_resumption else None)
        self.state = State.CONNECTING
        self.session_id: str | None = None
        self.reconnects = 0
        self._http = http
        self._own_http = http is None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._queue: asyncio.Queue[Any] = asyncio.Queue()
        self._pending: deque[str] = deque()  # written after the next setupComplete
        self._send_lock = asyncio.Lock()
        self._reader: asyncio.Task[None] | None = None
        self._tool_tasks: dict[str, asyncio.Task[None]] = {}
        self._error: LiveClientError | None = None
        self._closing = False
        self._go_away = False
        self._generating = False
        self._awaiting_reply = False

    # ------------------------------------------------------------------ lifecycle

    @property
    def handle(self) -> str | None:
        """The latest resumable session handle (pass it as ``handle=`` to resume later)."""
        return self.resume_state.handle

    async def start(self) -> LiveSession:
        if self._http is None:
            self._http = aiohttp.ClientSession()
        try:
            first = await self._open(self.resume_state.handle)
        except BaseException:
            await self._close_http()
            self.state = State.CLOSED
            raise
        self._queue.put_nowait(first)
        self.state = State.LIVE
        self._reader = asyncio.create_task(self._run(), name="openlive-client-reader")
        return self

    async def close(self) -> None:
        """End the session (close 1000) and stop background work. Idempotent."""
        if self._closing:
            return
        self._closing = True
        self.state = State.CLOSED
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
        self._cancel_tools()
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

    def _setup_frame(self, handle: str | None) -> str:
        setup = self.setup
        if self.resumption:
            setup = setup.model_copy(update={
                "session_resumption": setup.session_resumption.model_copy(  # type: ignore[union-attr]
                    update={"handle": handle})})
        return ClientMessage(setup=setup).model_dump_json(exclude_none=True)

    async def _open(self, handle: str | None) -> Received:
        """Connect, send setup, wait for setupComplete (raise LiveConnectError if refused)."""
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
        early: list[Received] = []
        try:
            await ws.send_str(self._setup_frame(handle))
            async with asyncio.timeout(self.connect_timeout):
                while True:
                    msg = await ws.receive()
                    if msg.type in (WSMsgType.TEXT, WSMsgType.BINARY):
                        got = self._parse(msg.data)
                        if got is None:
                            continue
                        if got.message.setup_complete is None:
                            early.append(got)
                            continue
                        self.session_id = got.message.setup_complete.session_id
                        break
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
        for item in early:  # rare: anything before setupComplete is delivered after it
            self._handle(item.message)
            self._queue.put_nowait(item)
        return got

    @staticmethod
    def _parse(data: str | bytes) -> Received | None:
        try:
            message = parse_server_frame(data)
        except ValidationError as exc:
            log.warning("ignored a server frame that is not a Live message: %s",
                        exc.errors(include_url=False)[0].get("msg"))
            return None
        raw = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
        return Received(message, raw, time.monotonic())

    # ---------------------------------------------------------------- the reader

    async def _run(self) -> None:
        try:
            while True:
                ws = self._ws
                assert ws is not None
                code, reason, switch = await self._read(ws)
                if self._closing:
                    return
                if switch:
                    log.info("goAway: resuming on a new connection")
                    await ws.close(code=1000, message=b"resuming after goAway")
                elif self.resumption and self.handle and not is_fatal_close(code):
                    log.info("connection closed (%s %s): resuming", code, reason)
                    self.state = State.RECONNECTING
                else:
                    error = None if code == 1000 else LiveSessionClosed(code, reason)
                    self._finish(error)
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
                got = self._parse(msg.data)
                if got is None:
                    continue
                switch = self._handle(got.message)
                self._queue.put_nowait(got)
                if switch:
                    return None, "", True
            else:
                code, reason = _close_info(ws, msg)
                return code, reason, False

    def _handle(self, message: ServerMessage) -> bool:
        """Book-keeping for one message; True when the client should switch connections now
        (state is set synchronously, so a send made after seeing this message is queued)."""
        update = message.session_resumption_update
        if update is not None:
            self.resume_state.on_update(update.new_handle, update.resumable)
        content = message.server_content
        if content is not None:
            if content.model_turn is not None or content.output_transcription is not None:
                self._generating = True
            if content.turn_complete:
                self._generating = self._awaiting_reply = False
        if message.tool_call is not None:
            self._generating = True
            self._dispatch_tools(message)
        if message.tool_call_cancellation is not None:
            for call_id in message.tool_call_cancellation.ids or ():
                task = self._tool_tasks.pop(call_id, None)
                if task is not None:
                    task.cancel()
        if message.go_away is not None:
            self._go_away = True
        if (self._go_away and self.resumption and self.handle and not self._generating
                and not self._awaiting_reply and not self._tool_tasks):
            self._go_away = False
            self.state = State.RECONNECTING
            return True
        return False

    async def _resume(self) -> None:
        self.state = State.RECONNECTING
        last: LiveConnectError | None = None
        for delay in self.retry.delays():
            if delay:
                await asyncio.sleep(delay)
            try:
                first = await self._open(self.handle)
            except LiveConnectError as exc:
                last = exc
                log.info("resume failed: %s", exc)
                if is_fatal_close(exc.code):
                    break
                continue
            self.reconnects += 1
            self._generating = False
            self._queue.put_nowait(first)
            await self._flush_after_setup()
            return
        assert last is not None
        raise last

    async def _flush_after_setup(self) -> None:
        async with self._send_lock:
            frames = self.resume_state.take_replay() + list(self._pending)
            self._pending.clear()
            ws = self._ws
            assert ws is not None
            for i, frame in enumerate(frames):
                try:
                    await ws.send_str(frame)
                except (aiohttp.ClientError, ConnectionError, RuntimeError):
                    self._pending.extend(frames[i:])  # dropped again: the reader resumes
                    break
                self.resume_state.on_sent(frame)
            self.state = State.LIVE

    def _finish(self, error: LiveClientError | None) -> None:
        self.state = State.CLOSED
        self._error = error
        if self._pending:
            log.warning("%d queued message(s) were not sent: the session ended",
                        len(self._pending))
            self._pending.clear()
        self._cancel_tools()
        self._queue.put_nowait(_END)

    # ------------------------------------------------------------------ tools

    def _dispatch_tools(self, message: ServerMessage) -> None:
        assert message.tool_call is not None
        for call in message.tool_call.function_calls or ():
            if call.name in self.tools and call.id and call.id not in self._tool_tasks:
                self._tool_tasks[call.id] = asyncio.create_task(
                    self._run_tool(call), name=f"openlive-tool {call.name} {call.id}")

    async def _run_tool(self, call: Any) -> None:
        try:
            response = await self.tools.call(call)
        except asyncio.CancelledError:
            log.info("tool call %s (%s) cancelled", call.id, call.name)
            return
        finally:
            task = self._tool_tasks.get(call.id)
            if task is asyncio.current_task():
                del self._tool_tasks[call.id]
        if self.state is State.CLOSED:
            return
        try:
            await self.send_tool_response(response)
        except LiveClientError as exc:
            log.info("tool response %s not sent: %s", call.id, exc)

    def _cancel_tools(self) -> None:
        for task in self._tool_tasks.values():
            task.cancel()
        self._tool_tasks.clear()

    # ---------------------------------------------------------------- receiving

    def __aiter__(self) -> LiveSession:
        return self

    async def __anext__(self) -> ServerMessage:
        return (await self._next()).message

    async def _next(self) -> Received:
        item = await self._queue.get()
        if item is _END:
            self._queue.put_nowait(_END)  # later iterations end too
            if self._error is not None:
                raise self._error
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
        """
        if isinstance(message, dict):
            message = ClientMessage.model_validate(message)
        if message.setup is not None:
            raise ValueError("setup is sent by connect(), once")
        frame = message.model_dump_json(exclude_none=True)
        cc, rt = message.client_content, message.realtime_input
        if (cc is not None and cc.turn_complete is not False) or (rt is not None and rt.text):
            self._awaiting_reply = True
        async with self._send_lock:
            if self.state is State.CLOSED:
                raise self._error or LiveSessionClosed(None, "the session is closed")
            if self.state is not State.LIVE:
                self._pending.append(frame)
                return
            ws = self._ws
            assert ws is not None
            try:
                await ws.send_str(frame)
            except (aiohttp.ClientError, ConnectionError, RuntimeError) as exc:
                if self.resumption and self.handle:
                    self._pending.append(frame)  # the reader sees the drop and resumes
                    return
                raise LiveSessionClosed(ws.close_code, f"send failed: {exc}") from None
            if self.resumption:
                self.resume_state.on_sent(frame)

    async def send_client_content(self, turns: list[Content] | Content | str | None = None, *,
                                  turn_complete: bool = True) -> None:
        """``clientContent``: turns appended to the conversation (a str is one user turn).
        It interrupts a reply in progress, as on Google's service."""
        if isinstance(turns, str):
            turns = [Content(role="user", parts=[Part(text=turns)])]
        elif isinstance(turns, Content):
            turns = [turns]
        await self.send(ClientMessage(client_content=ClientContent(
            turns=turns, turn_complete=turn_complete)))

    async def send_text(self, text: str, *, turn_complete: bool = True,
                        role: Literal["user", "model"] = "user") -> None:
        """One text turn as ``clientContent``."""
        await self.send_client_content([Content(role=role, parts=[Part(text=text)])],
                                       turn_complete=turn_complete)

    async def send_realtime_text(self, text: str) -> None:
        """``realtimeInput.text``: text that goes through the realtime (VAD) path."""
        await self.send(ClientMessage(realtime_input=RealtimeInput(text=text)))

    async def send_audio(self, pcm: bytes | np.ndarray, *, sample_rate: int = audio.INPUT_RATE,
                         channels: int = 1) -> None:
        """Audio as ``realtimeInput.audio``: PCM16 bytes or float samples at any rate and
        channel count, sent as 16 kHz mono PCM16 (resampled with soxr when needed)."""
        if isinstance(pcm, np.ndarray):
            data = audio.to_input_pcm(pcm.reshape(-1, channels) if pcm.ndim == 1 and channels > 1
                                      else pcm, sample_rate)
        else:
            data = audio.pcm16_to_input(pcm, sample_rate, channels)
        await self.send(ClientMessage(realtime_input=RealtimeInput(
            audio=Blob(mime_type=audio.INPUT_MIME, data=data))))

    async def stream_audio(self, pcm: bytes, *, chunk_ms: int = 100, realtime: bool = True,
                           on_chunk: Callable[[int, float], None] | None = None) -> float:
        """Send 16 kHz mono PCM16 in ``chunk_ms`` chunks, at real-time pace unless
        ``realtime=False``. Returns the audio's duration in seconds."""
        start = time.monotonic()
        sent = 0.0
        for i, chunk in enumerate(audio.chunks(pcm, audio.INPUT_RATE, chunk_ms)):
            if realtime:
                wait = start + sent - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
            await self.send_audio(chunk)
            if on_chunk is not None:
                on_chunk(i, time.monotonic() - start)
            sent += audio.duration(chunk)
        return sent

    async def stream_audio_file(self, path: str | Path, *, chunk_ms: int = 100,
                                realtime: bool = True, end: bool = True) -> float:
        """Stream a WAV file (any rate or channel count) as 16 kHz mono PCM16; then
        ``audioStreamEnd`` if ``end``. Returns the duration in seconds."""
        pcm = audio.load_input_audio(path)
        seconds = await self.stream_audio(pcm, chunk_ms=chunk_ms, realtime=realtime)
        if end:
            await self.send_audio_stream_end()
        return seconds

    async def send_video_frame(self, image: bytes, mime_type: str = "image/jpeg") -> None:
        """One video frame (JPEG by default) as ``realtimeInput.video``; about 1 per second."""
        if not mime_type.startswith("image/"):
            raise ValueError("a video frame's mime type must be image/*")
        await self.send(ClientMessage(realtime_input=RealtimeInput(
            video=Blob(mime_type=mime_type, data=image))))

    async def send_activity_start(self) -> None:
        """``activityStart`` (only with automatic activity detection disabled)."""
        await self.send(ClientMessage(realtime_input=RealtimeInput(activity_start=Empty())))

    async def send_activity_end(self) -> None:
        await self.send(ClientMessage(realtime_input=RealtimeInput(activity_end=Empty())))

    async def send_audio_stream_end(self) -> None:
        """``audioStreamEnd``: the microphone paused (automatic activity detection on)."""
        await self.send(ClientMessage(realtime_input=RealtimeInput(audio_stream_end=True)))

    async def send_tool_response(self, responses: FunctionResponse | list[FunctionResponse]
                                 ) -> None:
        if isinstance(responses, FunctionResponse):
            responses = [responses]
        await self.send(ClientMessage(tool_response=ToolResponse(function_responses=responses)))

    async def respond(self, call_id: str, response: dict[str, Any], *, name: str | None = None,
                      scheduling: Scheduling | None = None,
                      will_continue: bool | None = None) -> None:
        """Answer one function call by id (for calls the registry does not handle)."""
        await self.send_tool_response(FunctionResponse(
            id=call_id, name=name, response=response, scheduling=scheduling,
            will_continue=will_continue))

    async def send_context_update(self, *, system_instruction: str | Content | None = None,
                                  tools: list[Tool] | None = None) -> None:
        """``contextUpdate`` (google-genai 3.4): new system instruction and/or tools."""
        if isinstance(system_instruction, str):
            system_instruction = Content(role="user", parts=[Part(text=system_instruction)])
        await self.send(ClientMessage(context_update=ContextUpdate(
            system_instruction=system_instruction,
            tools=ToolsUpdate(tools=tools) if tools is not None else None)))


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
