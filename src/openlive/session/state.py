"""The Live session state machine: every protocol rule in one place, no I/O.

Frames go in through :meth:`LiveSession.receive_frame`; the engine reports the model's side
through the ``model_*``/``tool_call``/``complete_turn`` methods. Both append to two queues
that the I/O edge drains: ``outbox`` (server messages, in wire order) and ``events`` (what
the engine must act on). A broken rule raises :class:`LiveError`, which ends this session
only, with Google's close code and reason.
"""

from __future__ import annotations

import itertools
from collections import deque
from dataclasses import dataclass, field
from enum import Enum

from ..wire import errors
from ..wire.client_messages import (
    ClientContent,
    ClientMessage,
    ContextUpdate,
    RealtimeInput,
    ToolResponse,
)
from ..wire.codec import parse_client_frame
from ..wire.content import Content, FunctionCall, FunctionResponse, Part
from ..wire.errors import LiveError
from ..wire.server_messages import (
    GoAway,
    ServerContent,
    ServerMessage,
    SetupComplete,
    ToolCall,
    ToolCallCancellation,
    Transcription,
    UsageMetadata,
)
from ..wire.setup import Setup
from . import events as ev
from .models import ModelCatalog

# Every server message must stay under the Python SDK's 1 MiB frame limit. JSON is sent
# ASCII-escaped, where one character can take 12 bytes (an emoji as two \uXXXX escapes).
MAX_TEXT_PART = 64 * 1024


class Phase(Enum):
    AWAIT_SETUP = "await_setup"
    LIVE = "live"
    CLOSED = "closed"


@dataclass
class ModelTurn:
    """The model's turn in progress."""

    turn_id: int
    parts: list[Part] = field(default_factory=list)
    pending_calls: dict[str, FunctionCall] = field(default_factory=dict)
    generation_complete: bool = False


