"""One Live connection on the emulator or local engine: the session core between the
client's WebSocket and the engine. Glue only: every rule lives in :mod:`openlive.session`.

The loop, for each client frame: ``core.receive_frame``; while ``core.needs()`` names
something, fetch it from the store (``core.fetched``); hand ``core.events_received()`` to
the engine (:meth:`Connection._pump`); send ``core.messages_to_send()``
(:meth:`Connection.flush`). A timer task sleeps until ``core.next_deadline()`` and calls
``core.tick``. Engines act through :class:`_EngineTurn` and :class:`_EngineInput`, which
call the core's verbs and then pump and flush the same way.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from ..engines.base import Engine, EngineSession
from ..session import events as ev
from ..session.resumption import connected_elsewhere
from ..session.state import ClaimSession, LoadSession, Phase, SessionCore, SpendToken
from ..store.base import Store, StoreError
from ..store.lease_keeper import LeaseKeeper, claim_within
from ..websocket_edge import WebSocketEdge
from ..wire.codec import encode_server_message
from ..wire.content import Content, FunctionCall, FunctionResponse
from ..wire.errors import INTERNAL, LiveError
from ..wire.server_messages import ServerContent, ServerMessage, UsageMetadata
from ..wire.setup import Setup
from . import metrics

log = logging.getLogger("openlive.connection")


class Connection:
    def __init__(self, edge: WebSocketEdge, core: SessionCore, engine: Engine, *,
                 store: Store | None = None) -> None:
        self.edge = edge
        self.core = core
        self.engine = engine
        self.store = store
        self.label = edge.label
        self.engine_session: EngineSession | None = None
        self._send_lock = asyncio.Lock()
        self._saves: set[asyncio.Task[None]] = set()
        self._turn_tasks: dict[int, asyncio.Task[None]] = {}
        self._tool_waiters: dict[str, asyncio.Future[FunctionResponse]] = {}
        self._deadline: float | None = None
        self._rearm = asyncio.Event()
        self._timer: asyncio.Task[None] | None = None
        self._soon: asyncio.Handle | None = None
        self._background: set[asyncio.Task[None]] = set()
        self._lease: LeaseKeeper | None = None  # held while a resumable session is live
        self._store_error: LiveError | None = None  # a save failed: close, send no handle

    @property
    def close_reason(self) -> str | None:
        return self.edge.close_reason

    # ----------------------------------------------------------------- main loop

    async def run(self) -> None:
        core = self.core
        self._timer = asyncio.create_task(self._watch_deadlines())
        try:
            async for frame in self.edge.frames():
                try:
                    core.receive_frame(frame)
                    if core.needs() is not None:
                        await self._admit_guarded()
                except LiveError as exc:
                    self._log_detail(exc)
                    await self._end(exc.code, exc.reason)
                    break
                self._pump()
                await self.flush()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("%s internal error", self.label)
            await self.close(1011, INTERNAL)
        finally:
            await self._teardown()

    async def flush(self) -> None:
        """Send the core's queued messages, in order, whichever task produced them: each
        flush takes its messages at once and queues for the (FIFO) send lock."""
        messages = self.core.messages_to_send()
        if not messages:  # most audio frames: nothing to send
            return
        async with self._send_lock:
            if self._saves:  # a handle is sent only once its session is in the store, so
                # that another server process can resume it at once
                await asyncio.gather(*self._saves, return_exceptions=True)
            failed = self._store_error
            if failed is not None:  # a handle whose session is not stored is never sent
                messages = messages[:_first_new_handle(messages)]
            for message in messages:
                if not await self.edge.send(encode_server_message(message)):
                    return  # the client is gone: the reader sees the close
        if failed is not None:
            await self.close(failed.code, failed.reason)

    async def go_away(self, seconds: float) -> None:
        """A planned stop of this server (``serve --drain``): goAway now, with ``seconds``
        left; when they run out the core closes the connection as after any goAway."""
        await self._after(lambda: self.core.go_away(f"{seconds:g}s", time.time()))

    async def close(self, code: int, reason: str) -> None:
        self.core.close()
        self._rearm.set()
        await self.edge.close(code, reason)

    def _log_detail(self, exc: LiveError) -> None:
        """What the client's reason does not say (an unknown, expired or spent token)."""
        if exc.detail:
            log.info("%s refused: %s", self.label, exc.detail)

    async def _end(self, code: int, reason: str) -> None:
        """The session ends: what the core queued goes out, then the close."""
        await self.flush()
        await self.close(code, reason)

    def _pump(self) -> None:
        """Hand every event the core produced to the engine (events an engine hook causes
        are handed on in the same loop), and re-arm the timer if the deadline moved."""
        core = self.core
        while events := core.events_received():
            for event in events:
                self._dispatch(event)
        if core.next_deadline() != self._deadline:
            self._rearm.set()

    def _pump_soon(self) -> None:
        """From an engine's synchronous hook: pump and flush once control returns to the
        event loop (never inside a pump already running)."""
        if self._soon is None:
            self._soon = asyncio.get_running_loop().call_soon(self._pump_and_flush)

    def _pump_and_flush(self) -> None:
        self._soon = None
        self._pump()
        self._spawn(self.flush())

    async def _after(self, change: Callable[[], object]) -> None:
        """An engine's change to the core from async code: pump, then send."""
        change()
        self._pump()
        await self.flush()

    def _spawn(self, work: Awaitable[None]) -> None:
        task = asyncio.ensure_future(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # ------------------------------------------------------ admission, resumption

    async def _admit(self) -> None:
        """Fetch what the core asks for (a token use, stored sessions) until it is live or
        refuses (LiveError)."""
        core, store = self.core, self.store
        while (need := core.needs()) is not None:
            if isinstance(need, SpendToken):
                result: object = store is not None and await store.spend_token(
                    need.name, need.uses)
            elif isinstance(need, ClaimSession):  # the lease: no other connection on it
                result = store is None or await claim_within(
                    store, need.key, need.holder, need.ttl, need.wait)
            else:
                assert isinstance(need, LoadSession)
                try:
                    result = None if store is None else await store.load_session(
                        need.handle, time.time())
                except Exception:
                    metrics.store_error("load_session")
                    raise
            core.fetched(result, time.time())
        if core.resumed:
            log.info("%s resumed a stored session", self.label)

    async def _admit_guarded(self) -> None:
        """:meth:`_admit`; a store that fails refuses the session as the core says."""
        try:
            await self._admit()
        except StoreError as exc:
            log.warning("%s store unavailable during admission: %s", self.label, exc)
            raise self.core.store_failed() from None

    def _save_later(self, issued: ev.HandleIssued) -> None:
        if self.store is None:
            return
        snapshot = self.core.snapshot_to_store(time.time())
        task = asyncio.create_task(self._save(issued.handle, snapshot, issued.supersedes))
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
            metrics.store_error("save_session")
            log.warning("%s could not store the session for resumption: %s", self.label,
                        "store unavailable")
            if self._store_error is None:  # the handle is not sent; the session ends
                self._store_error = self.core.store_failed()

    def _hold_lease(self) -> None:
        """A resumable session is connected here: hold its lease (session/resumption.py)
        until the teardown, so that no other connection resumes it meanwhile."""
        lease = self.core.lease()
        if lease is None or self.store is None or self._lease is not None:
            return

        async def lost() -> None:
            refused = connected_elsewhere()
            await self._end(refused.code, refused.reason)

        self._lease = LeaseKeeper(self.store, lease.key, lease.holder, lease.ttl,
                                  on_lost=lost, label=self.label)
        self._lease.start()

    async def _watch_deadlines(self) -> None:
        """Sleep until the core's next deadline (goAway, then the close); re-read it when
        :meth:`_pump` says it moved."""
        core = self.core
        while core.phase is not Phase.CLOSED:
            self._rearm.clear()
            when = self._deadline = core.next_deadline()
            wait = None if when is None else max(0.0, when - time.time())
            try:
                await asyncio.wait_for(self._rearm.wait(), wait)
                continue
            except TimeoutError:
                pass
            try:
                core.tick(time.time())
            except LiveError as exc:
                self._log_detail(exc)
                await self._end(exc.code, exc.reason)
                return
            await self.flush()

    async def _teardown(self) -> None:
        core = self.core
        if self.store is not None and core.handle is not None and core.setup is not None:
            # the last state (pending tool calls included) goes under the last handle
            if self._saves:
                await asyncio.gather(*self._saves, return_exceptions=True)
            await self._save(core.handle, core.snapshot_to_store(time.time()))
        if self._lease is not None:  # after the last save: a resume continues from it
            await self._lease.release()
        core.close()
        if self._soon is not None:
            self._soon.cancel()
        tasks = [*self._turn_tasks.values(), *self._background]
        if self._timer is not None:
            tasks.append(self._timer)
        for task in tasks:
            task.cancel()
        for fut in self._tool_waiters.values():
            fut.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        if self.engine_session is not None:
            try:
                await self.engine_session.aclose()
            except Exception:
                log.exception("%s engine close failed", self.label)

    # ------------------------------------------------------------ core -> engine

    def _dispatch(self, event: ev.Event) -> None:
        if isinstance(event, ev.SetupDone):
            session = self.engine_session = self.engine.open_session(event.setup, event.model)
            self.core.hears_audio = bool(getattr(session, "hears_audio", False))
            self._hold_lease()
            session.attach(_EngineInput(self))
            log.info("%s setup done: model %s", self.label, event.model)
            return
        if isinstance(event, ev.HandleIssued):
            self._save_later(event)
            return
        if isinstance(event, ev.TurnReady):
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
        if self.engine_session is not None:
            self.engine_session.on_event(event)

    def _start_turn(self, event: ev.TurnReady) -> None:
        core = self.core
        assert self.engine_session is not None and core.setup is not None
        turn = _EngineTurn(self, event, core.setup, list(core.history))
        task = asyncio.create_task(self._run_turn(turn), name=f"{self.label} turn {event.turn_id}")
        self._turn_tasks[event.turn_id] = task

    async def _run_turn(self, turn: _EngineTurn) -> None:
        assert self.engine_session is not None
        try:
            await self.engine_session.respond(turn)
        except asyncio.CancelledError:
            pass
        except Exception:
            log.exception("%s engine failed in turn %d", self.label, turn.turn_id)
            await self._end(1011, INTERNAL)
        finally:
            self._turn_tasks.pop(turn.turn_id, None)


def _first_new_handle(messages: list[ServerMessage]) -> int:
    """The index of the first message carrying a new resumption handle (or the length)."""
    for i, message in enumerate(messages):
        update = message.session_resumption_update
        if update is not None and update.new_handle:
            return i
    return len(messages)


class _EngineInput:
    """The engine's handle on the session outside turns (engines.base.SessionInput)."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def speech_started(self, audio_offset: float | None = None) -> None:
        self._conn.core.speech_started(audio_offset)
        self._conn._pump_soon()

    def speech_ended(self, audio_offset: float | None = None) -> None:
        self._conn.core.speech_ended(audio_offset)
        self._conn._pump_soon()

    async def input_transcription(self, text: str, finished: bool | None = None) -> None:
        await self._conn._after(lambda: self._conn.core.input_transcription(text, finished))

    async def user_speech(self, text: str) -> None:
        await self._conn._after(lambda: self._conn.core.user_speech(text))

    def conversation(self) -> tuple[Setup, list[Content]]:
        core = self._conn.core
        if core.setup is None:  # (engines open after the setup: not reached)
            raise RuntimeError("the session has no setup yet")
        return core.setup, list(core.history)

    async def close(self, code: int, reason: str) -> None:
        """The engine cannot go on (e.g. a model back end failed): the session ends."""
        await self._conn._end(code, reason)


class _EngineTurn:
    """The engine's handle on one model turn (engines.base.Turn)."""

    def __init__(self, conn: Connection, user: ev.TurnReady, setup: Setup,
                 history: list[Content]) -> None:
        self._conn = conn
        self._core = conn.core
        self.user = user
        self.turn_id = user.turn_id
        self.setup = setup
        self.history = history
        self._ready_at: float | None = time.monotonic()  # until the first output: metrics

    def _first_output(self) -> None:
        if self._ready_at is not None:
            metrics.first_reply(time.monotonic() - self._ready_at)
            self._ready_at = None

    async def send_text(self, text: str) -> None:
        self._first_output()
        await self._conn._after(lambda: self._core.model_text(self.turn_id, text))

    async def send_audio(self, pcm: bytes, rate: int = 24_000,
                         transcript: str | None = None) -> None:
        self._first_output()
        await self._conn._after(lambda: self._core.model_audio(
            self.turn_id, pcm, rate, transcript))

    async def generation_complete(self) -> None:
        await self._conn._after(lambda: self._core.generation_complete(self.turn_id))

    async def call_tools(self, calls: list[FunctionCall]) -> list[FunctionResponse]:
        self._first_output()
        conn = self._conn
        issued = self._core.tool_call(self.turn_id, calls)
        if issued is None:
            raise asyncio.CancelledError
        loop = asyncio.get_running_loop()
        waiters: list[asyncio.Future[FunctionResponse]] = []
        for call_id in issued.awaited:  # NON_BLOCKING calls are not waited for
            fut: asyncio.Future[FunctionResponse] = loop.create_future()
            conn._tool_waiters[call_id] = fut
            waiters.append(fut)
        await conn.flush()
        return list(await asyncio.gather(*waiters))

    async def send_event(self, content: ServerContent) -> None:
        self._first_output()
        await self._conn._after(lambda: self._core.model_event(self.turn_id, content))

    async def send_raw(self, message: dict[str, Any]) -> None:
        await self._conn._after(lambda: self._core.raw_message(message))

    async def complete(self, usage: UsageMetadata | None = None, *,
                       reason: str | None = None,
                       waiting_for_input: bool | None = None) -> None:
        await self._conn._after(lambda: self._core.complete_turn(
            self.turn_id, usage, reason=reason, waiting_for_input=waiting_for_input))

    async def go_away(self, time_left: str) -> None:
        """goAway now; when ``time_left`` runs out the core closes as Google's does."""
        await self._conn._after(lambda: self._core.go_away(time_left, time.time()))

    async def close(self, code: int, reason: str) -> None:
        await self._conn._end(code, reason)
