"""The client's protocol core, free of I/O (in the style of websockets' ``Protocol``): the
session's state machine, received frames parsed into :class:`Received`, the resumption
handle, goAway, what to write again after a resume, and which tool calls to run or cancel.

:class:`ClientCore` never touches a socket, a clock or a task: the edge
(:class:`openlive.client.session.LiveSession`) tells it what happened and does what it
answers. One connection, as the edge drives it::

    ws.send(core.connect())                       # the setup frame, first
    d = core.receive_frame(data, at)              # each frame, until d.setup_complete
    for frame in core.take_outbox():              # under the send lock:
        ws.send(frame); core.sent(frame)          #   (a failed write: core.requeue(rest))
    core.live()                                   # from now on sends go straight out
    d = core.receive_frame(data, at)              # each frame; act on d (tools, deliver);
                                                  # d.switch: close, connect() again
    core.closed(code, reason)                     # the socket closed: True means resume

Sending: ``frame = core.frame_for(message)``, then under the lock
``core.write_or_queue(frame)`` says whether to write it now; after the write, ``sent``
(or ``write_failed``). See :mod:`openlive.client.reconnect` for what a resume re-sends.
"""

from __future__ import annotations

import enum
import logging
from collections import deque
from collections.abc import Container
from dataclasses import dataclass

from pydantic import ValidationError

from ..wire.client_messages import ClientMessage
from ..wire.codec import parse_server_frame
from ..wire.content import FunctionCall
from ..wire.server_messages import ServerMessage
from ..wire.setup import Setup
from .errors import LiveClientError, LiveSessionClosed, is_fatal_close
from .reconnect import ResumptionState

log = logging.getLogger("openlive.client")


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


@dataclass(frozen=True)
class Decisions:
    """What the edge must do after one received frame, in this order: start each of
    ``run_tools``, cancel the running calls in ``cancel_tools``, hand ``deliver`` to the
    application; then, if ``switch``, close this connection (1000) and :meth:`connect
    <ClientCore.connect>` a new one. ``setup_complete``: this connection's setup is done
    (``deliver`` starts with its ``setupComplete``); go on with ``take_outbox``."""

    deliver: tuple[Received, ...] = ()
    run_tools: tuple[FunctionCall, ...] = ()
    cancel_tools: tuple[str, ...] = ()
    setup_complete: bool = False
    switch: bool = False


def parse_received(data: str | bytes, at: float) -> Received | None:
    """One frame as a :class:`Received`; None (with a warning) if it is not a Live message."""
    try:
        message = parse_server_frame(data)
    except ValidationError as exc:
        log.warning("ignored a server frame that is not a Live message: %s",
                    exc.errors(include_url=False)[0].get("msg"))
        return None
    raw = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    return Received(message, raw, at)


