"""One Live WebSocket connection: frames in, session core, engine tasks, frames out.

This is glue only; every protocol rule lives in :mod:`openlive.session.state`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from aiohttp import WSMsgType, web

from ..engines.base import Engine, EngineSession
from ..session import events as ev
from ..session.state import LiveSession, Phase
from ..store.base import Store
from ..wire.codec import encode_server_message
from ..wire.content import Content, FunctionCall, FunctionResponse
from ..wire.errors import DEADLINE_EXCEEDED, LiveError, cut_reason
from ..wire.server_messages import UsageMetadata
from ..wire.setup import Setup

log = logging.getLogger("openlive.connection")


class Connection:
    observer: Callable[[str, str, object], None] | None = None  # ServerConfig.observer

    def __init__(
        self,
        ws: web.WebSocketResponse,
        session: LiveSession,
        engine: Engine,
        *,
        binary_frames: bool = True,
        label: str = "",
        store: Store | None = None,
        handle_ttl: float = 7200.0,
    ) -> None:
        self.ws = ws
        self.store = store
        self.handle_ttl = handle_ttl
        self._saves: set[asyncio.Task[None]] = set()
        self._issued: str | None = None  # the last handle this connection stored
        self._limits_task: asyncio.Task[None] | None = None
        self._rearm = asyncio.Event()
        self.session = session
        self.engine = engine
        self.binary_frames = binary_frames
        self.label = label
        self.engine_session: EngineSession | None = None
        self._send_lock = asyncio.Lock()
        self._turn_tasks: dict[int, asyncio.Task[None]] = {}
        self._tool_waiters: dict[str, asyncio.Future[FunctionResponse]] = {}
        self._closing = False
        self.close_reason: str | None = None  # the reason this server closed with
        self._deadline: asyncio.Task[None] | None = None
        self._dispatching = False
        self._flushes: set[asyncio.Task[None]] = set()

    # ----------------------------------------------------------------- main loop

    async def run(self) -> None:
        self._arm_limits()
        try:
            async for msg in self.ws:
                if msg.type in (WSMsgType.TEXT, WSMsgType.BINARY):
                    if self.observer is not None:
                        self.observer(self.label, "client", msg.data)
                    try:
                        self.session.receive_frame(msg.data)
                        if self.session.admission is not None:
                            await self._admit()
                    except LiveError as exc:
                        await self.flush()
                        await self.close(exc.code, exc.reason)
                        break
                    if self.session.deadline_changed:
                        self._rearm.set()
                    if self.session.events:
                        self._dispatch_events()
                    if self.session.outbox:  # nothing to send for most audio frames
                        await self.flush()
                elif msg.type == WSMsgType.ERROR:
                    log.info("%s connection error: %s", self.label, self.ws.exception())
                    break
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("%s internal error", self.label)
            await self.close(1011, "Internal error encountered.")
        finally:
            await self._teardown()

    async def flush(self) -> None:
        """Send queued server messages, in order, from whichever task produced them."""
        async with self._send_lock:
            if self._saves:  # a handle is sent only once its session is in the store, so
                # that another server process can resume it at once
                await asyncio.gather(*self._saves, return_exceptions=True)
            outbox = self.session.outbox
            while outbox:
                data = encode_server_message(outbox.popleft())
                if self.ws.closed:
                    outbox.clear()
                    return
                if self.observer is not None:
                    self.observer(self.label, "server", data)
                try:
                    if self.binary_frames:
                        await self.ws.send_bytes(data)
                    else:
                        await self.ws.send_str(data.decode("utf-8"))
                except (ConnectionError, RuntimeError):
                    outbox.clear()  # peer gone: the read loop sees the close
                    return

    async def close(self, code: int, reason: str) -> None:
        if self._closing:
            return
        self._closing = True
        self.session.close()
        log.info("%s closing: %d %s", self.label, code, reason)
        # a close frame holds at most 123 bytes of reason (engines may pass longer ones)
        self.close_reason = cut_reason(reason)
        if not self.ws.closed:
            await self.ws.close(code=code, message=self.close_reason.encode("utf-8"))

    def close_after(self, seconds: float, code: int, reason: str) -> None:
        if self._deadline is None:
            self._deadline = asyncio.create_task(self._close_later(seconds, code, reason))

    async def _close_later(self, seconds: float, code: int, reason: str) -> None:
        await asyncio.sleep(seconds)
        await self.close(code, reason)

    # ------------------------------------------------- resumption, tokens, limits

    async def _admit(self) -> None:
        """Fetch what the session core asked for (stored session, token use), then let it
        decide (it raises LiveError to refuse)."""
        admission = self.session.admission
        assert admission is not None
        snapshot, spent = None, False
        if self.store is not None:
            if admission.handle is not None:
                found = admission.handle
                snapshot = await self.store.load_session(found, time.time())
                for _ in range(16):  # an older handle of the session points at the newest
                    if snapshot is None or "alias" not in snapshot:
                        break
                    found = snapshot["alias"]
                    snapshot = await self.store.load_session(found, time.time())
                if snapshot is not None:
                    self._issued = found  # this connection's first handle supersedes it
            if admission.spend_token and self.session.token is not None:
                token = self.session.token
                spent = await self.store.spend_token(token["name"], int(token.get("uses", 1)))
        self.session.admit(time.time(), snapshot=snapshot, token_spent=spent)
        if self.session.resumed:
            log.info("%s resumed a stored session", self.label)

    def _save_later(self, handle: str) -> None:
        if self.store is None:
            return
        snapshot = self.session.snapshot(time.time() + self.handle_ttl)
        # the handle this connection issued before now points at the newest (one snapshot
        # per session is stored; every handle resumes the session's latest state)
        previous, self._issued = self._issued, handle
        task = asyncio.create_task(self._save(handle, snapshot, previous))
        self._saves.add(task)
        task.add_done_callback(self._saves.discard)

    async def _save(self, handle: str, snapshot: dict, superseded: str | None = None) -> None:
        assert self.store is not None
        try:
            await self.store.save_session(handle, snapshot, snapshot["expires_at"])
            if superseded is not None:
                await self.store.save_session(superseded, {"alias": handle},
                                              snapshot["expires_at"])
        except Exception:
            log.exception("%s could not store the session for resumption", self.label)

    def _arm_limits(self) -> None:
        if self._limits_task is None:
            self._limits_task = asyncio.create_task(self._watch_limits())

    async def _watch_limits(self) -> None:
        """Sleep until the session core's next deadline (goAway, then the close)."""
        session = self.session
        while session.phase is not Phase.CLOSED and not self._closing:
            self._rearm.clear()
            when = session.deadline()
            wait = None if when is None else max(0.0, when - time.time())
            try:
                await asyncio.wait_for(self._rearm.wait(), wait)
                continue  # something changed (setup, video): read the deadline again
            except TimeoutError:
                pass
            try:
                session.tick(time.time())
            except LiveError as exc:
                await self.flush()
                await self.close(exc.code, exc.reason)
                return
            await self.flush()

    async def _teardown(self) -> None:
        if self._deadline is not None and not self._closing:
            self._deadline.cancel()
        handle = self.session.handle
        if self.store is not None and handle is not None and self.session.setup is not None:
            # the last state (pending tool calls included) goes under the last handle
            if self._saves:
                await asyncio.gather(*self._saves, return_exceptions=True)
            await self._save(handle, self.session.snapshot(time.time() + self.handle_ttl))
        self.session.close()
        self._rearm.set()  # the limits watcher sees the closed session and ends
        for task in list(self._turn_tasks.values()):
            task.cancel()
        for fut in self._tool_waiters.values():
            fut.cancel()
        if self._turn_tasks:
            await asyncio.gather(*self._turn_tasks.values(), return_exceptions=True)
        if self.engine_session is not None:
            try:
                await self.engine_session.aclose()
            except Exception:
                log.exception("%s engine close failed", self.label)

    # -------------------------------------------------------------- session events

    def _dispatch_events(self) -> None:
        if self._dispatching:  # an engine hook changed the session: the outer loop goes on
            return
        self._dispatching = True
        try:
            self._dispatch_loop()
        finally:
            self._dispatching = False

    def _dispatch_loop(self) -> None:
        events = self.session.events
        while events:
            event = events.popleft()
            if isinstance(event, ev.SetupDone):
                self.engine_session = self.engine.open_session(event.setup, event.model)
                self.session.audio_input = bool(getattr(self.engine_session, "hears_audio",
                                                        False))
                self.engine_session.attach(_ConnectionInput(self))
                log.info("%s setup done: model %s", self.label, event.model)
            elif isinstance(event, ev.HandleIssued):
                self._save_later(event.handle)
                continue
            elif isinstance(event, ev.TurnReady):
                self._start_turn(event)
            elif isinstance(event, ev.TurnInterrupted):
                task = self._turn_tasks.pop(event.turn_id, None)
                if task is not None:
                    task.cancel()
                for call_id in event.cancelled_call_ids:
                    fut = self._tool_waiters.pop(call_id, None)
                    if fut is not None:
                        fut.cancel()
            elif isinstance(event, ev.ToolResponsesReceived):
                for response in event.responses:
                    fut = self._tool_waiters.pop(response.id or "", None)
                    if fut is not None and not fut.done():
                        fut.set_result(response)
            if self.engine_session is not None and not isinstance(event, ev.SetupDone):
                self.engine_session.on_event(event)

    def _start_turn(self, event: ev.TurnReady) -> None:
        assert self.engine_session is not None and self.session.setup is not None
        turn = _ConnectionTurn(self, event, self.session.setup, list(self.session.history))
        task = asyncio.create_task(self._run_turn(turn), name=f"{self.label} turn {event.turn_id}")
        self._turn_tasks[event.turn_id] = task

    async def _run_turn(self, turn: _ConnectionTurn) -> None:
        assert self.engine_session is not None
        try:
            await self.engine_session.respond(turn)
        except asyncio.CancelledError:
            pass
        except Exception:
            log.exception("%s engine failed in turn %d", self.label, turn.turn_id)
            await self.flush()
            await self.close(1011, "Internal error encountered.")
        finally:
            self._turn_tasks.pop(turn.turn_id, None)

    async def _after(self, change: Callable[[], object]) -> None:
        change()
        self._dispatch_events()
        await self.flush()

    def _now(self, change: Callable[[], object]) -> None:
        """Change the session from synchronous code; its output is sent soon after."""
        change()
        self._dispatch_events()
        if self.session.outbox:
            task = asyncio.get_running_loop().create_task(self.flush())
            self._flushes.add(task)
            task.add_done_callback(self._flushes.discard)


