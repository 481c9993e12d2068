"""The Live session state machine: every protocol rule in one place, no I/O.

Frames go in through :meth:`LiveSession.receive_frame`; the engine reports the model's side
through the ``model_*``/``tool_call``/``complete_turn`` methods. Both append to two queues
that the I/O edge drains: ``outbox`` (server messages, in wire order) and ``events`` (what
the engine must act on). A broken rule raises :class:`LiveError`, which ends this session
only, with Google's close code and reason.
"""

from __future__ import annotations

import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from ..wire import errors
from ..wire.client_messages import (
    ClientContent,
    ClientMessage,
    ContextUpdate,
    RealtimeInput,
    ToolResponse,
)
from ..wire.codec import parse_client_frame, parse_media_frame
from ..wire.content import Blob, Content, FunctionCall, FunctionResponse, Part
from ..wire.errors import LiveError
from ..wire.server_messages import (
    GoAway,
    ServerContent,
    ServerMessage,
    SessionResumptionUpdate,
    SetupComplete,
    ToolCall,
    ToolCallCancellation,
    Transcription,
    UsageMetadata,
)
from ..wire.setup import Setup
from . import events as ev
from . import tokens as tk
from .limits import Limits
from .models import ModelCatalog

# Every server message must stay under the Python SDK's 1 MiB frame limit. JSON is sent
# ASCII-escaped, where one character can take 12 bytes (an emoji as two \uXXXX escapes).
MAX_TEXT_PART = 64 * 1024
# Model audio goes out in pieces of at most this many PCM bytes (0.5 s at 24 kHz; about
# 32 KiB of base64 per message).
MAX_AUDIO_PART = 24_000
# Input audio: `audio/pcm;rate=N` with N in this range, at most this much audio per message.
PCM_RATES = (8_000, 192_000)
MAX_AUDIO_CHUNK_SECONDS = 60


def pcm_rate(mime_type: str | None) -> int:
    """The sample rate of ``audio/pcm[;rate=N]`` input (16 kHz when not given; a missing mime
    type counts as 16 kHz PCM). Anything else is refused with 1007."""
    if not mime_type:
        return 16_000
    kind, _, params = mime_type.partition(";")
    if kind.strip().lower() not in ("audio/pcm", "audio/l16"):
        raise LiveError(1007, f"Unsupported audio mime type {mime_type!r}: send "
                              "16-bit little-endian PCM as 'audio/pcm;rate=N'.")
    rate = 16_000
    for param in params.split(";"):
        key, _, value = param.partition("=")
        if key.strip().lower() == "rate":
            try:
                rate = int(value.strip())
            except ValueError:
                raise LiveError(1007, f"Invalid audio sample rate in {mime_type!r}.") from None
    if not PCM_RATES[0] <= rate <= PCM_RATES[1]:
        raise LiveError(1007, f"Unsupported audio sample rate {rate} in {mime_type!r}: "
                              f"use {PCM_RATES[0]}..{PCM_RATES[1]} Hz.")
    return rate


class Phase(Enum):
    AWAIT_SETUP = "await_setup"
    ADMITTING = "admitting"  # setup received; the I/O edge looks up a handle / spends a token
    LIVE = "live"
    CLOSED = "closed"


SNAPSHOT_VERSION = 1


@dataclass(frozen=True)
class Admission:
    """What the I/O edge must fetch before setupComplete: the stored session for ``handle``
    (``LiveSession.admit(snapshot=…)``) and/or one use of the ephemeral token."""

    handle: str | None
    spend_token: bool