class ClientCore:
    """One Live session's protocol state, across all its connections.

    ``tools`` holds the names of the functions the client answers itself (a
    :class:`~openlive.client.tools.ToolRegistry` will do); calls to other names are left to
    the application.
    """

    def __init__(self, setup: Setup, *, tools: Container[str] = ()) -> None:
        self.setup = setup
        self.tools = tools
        self.resumption = setup.session_resumption is not None
        self.resume_state = ResumptionState(
            handle=setup.session_resumption.handle if setup.session_resumption else None)
        self.state = State.CONNECTING
        self.session_id: str | None = None
        self.reconnects = 0
        self.error: LiveClientError | None = None  # why the session ended (None: normally)
        self.closing = False  # the application called close()
        self.pending: deque[str] = deque()  # frames to write after the next setupComplete
        self.running_tools: set[str] = set()  # ids of the tool calls the edge is running
        self._connections = 0  # setupCompletes received
        self._awaiting_setup = False
        self._early: list[Received] = []  # received before this connection's setupComplete
        self._go_away = False
        self._generating = False
        self._awaiting_reply = False

    @property
    def handle(self) -> str | None:
        """The latest resumable session handle."""
        return self.resume_state.handle

    # ------------------------------------------------------------ connections

    def connect(self) -> str:
        """A new connection (the first, or a resume with the latest handle) is open: returns
        the setup frame to write on it first. Next: feed its frames to :meth:`receive_frame`
        until one's decisions say ``setup_complete``. If the connection fails before that,
        ask :meth:`should_retry`."""
        self._awaiting_setup = True
        self._early.clear()
        setup = self.setup
        if self.resumption:
            assert setup.session_resumption is not None
            setup = setup.model_copy(update={"session_resumption": setup.session_resumption
                                             .model_copy(update={"handle": self.handle})})
        return ClientMessage(setup=setup).model_dump_json(exclude_none=True)

    def should_retry(self, code: int | None) -> bool:
        """A connection (or resume) attempt was refused with this close code: True if another
        attempt may succeed (the edge waits its retry delay, then connects again)."""
        return not self.closing and not is_fatal_close(code)

    def receive_frame(self, data: str | bytes, at: float) -> Decisions:
        """One frame received at monotonic time ``at``: the book-keeping, and what the edge
        must do now (see :class:`Decisions`). Frames that are not Live messages are ignored;
        messages that arrive before ``setupComplete`` are delivered right after it. A
        ``switch`` sets the state to RECONNECTING at once, so sends made after the
        application sees this message are queued for the next connection."""
        got = parse_received(data, at)
        if got is None:
            return Decisions()
        if self._awaiting_setup:
            if got.message.setup_complete is None:
                self._early.append(got)
                return Decisions()
            return self._set_up(got)
        decisions = self._book((got,))
        if self._switch_now():
            return Decisions(decisions.deliver, decisions.run_tools, decisions.cancel_tools,
                             switch=True)
        return decisions

    def take_outbox(self) -> list[str]:
        """After ``setup_complete``: the frames to write now, in order (input the latest
        handle does not cover, then what was sent while reconnecting), forgotten here. Under
        the send lock, write each and call :meth:`sent`; if a write fails, :meth:`requeue`
        that frame and the rest. Then call :meth:`live`."""
        frames = self.resume_state.take_replay() + list(self.pending)
        self.pending.clear()
        return frames

    def live(self) -> None:
        """The connection is set up and the outbox written: sends go straight out now."""
        if self.state is not State.CLOSED:
            self.state = State.LIVE

    def closed(self, code: int | None, reason: str) -> bool:
        """The live connection closed (by the server, or dropped) without a ``switch``.
        True: resume; the state is RECONNECTING and the edge connects again (after its retry
        delays). False: the session is over, as :meth:`finish` with a
        :class:`LiveSessionClosed` unless the close was a normal 1000 (or the application
        closed the session itself)."""
        if self.closing:
            return False
        if self.resumption and self.handle and not is_fatal_close(code):
            self.state = State.RECONNECTING
            return True
        self.finish(None if code == 1000 else LiveSessionClosed(code, reason))
        return False

    def finish(self, error: LiveClientError | None) -> None:
        """The session is over (``error`` None: normally). Queued frames are dropped and
        running tool calls forgotten: the edge cancels them all and ends the iteration,
        raising :attr:`error` if set."""
        self.state = State.CLOSED
        self.error = error
        if self.pending:
            log.warning("%d queued message(s) were not sent: the session ended",
                        len(self.pending))
            self.pending.clear()
        self.running_tools.clear()

    def close(self) -> bool:
        """The application ends the session: False if it already did. Otherwise the edge
        closes the connection (1000), cancels every running tool call and ends the
        iteration."""
        if self.closing:
            return False
        self.closing = True
        self.state = State.CLOSED
        self.running_tools.clear()
        return True

    # ---------------------------------------------------------------- sending

    def frame_for(self, message: ClientMessage) -> str:
        """The frame for one application message (ValueError for ``setup``: connect() sends
        it). Next, under the send lock: :meth:`write_or_queue`."""
        if message.setup is not None:
            raise ValueError("setup is sent by connect(), once")
        cc, rt = message.client_content, message.realtime_input
        if (cc is not None and cc.turn_complete is not False) or (rt is not None and rt.text):
            self._awaiting_reply = True
        return message.model_dump_json(exclude_none=True)

    def write_or_queue(self, frame: str) -> bool:
        """True: write ``frame`` on the live connection now, then call :meth:`sent` (or
        :meth:`write_failed`). False: it is queued and will come out of :meth:`take_outbox`
        after the next ``setupComplete``. Raises the session's error once it is closed."""
        if self.state is State.CLOSED:
            raise self.error or LiveSessionClosed(None, "the session is closed")
        if self.state is not State.LIVE:
            self.pending.append(frame)
            return False
        return True

    def sent(self, frame: str) -> None:
        """``frame`` was written: kept for replay until a resumption handle covers it."""
        if self.resumption:
            self.resume_state.on_sent(frame)

    def write_failed(self, frame: str, code: int | None, detail: str) -> LiveSessionClosed | None:
        """Writing ``frame`` failed (the socket is dying). None: it is queued, and the
        reader, seeing the drop, resumes. Otherwise the error for the edge to raise."""
        if self.resumption and self.handle:
            self.pending.append(frame)
            return None
        return LiveSessionClosed(code, f"send failed: {detail}")

    def requeue(self, frames: list[str]) -> None:
        """Frames from :meth:`take_outbox` that could not be written: queued again."""
        self.pending.extend(frames)

    # ------------------------------------------------------------------ tools

    def tool_finished(self, call_id: str) -> None:
        """A tool call the edge ran (from ``run_tools``) ended, answered or not."""
        self.running_tools.discard(call_id)

    # --------------------------------------------------------------- internals

    def _set_up(self, got: Received) -> Decisions:
        assert got.message.setup_complete is not None
        self._awaiting_setup = False
        self.session_id = got.message.setup_complete.session_id
        if self._connections:
            self.reconnects += 1
            self._generating = False
        self._connections += 1
        early, self._early = self._early, []
        decisions = self._book((got, *early))
        return Decisions(decisions.deliver, decisions.run_tools, decisions.cancel_tools,
                         setup_complete=True)

    def _book(self, received: tuple[Received, ...]) -> Decisions:
        run: list[FunctionCall] = []
        cancel: list[str] = []
        for got in received:
            message = got.message
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
                for call in message.tool_call.function_calls or ():
                    if call.name in self.tools and call.id and call.id not in self.running_tools:
                        self.running_tools.add(call.id)
                        run.append(call)
            if message.tool_call_cancellation is not None:
                for call_id in message.tool_call_cancellation.ids or ():
                    if call_id in self.running_tools:
                        self.running_tools.discard(call_id)
                        cancel.append(call_id)
            if message.go_away is not None:
                self._go_away = True
        return Decisions(received, tuple(run), tuple(cancel))

    def _switch_now(self) -> bool:
        """After a goAway, the first moment switching connections loses nothing: no reply
        being generated or awaited, no tool call running, and a handle to resume with."""
        if (self._go_away and self.state is State.LIVE and self.resumption and self.handle
                and not self._generating and not self._awaiting_reply
                and not self.running_tools):
            self._go_away = False
            self.state = State.RECONNECTING
            return True
        return False