class _ConnectionInput:
    """The engine's handle on the session outside turns (implements engines.base.SessionInput)."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def speech_started(self) -> None:
        self._conn._now(self._conn.session.speech_started)

    async def input_transcription(self, text: str, finished: bool | None = None) -> None:
        await self._conn._after(lambda: self._conn.session.input_transcription(text, finished))

    async def user_speech(self, text: str) -> None:
        await self._conn._after(lambda: self._conn.session.user_speech(text))


def _seconds(duration: str) -> float:
    """A proto Duration ("50s", "1.5s") in seconds."""
    return float(duration.strip().rstrip("s") or 0)


class _ConnectionTurn:
    """The engine's handle on one model turn (implements engines.base.Turn)."""

    def __init__(self, conn: Connection, user: ev.TurnReady, setup: Setup,
                 history: list[Content]) -> None:
        self._conn = conn
        self.user = user
        self.turn_id = user.turn_id
        self.setup = setup
        self.history = history

    async def send_text(self, text: str) -> None:
        await self._conn._after(lambda: self._conn.session.model_text(self.turn_id, text))

    async def send_audio(self, pcm: bytes, rate: int = 24_000,
                         transcript: str | None = None) -> None:
        await self._conn._after(lambda: self._conn.session.model_audio(
            self.turn_id, pcm, rate, transcript))

    async def generation_complete(self) -> None:
        await self._conn._after(lambda: self._conn.session.generation_complete(self.turn_id))

    async def call_tools(self, calls: list[FunctionCall]) -> list[FunctionResponse]:
        conn = self._conn
        issued = conn.session.tool_call(self.turn_id, calls)
        if issued is None:
            raise asyncio.CancelledError
        loop = asyncio.get_running_loop()
        waiters: list[Awaitable[FunctionResponse]] = []
        for call in issued:
            if call.id in conn.session.background_calls:
                continue  # NON_BLOCKING: not waited for (its responses are scheduled)
            fut: asyncio.Future[FunctionResponse] = loop.create_future()
            conn._tool_waiters[call.id or ""] = fut
            waiters.append(fut)
        await conn.flush()
        return list(await asyncio.gather(*waiters))

    async def complete(self, usage: UsageMetadata | None = None) -> None:
        await self._conn._after(lambda: self._conn.session.complete_turn(self.turn_id, usage))

    async def go_away(self, time_left: str) -> None:
        """goAway now; when ``time_left`` runs out the connection closes as Google's does."""
        await self._conn._after(lambda: self._conn.session.go_away(time_left))
        self._conn.close_after(_seconds(time_left), 1011, DEADLINE_EXCEEDED)

    async def close(self, code: int, reason: str) -> None:
        await self._conn.flush()
        await self._conn.close(code, reason)