def estimate_text_tokens(text: str) -> int:
    """About 4 characters a token, as Google's docs estimate for English."""
    return -(-len(text) // 4)


def estimate_tokens(content: Content) -> int:
    """Tokens in one Content by :func:`estimate_text_tokens` (the default tokenizer;
    engines pass their own)."""
    chars = 0
    for part in content.parts or ():
        if part.text:
            chars += len(part.text)
        elif part.function_call is not None or part.function_response is not None:
            chars += len(str((part.function_call or part.function_response).model_dump(
                exclude_none=True)))
        elif part.inline_data is not None and part.inline_data.data:
            chars += len(part.inline_data.data) // 8
    return -(-chars // 4)


@dataclass
class ModelTurn:
    """The model's turn in progress."""

    turn_id: int
    parts: list[Part] = field(default_factory=list)
    pending_calls: dict[str, FunctionCall] = field(default_factory=dict)
    generation_complete: bool = False
    resumed: bool = False  # restored from a snapshot: no engine task is producing it


class LiveSession:
    def __init__(
        self,
        *,
        api_version: str = "v1beta",
        catalog: ModelCatalog | None = None,
        auth_error: LiveError | None = None,
        now: float = 0.0,
        limits: Limits | None = None,
        token: dict[str, Any] | None = None,
        new_handle: Callable[[], str] | None = None,
        count_tokens: Callable[[Content], int] | None = None,
    ) -> None:
        self.api_version = api_version
        self.catalog = catalog or ModelCatalog()
        self.auth_error = auth_error
        self.limits = limits or Limits.none()
        self.token = token  # the ephemeral token this connection came with (a store record)
        self.connected_at = now
        self.session_started = now  # survives resumption (session duration limit)
        self._new_handle = new_handle or (lambda: str(uuid.uuid4()))
        self.count_tokens = count_tokens or estimate_tokens
        self.admission: Admission | None = None
        self.handle: str | None = None  # the last resumption handle issued
        self.resumed = False
        self.video_seen = False
        self.deadline_changed = True  # the I/O edge re-reads deadline() when set
        self._go_away_sent = False
        self.phase = Phase.AWAIT_SETUP
        self.setup: Setup | None = None
        self.model: str | None = None
        self.history: list[Content] = []
        self.turn: ModelTurn | None = None
        self.outbox: deque[ServerMessage] = deque()
        self.events: deque[ev.Event] = deque()
        self._unanswered: list[Content] = []  # user content since the model last spoke
        self._queued_turn = False  # a user turn that waits (activityHandling NO_INTERRUPTION)
        self._next_turn_id = 1
        self._next_call_id = 1
        # NON_BLOCKING calls whose responses may still come (they outlive their turn)
        self.background_calls: dict[str, FunctionCall] = {}
        # Set by the I/O edge when its engine listens to audio: realtimeInput.audio must then
        # be PCM (mime type, even byte count, sane rate and size are checked; 1007 if not).
        self.audio_input = False

    # ---------------------------------------------------------------- client -> server

    def receive_frame(self, frame: str | bytes) -> None:
        """One WebSocket data frame from the client."""
        if self.phase is Phase.CLOSED:
            return
        try:
            if self.phase is Phase.LIVE:  # hot path: one audio/video chunk, ~2x faster
                media = parse_media_frame(frame)
                if media is not None:
                    self._on_media(*media)
                    return
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
        if self.token is not None:
            setup = tk.constrain_setup(setup, self.token)
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
        handle = setup.session_resumption and setup.session_resumption.handle
        if handle or self.token is not None:
            self.phase = Phase.ADMITTING
            self.admission = Admission(handle=handle or None,
                                       spend_token=self.token is not None and not handle)
            return
        self._go_live()

    def admit(self, now: float, snapshot: dict[str, Any] | None = None,
              token_spent: bool = False) -> None:
        """The I/O edge's answer to :attr:`admission`: the stored session for the handle
        (None if unknown) and whether a token use was spent. Raises LiveError to refuse."""
        admission = self.admission
        if admission is None or self.phase is not Phase.ADMITTING:
            return
        self.admission = None
        try:
            if admission.spend_token:
                assert self.token is not None
                refused = tk.new_session_error(self.token, now)
                if refused is not None or not token_spent:
                    raise refused or LiveError(1008, errors.UNREGISTERED_CALLER)
            if admission.handle is not None:
                if snapshot is None or snapshot.get("expires_at", 0) <= now:
                    raise LiveError(1008, errors.SESSION_NOT_FOUND)
                if snapshot.get("model") != self.model:  # the config may change, not the model
                    raise LiveError(1007, errors.INVALID_ARGUMENT)
                self.restore(snapshot)
        except LiveError:
            self.phase = Phase.CLOSED
            raise
        self._go_live()

    def _go_live(self) -> None:
        assert self.setup is not None and self.model is not None
        self.phase = Phase.LIVE
        self.deadline_changed = True
        self.outbox.append(ServerMessage(setup_complete=SetupComplete()))
        self.events.append(ev.SetupDone(setup=self.setup, model=self.model))
        self._resumption_point()

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
            self._on_media(kind, chunk)
        if rt.audio is not None:
            self._on_media("audio", rt.audio)
        if rt.video is not None:
            self._on_media("video", rt.video)
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

    def _on_media(self, kind: str, blob: Blob) -> None:
        if kind == "audio" and self.audio_input:
            rate = pcm_rate(blob.mime_type)
            size = len(blob.data or b"")
            if size % 2:
                raise LiveError(1007, f"Audio data of {size} bytes is not whole 16-bit PCM "
                                      "samples (an odd byte count).")
            if size > rate * 2 * MAX_AUDIO_CHUNK_SECONDS:
                raise LiveError(1007, f"Audio chunk too large ({size} bytes): send at most "
                                      f"{MAX_AUDIO_CHUNK_SECONDS} s of audio per message.")
            self.events.append(ev.MediaReceived(kind=kind, blob=blob, rate=rate))
            return
        self.events.append(ev.MediaReceived(kind=kind, blob=blob))
        if kind == "video":
            self._on_video()

    def _on_tool_response(self, response: ToolResponse) -> None:
        answered: list[FunctionResponse] = []
        background: list[FunctionResponse] = []
        for fr in response.function_responses or ():
            if not fr.id:
                raise LiveError(1007, errors.INVALID_ARGUMENT)
            if self.turn is not None and self.turn.pending_calls.pop(fr.id, None) is not None:
                answered.append(fr)
            elif fr.id in self.background_calls:
                background.append(fr)
        if background:
            self._on_background_responses(background)
        if answered:
            turn = self.turn
            content = Content(role="user", parts=[Part(function_response=fr) for fr in answered])
            if turn is not None and turn.resumed:
                # calls issued before a resume: no engine task waits for them; once all are
                # answered the model's turn ends and a new one continues from the responses
                if not turn.pending_calls:
                    self._close_turn(turn)
                self.history.append(content)
                self._unanswered.append(content)
                if self.turn is None:  # the new turn's output continues the model's turn
                    self._start_turn()
                return
            self.history.append(content)
            self.events.append(ev.ToolResponsesReceived(responses=answered))

    def _on_background_responses(self, responses: list[FunctionResponse]) -> None:
        """Results of NON_BLOCKING calls go into the history. ``scheduling``: SILENT says
        nothing; WHEN_IDLE (the default) starts a model turn about them once the current
        one is over; INTERRUPT interrupts the current turn and starts one now.
        ``willContinue: true`` keeps the call open for more responses."""
        for fr in responses:
            if not fr.will_continue:
                self.background_calls.pop(fr.id or "", None)
        audible = [fr for fr in responses if fr.scheduling != "SILENT"]
        if any(fr.scheduling == "INTERRUPT" for fr in audible):
            self._interrupt()
        content = Content(role="user", parts=[Part(function_response=fr) for fr in responses])
        self.history.append(content)
        if audible:
            self._unanswered.append(content)
            self._user_turn_complete()

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
        self._compress_history()
        turn_id = self._next_turn_id
        self._next_turn_id += 1
        self.turn = ModelTurn(turn_id=turn_id)
        contents, self._unanswered = self._unanswered, []
        self._resumption_point()
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

    def speech_started(self) -> None:
        """The engine's voice activity detection heard the user start speaking: with
        START_OF_ACTIVITY_INTERRUPTS (the default) the model's open turn is interrupted,
        even while its audio is still playing."""
        if self.phase is Phase.LIVE and self._barge_in_interrupts():
            self._interrupt()

    def user_speech(self, text: str) -> None:
        """What the user said (recognized speech) ends their turn."""
        if self.phase is not Phase.LIVE or not text.strip():
            return
        turn = Content(role="user", parts=[Part(text=text)])
        self.history.append(turn)
        self._unanswered.append(turn)
        self._user_turn_complete()

    def model_audio(self, turn_id: int, pcm: bytes, rate: int = 24_000,
                    transcript: str | None = None) -> bool:
        """Stream speech in the model's turn (``inlineData`` PCM, cut into messages well
        under 1 MiB); ``transcript`` is its text: kept in the history, and sent as
        outputTranscription when the setup asks for it. False if the turn is over."""
        turn = self._current(turn_id)
        if turn is None or turn.generation_complete:
            return False
        mime = f"audio/pcm;rate={rate}"
        step = MAX_AUDIO_PART - MAX_AUDIO_PART % 2
        for start in range(0, len(pcm), step):
            self.outbox.append(ServerMessage(server_content=ServerContent(
                model_turn=Content(role="model", parts=[Part(inline_data=Blob(
                    mime_type=mime, data=pcm[start:start + step]))]))))
        if transcript:
            self._append_text(turn, transcript)
            if self.setup is not None and self.setup.output_audio_transcription is not None:
                self.outbox.append(ServerMessage(server_content=ServerContent(
                    output_transcription=Transcription(text=transcript))))
        return True

    def tool_call(self, turn_id: int, calls: list[FunctionCall]) -> list[FunctionCall] | None:
        """Ask the client to run functions; ids are assigned here. None if the turn is over."""
        turn = self._current(turn_id)
        if turn is None or turn.generation_complete:
            return None
        issued = []
        for c in calls:
            call_id = c.id
            if not call_id:
                call_id, self._next_call_id = f"call-{self._next_call_id}", self._next_call_id + 1
            issued.append(FunctionCall(id=call_id, name=c.name, args=c.args or {}))
        for call in issued:
            if self._non_blocking(call.name):  # the turn goes on; responses come later
                self.background_calls[call.id] = call  # type: ignore[index]
            else:
                turn.pending_calls[call.id] = call  # type: ignore[index]
            turn.parts.append(Part(function_call=call))
        self.outbox.append(ServerMessage(tool_call=ToolCall(function_calls=issued)))
        return issued

    def _non_blocking(self, name: str | None) -> bool:
        return self.setup is not None and any(
            d.name == name and d.behavior == "NON_BLOCKING"
            for d in self.setup.function_declarations())

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
        else:
            self._resumption_point()
        return True

    def go_away(self, time_left: str) -> None:
        if self.phase is Phase.LIVE:
            self.outbox.append(ServerMessage(go_away=GoAway(time_left=time_left)))

    def close(self) -> None:
        self.phase = Phase.CLOSED

    # ------------------------------------------------------------------- limits

    def _on_video(self) -> None:
        if not self.video_seen:
            self.video_seen = True
            self.deadline_changed = True

    @property
    def compressing(self) -> bool:
        return bool(self.setup and self.setup.context_window_compression is not None)

    def end_time(self) -> float | None:
        """When this connection must close: its lifetime, or the session's duration limit
        (audio-only or with video; none with contextWindowCompression)."""
        ends: list[float] = []
        if self.limits.connection_lifetime:
            ends.append(self.connected_at + self.limits.connection_lifetime)
        if self.phase is Phase.LIVE and not self.compressing:
            limit = self.limits.session_video if self.video_seen else self.limits.session_audio
            if limit:
                ends.append(self.session_started + limit)
        return min(ends) if ends else None

    def deadline(self) -> float | None:
        """The next time :meth:`tick` has something to do (None: never)."""
        self.deadline_changed = False
        end = self.end_time()
        if end is None or self.phase is Phase.CLOSED:
            return None
        if not self._go_away_sent and self.limits.go_away_before > 0:
            return max(end - self.limits.go_away_before, self.connected_at)
        return end

    def tick(self, now: float) -> None:
        """Time has passed: goAway{timeLeft} before the end, then Google's deadline close."""
        end = self.end_time()
        if end is None or self.phase is Phase.CLOSED:
            return
        if now >= end - 1e-3:
            self.phase = Phase.CLOSED
            raise LiveError(1011, errors.DEADLINE_EXCEEDED)
        if not self._go_away_sent and now >= end - self.limits.go_away_before - 1e-3:
            self._go_away_sent = True
            left = max(0, round(end - now))
            if self.phase is Phase.LIVE:
                self.outbox.append(ServerMessage(go_away=GoAway(time_left=f"{left}s")))

    # -------------------------------------------------------- context compression

    def _compress_history(self) -> None:
        """contextWindowCompression.slidingWindow: past triggerTokens, drop the oldest turns
        down to targetTokens, cutting at the start of a user turn. The system instruction is
        not part of the history and always stays (its tokens count toward the total)."""
        cfg = self.setup and self.setup.context_window_compression
        if cfg is None or not self.history:
            return
        trigger = cfg.trigger_tokens or int(self.limits.context_window * 0.8)
        target = trigger // 2
        if cfg.sliding_window is not None and cfg.sliding_window.target_tokens is not None:
            target = min(cfg.sliding_window.target_tokens, trigger)
        system = self.setup.system_instruction if self.setup else None
        fixed = self.count_tokens(system) if system is not None else 0
        sizes = [self.count_tokens(c) for c in self.history]
        total = fixed + sum(sizes)
        if total <= trigger:
            return
        cut = 0
        while cut < len(self.history) and total > target:
            total -= sizes[cut]
            cut += 1
        while cut < len(self.history) and not _starts_user_turn(self.history[cut]):
            cut += 1  # a model turn or a tool response never opens the window
        self.history = self.history[cut:]

    # --------------------------------------------------------------- resumption

    def _resumption_point(self) -> None:
        """sessionResumptionUpdate (with sessionResumption in the setup): a new handle when
        no model turn is running, else ``resumable: false`` with no handle."""
        if self.phase is not Phase.LIVE or self.setup is None:
            return
        if self.setup.session_resumption is None:
            return
        if self.turn is None:
            handle = self.handle = self._new_handle()
            self.outbox.append(ServerMessage(session_resumption_update=SessionResumptionUpdate(
                new_handle=handle, resumable=True)))
            self.events.append(ev.HandleIssued(handle=handle))
        else:
            self.outbox.append(ServerMessage(session_resumption_update=SessionResumptionUpdate(
                resumable=False)))

    def snapshot(self, expires_at: float) -> dict[str, Any]:
        """The session as JSON, for a store: what a resumed connection continues from."""
        history = [c.to_json_dict() for c in self.history]
        turn = self.turn
        turn_parts: list[dict[str, Any]] = []
        pending: list[dict[str, Any]] = []
        if turn is not None:
            if turn.pending_calls:
                turn_parts = [p.to_json_dict() for p in turn.parts]
                pending = [c.to_json_dict() for c in turn.pending_calls.values()]
            elif turn.parts:  # generation cut off: the history keeps what the user received
                history.append(Content(role="model", parts=turn.parts).to_json_dict())
        return {
            "v": SNAPSHOT_VERSION,
            "model": self.model,
            "setup": self.setup.to_json_dict() if self.setup else None,
            "history": history,
            "unanswered": [c.to_json_dict() for c in self._unanswered],
            "turn_parts": turn_parts,
            "pending_calls": pending,
            "background_calls": [c.to_json_dict() for c in self.background_calls.values()],
            "next_turn_id": self._next_turn_id,
            "next_call_id": self._next_call_id,
            "session_started": self.session_started,
            "video_seen": self.video_seen,
            "token": self.token["name"] if self.token else None,
            "expires_at": expires_at,
        }

    def restore(self, snapshot: dict[str, Any]) -> None:
        """Continue a stored session: its history, pending tool calls and counters; the
        setup stays the one this connection sent."""
        self.history = [Content.model_validate(c) for c in snapshot.get("history") or ()]
        self._unanswered = [Content.model_validate(c) for c in snapshot.get("unanswered") or ()]
        self._next_turn_id = int(snapshot.get("next_turn_id", 1))
        self._next_call_id = int(snapshot.get("next_call_id", 1))
        self.session_started = float(snapshot.get("session_started", self.session_started))
        self.video_seen = bool(snapshot.get("video_seen"))
        self.resumed = True
        for c in snapshot.get("background_calls") or ():  # NON_BLOCKING calls still open
            call = FunctionCall.model_validate(c)
            self.background_calls[call.id or ""] = call
        pending = [FunctionCall.model_validate(c) for c in snapshot.get("pending_calls") or ()]
        if pending:
            turn_id = self._next_turn_id
            self._next_turn_id += 1
            self.turn = ModelTurn(
                turn_id=turn_id,
                parts=[Part.model_validate(p) for p in snapshot.get("turn_parts") or ()],
                pending_calls={c.id or "": c for c in pending},
                generation_complete=True, resumed=True)


def _starts_user_turn(content: Content) -> bool:
    if content.role == "model":
        return False
    return not any(p.function_response is not None for p in content.parts or ())