class LiveSession:
    def __init__(
        self,
        *,
        api_version: str = "v1beta",
        catalog: ModelCatalog | None = None,
        auth_error: LiveError | None = None,
    ) -> None:
        self.api_version = api_version
        self.catalog = catalog or ModelCatalog()
        self.auth_error = auth_error
        self.phase = Phase.AWAIT_SETUP
        self.setup: Setup | None = None
        self.model: str | None = None
        self.history: list[Content] = []
        self.turn: ModelTurn | None = None
        self.outbox: deque[ServerMessage] = deque()
        self.events: deque[ev.Event] = deque()
        self._unanswered: list[Content] = []  # user content since the model last spoke
        self._queued_turn = False  # a user turn that waits (activityHandling NO_INTERRUPTION)
        self._turn_ids = itertools.count(1)
        self._call_ids = itertools.count(1)

    # ---------------------------------------------------------------- client -> server

    def receive_frame(self, frame: str | bytes) -> None:
        """One WebSocket data frame from the client."""
        if self.phase is Phase.CLOSED:
            return
        try:
            if self.auth_error is not None:  # Google refuses credentials after the 1st frame
                raise self.auth_error
            self.receive(parse_client_frame(frame))
        except LiveError:
            self.phase = Phase.CLOSED
            raise

    def receive(self, message: ClientMessage) -> None:
        kind = message.kind
        if kind == "setup":
            if self.phase is not Phase.AWAIT_SETUP:
                raise LiveError(1007, errors.SETUP_ORDER)
            self._on_setup(message.setup)  # type: ignore[arg-type]
            return
        if self.phase is Phase.AWAIT_SETUP:
            raise LiveError(1007, errors.SETUP_ORDER)
        if kind == "client_content":
            self._on_client_content(message.client_content)  # type: ignore[arg-type]
        elif kind == "realtime_input":
            self._on_realtime_input(message.realtime_input)  # type: ignore[arg-type]
        elif kind == "tool_response":
            self._on_tool_response(message.tool_response)  # type: ignore[arg-type]
        elif kind == "context_update":
            self._on_context_update(message.context_update)  # type: ignore[arg-type]

    def _on_setup(self, setup: Setup) -> None:
        if not setup.model:
            raise LiveError(1007, errors.INVALID_ARGUMENT)
        model = self.catalog.resolve(setup.model)
        if model is None:
            shown = setup.model if "/" in setup.model else "models/" + setup.model
            raise LiveError(1008, errors.model_not_found(shown, self.api_version))
        mods = setup.generation_config and setup.generation_config.response_modalities
        if mods and (len(set(mods)) > 1 or mods[0] not in ("TEXT", "AUDIO")):
            raise LiveError(1007, errors.INVALID_ARGUMENT)
        self.setup, self.model = setup, model
        self.phase = Phase.LIVE
        self.outbox.append(ServerMessage(setup_complete=SetupComplete()))
        self.events.append(ev.SetupDone(setup=setup, model=model))

    def _on_client_content(self, content: ClientContent) -> None:
        # clientContent is appended unconditionally and interrupts the current generation.
        self._interrupt()
        for turn in content.turns or ():
            self.history.append(turn)
            if turn.role != "model":
                self._unanswered.append(turn)
        if content.turn_complete is None or content.turn_complete:  # proto default: true
            self._user_turn_complete()

    def _on_realtime_input(self, rt: RealtimeInput) -> None:
        assert self.setup is not None
        explicit = rt.activity_start is not None or rt.activity_end is not None
        if explicit and self.setup.automatic_vad_enabled():
            raise LiveError(1007, errors.EXPLICIT_ACTIVITY_WITH_VAD)
        if rt.activity_start is not None:
            if self._barge_in_interrupts():
                self._interrupt()
            self.events.append(ev.ActivityStarted())
        for chunk in (rt.media_chunks or ())[:1]:  # deprecated: only the first chunk is used
            kind = "video" if (chunk.mime_type or "").startswith("image/") else "audio"
            self.events.append(ev.MediaReceived(kind=kind, blob=chunk))
        if rt.audio is not None:
            self.events.append(ev.MediaReceived(kind="audio", blob=rt.audio))
        if rt.video is not None:
            self.events.append(ev.MediaReceived(kind="video", blob=rt.video))
        if rt.text is not None:
            if self._barge_in_interrupts():
                self._interrupt()
            turn = Content(role="user", parts=[Part(text=rt.text)])
            self.history.append(turn)
            self._unanswered.append(turn)
            self._user_turn_complete()
        if rt.audio_stream_end and self.setup.automatic_vad_enabled():
            self.events.append(ev.AudioStreamEnded())
        if rt.activity_end is not None:
            self.events.append(ev.ActivityEnded())

    def _on_tool_response(self, response: ToolResponse) -> None:
        answered: list[FunctionResponse] = []
        for fr in response.function_responses or ():
            if not fr.id:
                raise LiveError(1007, errors.INVALID_ARGUMENT)
            if self.turn is not None and self.turn.pending_calls.pop(fr.id, None) is not None:
                answered.append(fr)
        if answered:
            self.history.append(
                Content(role="user", parts=[Part(function_response=fr) for fr in answered])
            )
            self.events.append(ev.ToolResponsesReceived(responses=answered))

    def _on_context_update(self, update: ContextUpdate) -> None:
        assert self.setup is not None
        changes: dict[str, object] = {}
        if update.system_instruction is not None:
            changes["system_instruction"] = update.system_instruction
        if update.tools is not None:
            changes["tools"] = update.tools.tools or []
        self.setup = self.setup.model_copy(update=changes)
        self.events.append(ev.ContextUpdated(update=update))

    # ------------------------------------------------------------- turn bookkeeping

    def _barge_in_interrupts(self) -> bool:
        cfg = self.setup and self.setup.realtime_input_config
        return not (cfg and cfg.activity_handling == "NO_INTERRUPTION")

    def _user_turn_complete(self) -> None:
        if self.turn is not None:  # NO_INTERRUPTION: answer once the current turn ends
            self._queued_turn = True
            return
        self._start_turn()

    def _start_turn(self) -> None:
        self._queued_turn = False  # this turn answers everything unanswered, queued or not
        turn_id = next(self._turn_ids)
        self.turn = ModelTurn(turn_id=turn_id)
        contents, self._unanswered = self._unanswered, []
        self.events.append(ev.TurnReady(turn_id=turn_id, contents=contents))

    def _interrupt(self) -> None:
        turn = self.turn
        if turn is None:
            return
        self._close_turn(turn)
        cancelled = list(turn.pending_calls)
        self.outbox.append(ServerMessage(server_content=ServerContent(interrupted=True)))
        if cancelled:
            self.outbox.append(
                ServerMessage(tool_call_cancellation=ToolCallCancellation(ids=cancelled))
            )
        self.outbox.append(ServerMessage(server_content=ServerContent(turn_complete=True)))
        self.events.append(ev.TurnInterrupted(turn_id=turn.turn_id, cancelled_call_ids=cancelled))

    def _close_turn(self, turn: ModelTurn) -> None:
        if turn.parts:  # the history keeps what the user has received
            self.history.append(Content(role="model", parts=turn.parts))
        self.turn = None

    def _current(self, turn_id: int) -> ModelTurn | None:
        """The open turn if ``turn_id`` is still current (output of an interrupted turn is
        dropped)."""
        turn = self.turn
        if self.phase is not Phase.LIVE or turn is None or turn.turn_id != turn_id:
            return None
        return turn

    # --------------------------------------------------------------- engine -> client

    def model_text(self, turn_id: int, text: str) -> bool:
        """Stream text in the model's turn. False if the turn is over (interrupted)."""
        turn = self._current(turn_id)
        if turn is None or turn.generation_complete:
            return False
        for start in range(0, max(len(text), 1), MAX_TEXT_PART):
            piece = text[start:start + MAX_TEXT_PART]
            self._append_text(turn, piece)
            self.outbox.append(ServerMessage(server_content=ServerContent(
                model_turn=Content(role="model", parts=[Part(text=piece)]))))
        return True

    @staticmethod
    def _append_text(turn: ModelTurn, text: str) -> None:
        last = turn.parts[-1] if turn.parts else None
        if last is not None and last.text is not None and last.function_call is None:
            last.text += text
        else:
            turn.parts.append(Part(text=text))

    def output_transcription(self, turn_id: int, text: str) -> bool:
        turn = self._current(turn_id)
        if turn is None or turn.generation_complete:
            return False  # the last transcription comes before generationComplete
        self.outbox.append(ServerMessage(server_content=ServerContent(
            output_transcription=Transcription(text=text))))
        return True

    def input_transcription(self, text: str, finished: bool | None = None) -> None:
        self.outbox.append(ServerMessage(server_content=ServerContent(
            input_transcription=Transcription(text=text, finished=finished))))

    def tool_call(self, turn_id: int, calls: list[FunctionCall]) -> list[FunctionCall] | None:
        """Ask the client to run functions; ids are assigned here. None if the turn is over."""
        turn = self._current(turn_id)
        if turn is None or turn.generation_complete:
            return None
        issued = [
            FunctionCall(id=c.id or f"call-{next(self._call_ids)}", name=c.name, args=c.args or {})
            for c in calls
        ]
        for call in issued:
            turn.pending_calls[call.id] = call  # type: ignore[index]
            turn.parts.append(Part(function_call=call))
        self.outbox.append(ServerMessage(tool_call=ToolCall(function_calls=issued)))
        return issued

    def generation_complete(self, turn_id: int) -> bool:
        turn = self._current(turn_id)
        if turn is None:
            return False
        if not turn.generation_complete:
            turn.generation_complete = True
            self.outbox.append(ServerMessage(server_content=ServerContent(
                generation_complete=True)))
        return True

    def complete_turn(self, turn_id: int, usage: UsageMetadata | None = None) -> bool:
        """generationComplete (if not sent yet), then turnComplete carrying usageMetadata."""
        if not self.generation_complete(turn_id):
            return False
        turn = self.turn
        assert turn is not None
        self._close_turn(turn)
        self.outbox.append(ServerMessage(
            server_content=ServerContent(turn_complete=True), usage_metadata=usage))
        if self._queued_turn:
            self._queued_turn = False
            self._start_turn()
        return True

    def go_away(self, time_left: str) -> None:
        if self.phase is Phase.LIVE:
            self.outbox.append(ServerMessage(go_away=GoAway(time_left=time_left)))

    def close(self) -> None:
        self.phase = Phase.CLOSED
