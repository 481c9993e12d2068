"""The Live session core: the state machine of one BidiGenerateContent session, no I/O.

**Everything that affects the session's state lives in this package** (``openlive.session``),
and every rule of the Live protocol that openlive imitates is written here or in the
modules this one uses: admission (:mod:`.admission`), media (:mod:`.media`), turns
(:mod:`.turns`), tool calls (:mod:`.calls`), deadlines (:mod:`.deadlines`), history and
compression (:mod:`.history`), resumption (:mod:`.resumption`), tokens (:mod:`.tokens`).
Edges — the server's connection, the relay, the replay — move bytes and call these verbs;
they implement no rule. Time is always an argument.

Phases (the connection's life) and what moves between them::

    AWAIT_SETUP --setup--> LIVE                  (nothing to fetch)
    AWAIT_SETUP --setup--> ADMITTING --fetched--> LIVE
                                                  (a resumption handle or a token use)
    any phase --LiveError or close()--> CLOSED

Which client message each phase takes is :data:`CLIENT_RULES`; inside LIVE, the model's
turn has its own states (:class:`.turns.TurnState`, :data:`.turns.OUTPUT_ACCEPTED`).

The edge's verbs, in the order an edge calls them:

* :meth:`SessionCore.receive_frame` — one client data frame.
* :meth:`SessionCore.needs` / :meth:`SessionCore.fetched` — while ADMITTING: fetch what
  the core asks for (a stored session, a token use) and hand the result back.
* :meth:`SessionCore.events_received` — what the engine must act on.
* :meth:`SessionCore.messages_to_send` — server messages, in wire order.
* :meth:`SessionCore.next_deadline` / :meth:`SessionCore.tick` — timers.
* engine output: ``model_text``, ``model_audio``, ``output_transcription``,
  ``tool_call``, ``generation_complete``, ``complete_turn``, ``go_away``; what the
  engine heard: ``speech_started``, ``input_transcription``, ``user_speech``.

Any verb that breaks a rule raises :class:`LiveError` and the session is CLOSED: the edge
sends :meth:`messages_to_send` and closes with the error's code and reason (Google's).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
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
    RawServerMessage,
    ServerContent,
    ServerMessage,
    SessionResumptionUpdate,
    SetupComplete,
    ToolCall,
    ToolCallCancellation,
    Transcription,
    UsageMetadata,
    VoiceActivity,
)
from ..wire.setup import Setup
from . import events as ev
from . import tokens as tk
from .admission import ANONYMOUS, Gate, resumes
from .calls import CallBook, IssuedCalls
from .deadlines import Deadlines
from .history import History, compress, context_exceeded, estimate_tokens
from .limits import Limits
from .media import activity_audio, audio_pieces, check_audio, media_kind, text_pieces
from .models import ModelCatalog, ModelProfile, modality_refusal, profile, refused_fields
from .resumption import (
    connected_elsewhere,
    restore_snapshot,
    session_key,
    store_unavailable,
    take_snapshot,
)
from .turns import OUTPUT_ACCEPTED, ModelTurn, TurnState

#: Audio parts in one event of a multi-part model (each part is at most
#: media.MAX_AUDIO_PART bytes: 8 keep an event near 256 KB of base64; Google is silent).
MULTI_PART_EVENT_PARTS = 8


class Phase(Enum):
    AWAIT_SETUP = "await_setup"
    ADMITTING = "admitting"  # setup received; the edge fetches what needs() names
    LIVE = "live"
    CLOSED = "closed"


class EdgeError(RuntimeError):
    """The edge called a verb out of order (a bug in the edge, not the client's fault)."""


HANDLE, SETUP_ORDER, EDGE_MISUSE, DROP = "handle", "setup order", "edge misuse", "drop"
ANY = "*"

#: What each client message does in each phase: handled, refused with Google's 1007
#: "setup must be the first message and only the first" (spec/protocol.md §3; capture
#: ``py-first-other-*``), dropped (after the close), or an edge bug (frames fed while the
#: core waits for :meth:`SessionCore.fetched`).
CLIENT_RULES: dict[Phase, dict[str, str]] = {
    Phase.AWAIT_SETUP: {"setup": HANDLE, ANY: SETUP_ORDER},
    Phase.ADMITTING: {ANY: EDGE_MISUSE},
    Phase.LIVE: {"setup": SETUP_ORDER, ANY: HANDLE},
    Phase.CLOSED: {ANY: DROP},
}


def client_rule(phase: Phase, kind: str) -> str:
    rules = CLIENT_RULES[phase]
    return rules.get(kind, rules[ANY])


@dataclass(frozen=True)
class LoadSession:
    """Fetch the stored session under ``handle`` (``Store.load_session``)."""

    handle: str


@dataclass(frozen=True)
class SpendToken:
    """Spend one use of the ephemeral token ``name`` (``Store.spend_token(name, uses)``)."""

    name: str
    uses: int


@dataclass(frozen=True)
class ClaimSession:
    """Mark the resumed session connected (``Store.claim_lease(key, holder, ttl)``): True
    if no other connection holds it (see :func:`.resumption.connected_elsewhere`). The
    edge tries again for up to ``wait`` seconds: a connection the client has just closed
    may not have released it yet."""

    key: str
    holder: str
    ttl: float
    wait: float = 0.0


Need = LoadSession | SpendToken | ClaimSession


class SessionCore:
    """One Live session on the server side. See the module's docstring for the verbs."""

    def __init__(
        self,
        *,
        api_version: str = "v1beta",
        catalog: ModelCatalog | None = None,
        auth_error: LiveError | None = None,
        now: float = 0.0,
        limits: Limits | None = None,
        token: dict[str, Any] | None = None,
        owner: str = ANONYMOUS,
        new_handle: Callable[[], str] | None = None,
        count_tokens: Callable[[Content], int] | None = None,
    ) -> None:
        self.api_version = api_version
        self.catalog = catalog or ModelCatalog()
        self.gate = Gate(auth_error=auth_error, token=token, owner=owner)
        self.locks = self.gate.locks()  # a token's locked fields, kept across resumption
        self.limits = limits or Limits.none()
        self.deadlines = Deadlines(self.limits, connected_at=now, session_started=now)
        self._new_handle = new_handle or (lambda: str(uuid.uuid4()))
        self.count_tokens = count_tokens or estimate_tokens
        self.phase = Phase.AWAIT_SETUP
        self.setup: Setup | None = None
        self.model: str | None = None
        self.profile: ModelProfile | None = None  # the model's rules (models.py)
        self.history = History(count=self.count_tokens)  # a running token count (history.py)
        self._system_tokens: tuple[object, int] = (None, 0)  # (system instruction, tokens)
        self._activity_audio: int | None = None  # bytes since activityStart (manual VAD)
        self.unanswered: list[Content] = []  # user content since the model last spoke
        self.turn: ModelTurn | None = None
        self.queued_turn = False  # a user turn that waits (activityHandling NO_INTERRUPTION)
        # historyConfig.initialHistoryInClientContent: clientContent is history only until
        # the first turnComplete (no model call)
        self.initial_history = False
        self.next_turn_id = 1
        self.calls = CallBook()
        self.handle: str | None = None  # the last resumption handle issued
        self.resumed = False
        self.hears_audio = False  # set by the engine's session (open_session): see media
        self.session_id = uuid.uuid4().hex  # one session's key across its handles (leases)
        self.lease_holder = uuid.uuid4().hex  # this connection, as a lease's holder
        self._claimed = False  # a resumed session's lease is held by this connection
        self._need: Need | None = None
        self._spend = False  # a token use to spend before going live
        self._outbox: list[ServerMessage] = []
        self._events: list[ev.Event] = []

    # ------------------------------------------------------------------ the verbs

    def receive_frame(self, frame: str | bytes) -> None:
        """One WebSocket data frame from the client. Next: if :meth:`needs` names
        something, fetch it; then :meth:`events_received` and :meth:`messages_to_send`."""
        phase = self.phase
        if phase is Phase.CLOSED:
            return
        try:
            if phase is Phase.LIVE:  # hot path: one audio/video chunk, ~2x faster
                media = parse_media_frame(frame)
                if media is not None:
                    self._on_media(*media)
                    return
            elif phase is Phase.AWAIT_SETUP:
                self.gate.first_frame()  # the credential error waits for the first frame
            message = parse_client_frame(frame)
        except LiveError:
            self.phase = Phase.CLOSED
            raise
        self.receive(message)

    def receive(self, message: ClientMessage) -> None:
        """One parsed client message (:meth:`receive_frame` parses, then calls this)."""
        rule = client_rule(self.phase, message.kind)
        if rule == DROP:
            return
        if rule == EDGE_MISUSE:
            raise EdgeError(f"a {message.kind} message while {self.phase.name}: the edge "
                            "must answer needs() with fetched() first")
        try:
            if self.phase is Phase.AWAIT_SETUP:
                self.gate.first_frame()
            if rule == SETUP_ORDER:
                raise LiveError(1007, errors.SETUP_ORDER)
            getattr(self, "_on_" + message.kind)(getattr(message, message.kind))
            if self.phase is Phase.LIVE:
                self._check_context()
        except LiveError:
            self.phase = Phase.CLOSED
            raise

    def needs(self) -> Need | None:
        """While ADMITTING: what the edge must fetch and pass to :meth:`fetched`."""
        return self._need if self.phase is Phase.ADMITTING else None

    def fetched(self, result: Any, now: float) -> None:
        """The answer to :meth:`needs`: the stored record (or None) for
        :class:`LoadSession`, True/False for :class:`SpendToken`. Raises LiveError to
        refuse. Next: :meth:`needs` again (the session is LIVE once it says None)."""
        need = self._need
        if need is None or self.phase is not Phase.ADMITTING:
            raise EdgeError("fetched() without a need")
        try:
            if isinstance(need, SpendToken):
                self.gate.token_spent(bool(result), now)
            elif isinstance(need, ClaimSession):
                if not result:
                    raise connected_elsewhere()
                self._claimed = True
                # load it again: the connection that held it saved its last state before
                # it let go (resumption.py)
                self.gate.start_lookup(resumes(self.setup))  # type: ignore[arg-type]
            else:
                self.gate.handle_loaded(result)
            self._admit(now)
        except LiveError:
            self.phase = Phase.CLOSED
            raise

    def events_received(self) -> list[ev.Event]:
        """What the engine must act on, oldest first (each event is returned once)."""
        events, self._events = self._events, []
        return events

    def messages_to_send(self) -> list[ServerMessage]:
        """Server messages to send, in wire order (each is returned once)."""
        out, self._outbox = self._outbox, []
        return out

    def next_deadline(self) -> float | None:
        """When :meth:`tick` has something to do (None: never). Read it again after any
        verb: a setup, the first video frame or an engine's goAway moves it."""
        if self.phase is Phase.CLOSED:
            return None
        due = self.deadlines.next(self.phase is Phase.LIVE, self.compressing)
        setup_by = self._setup_by()
        if setup_by is not None and (due is None or setup_by < due):
            return setup_by
        return due

    def _setup_by(self) -> float | None:
        return self.deadlines.setup_by() if self.phase is Phase.AWAIT_SETUP else None

    def tick(self, now: float) -> None:
        """Time has passed: goAway{timeLeft} before the end, then Google's 1011 close
        (LiveError DEADLINE_EXCEEDED). Next: :meth:`messages_to_send`."""
        if self.phase is Phase.CLOSED:
            return
        setup_by = self._setup_by()
        if setup_by is not None and now >= setup_by - 1e-3:
            self.phase = Phase.CLOSED  # no setup in time (limits.SETUP_TIMEOUT)
            raise LiveError(1011, errors.DEADLINE_EXCEEDED)
        due = self.deadlines.due(now, self.phase is Phase.LIVE, self.compressing)
        if due == "close":
            self.phase = Phase.CLOSED
            raise LiveError(1011, errors.DEADLINE_EXCEEDED)
        if due is not None and self.phase is Phase.LIVE:
            self._send(go_away=GoAway(time_left=f"{due}s"))

    def snapshot_to_store(self, now: float) -> dict[str, Any]:
        """The session as a store keeps it (``expires_at``: the handle's lifetime)."""
        return self.snapshot(now + self.limits.handle_ttl)

    def snapshot(self, expires_at: float) -> dict[str, Any]:
        return take_snapshot(self, expires_at)

    def store_failed(self) -> LiveError:
        """The edge's store call failed (down, or no answer in time): the session is
        CLOSED; close it with the error returned (:func:`.resumption.store_unavailable`,
        Google's 1011 "The service is currently unavailable."), sending no handle that
        was not stored."""
        self.phase = Phase.CLOSED
        return store_unavailable()

    def lease(self) -> ClaimSession | None:
        """The lease the edge holds while this connection lives (renew it every
        ``ttl / 3`` s with the same holder, release it on close), so that no other
        connection resumes the session meanwhile; None: the session cannot be resumed."""
        if self.phase is not Phase.LIVE or self.setup is None:
            return None
        if self.setup.session_resumption is None:
            return None
        return ClaimSession(self.session_id, self.lease_holder, self.limits.lease_ttl)

    def close(self) -> None:
        """The connection is closing: every later verb is a no-op."""
        self.phase = Phase.CLOSED

    @property
    def compressing(self) -> bool:
        return bool(self.setup and self.setup.context_window_compression is not None)

    @property
    def turn_state(self) -> TurnState:
        return TurnState.NONE if self.turn is None else self.turn.state

    # ------------------------------------------------------------------ setup

    def _on_setup(self, setup: Setup) -> None:
        setup = self.gate.constrain(setup)
        if not setup.model:
            raise LiveError(1007, errors.INVALID_ARGUMENT)
        model = self.catalog.resolve(setup.model)
        if model is None:
            shown = setup.model if "/" in setup.model else "models/" + setup.model
            raise LiveError(1008, errors.model_not_found(shown, self.api_version))
        mods = setup.generation_config and setup.generation_config.response_modalities
        if mods and (len(set(mods)) > 1 or mods[0] not in ("TEXT", "AUDIO")):
            raise LiveError(1007, errors.INVALID_ARGUMENT)
        self.profile = profile(model)
        if self.profile is not None and not self.catalog.permissive:
            # the model's own refusals (models.py, with sources)
            refused_modality = modality_refusal(self.profile, mods[0] if mods else None)
            if refused_modality is not None:
                raise LiveError(*refused_modality)
            refused = refused_fields(self.profile, setup.to_json_dict())
            if refused:  # Google's reason text for these is not published: say why
                raise LiveError(1007, refused[0])
        self.setup, self.model = setup, model
        self.phase = Phase.ADMITTING
        self._spend = self.gate.token_use_needed(setup)
        handle = resumes(setup)
        if handle is not None:
            self.gate.start_lookup(handle)
        self._admit(self.deadlines.connected_at)

    def _admit(self, now: float) -> None:
        """The next thing to fetch, or LIVE when nothing is left."""
        if self._spend:
            self._spend = False
            self._need = SpendToken(*self.gate.spend_args())
            return
        handle = self.gate.handle_to_load
        if handle is not None:
            self._need = LoadSession(handle)
            return
        if resumes(self.setup):  # type: ignore[arg-type]
            snapshot = self.gate.check_snapshot(self.model, now)
            if not self._claimed:  # no two connections on one session (resumption.py)
                self.session_id = session_key(snapshot, self.gate.found_handle)
                self._need = ClaimSession(self.session_id, self.lease_holder,
                                          self.limits.lease_ttl, self.limits.lease_wait)
                return
            self._need = None
            restore_snapshot(self, snapshot)
            self.setup = self._locked(self.setup)  # type: ignore[arg-type]
        else:
            history = self.setup.history_config  # type: ignore[union-attr]
            self.initial_history = bool(history and history.initial_history_in_client_content)
        self._need = None
        self.phase = Phase.LIVE
        self._send(setup_complete=SetupComplete())
        self._events.append(ev.SetupDone(setup=self.setup, model=self.model))  # type: ignore[arg-type]
        self._resumption_point()

    # ------------------------------------------------------------ client messages

    def _on_client_content(self, content: ClientContent) -> None:
        """clientContent is appended to the history unconditionally and interrupts the
        current generation (BidiGenerateContentClientContent, Live API reference). A model
        turn in it answers the user turns before it (seeded history), so only what follows
        the last model turn is unanswered. Generation starts only with ``turnComplete:
        true``: "Otherwise, the server will await additional messages" (js-genai
        LiveSendClientContentParameters; the proto default is false, pub.dev
        google_cloud_ai_generativelanguage_v1beta; spec/protocol.md §3)."""
        self._interrupt()
        for turn in content.turns or ():
            self.history.append(turn)
            if turn.role == "model":
                self.unanswered.clear()
            else:
                self.unanswered.append(turn)
        if self.initial_history:
            # "the server will wait and at first process client_content messages until
            # turn_complete is true. This initial history will not trigger a model call and
            # may end with model content" (js-genai HistoryConfig.initialHistoryInClientContent)
            self.unanswered.clear()
            self.initial_history = not content.turn_complete
            return
        if content.turn_complete:
            self._user_turn_complete()

    def _on_realtime_input(self, rt: RealtimeInput) -> None:
        assert self.setup is not None
        explicit = rt.activity_start is not None or rt.activity_end is not None
        if explicit and self.setup.automatic_vad_enabled():
            raise LiveError(1007, errors.EXPLICIT_ACTIVITY_WITH_VAD)
        if rt.activity_start is not None:
            if self._barge_in_interrupts():
                self._interrupt()
            self._events.append(ev.ActivityStarted())
            self._activity_audio = 0  # bounded until activityEnd (media.py)
        for chunk in (rt.media_chunks or ())[:1]:  # deprecated: only the first chunk is used
            self._on_media(media_kind(chunk), chunk)
        if rt.audio is not None:
            self._on_media("audio", rt.audio)
        if rt.video is not None:
            self._on_media("video", rt.video)
        if rt.text is not None:
            if self._barge_in_interrupts():
                self._interrupt()
            self._user_says(Content(role="user", parts=[Part(text=rt.text)]))
        if rt.audio_stream_end and self.setup.automatic_vad_enabled():
            self._events.append(ev.AudioStreamEnded())
        if rt.activity_end is not None:
            self._events.append(ev.ActivityEnded())
            self._activity_audio = None

    def _on_media(self, kind: str, blob: Blob) -> None:
        if kind == "audio":
            if self._activity_audio is not None:
                self._activity_audio = activity_audio(self._activity_audio, blob)
            if self.hears_audio:  # an engine listens: the audio must be PCM it can hear
                self._events.append(ev.MediaReceived(kind=kind, blob=blob,
                                                     rate=check_audio(blob)))
                return
        elif not self.deadlines.video_seen:
            self.deadlines.video_seen = True  # the 2-minute audio+video limit from now on
        self._events.append(ev.MediaReceived(kind=kind, blob=blob))

    def _on_tool_response(self, response: ToolResponse) -> None:
        answered: list[FunctionResponse] = []
        background: list[FunctionResponse] = []
        turn = self.turn
        for fr in response.function_responses or ():
            if not fr.id:
                raise LiveError(1007, errors.INVALID_ARGUMENT)
            if turn is not None and turn.pending_calls.pop(fr.id, None) is not None:
                answered.append(fr)
            elif fr.id in self.calls.background:
                background.append(fr)
        if background:
            self._on_background_responses(background)
        if not answered:
            return
        content = Content(role="user", parts=[Part(function_response=fr) for fr in answered])
        if turn is not None and turn.resumed:
            # calls issued before a resume: no engine task waits for them; once all are
            # answered the model's turn ends and a new one continues from the responses
            if not turn.pending_calls:
                self._close_turn(turn)
            self.history.append(content)
            self.unanswered.append(content)
            if self.turn is None:  # the new turn's output continues the model's turn
                self._start_turn()
            return
        self.history.append(content)
        self._events.append(ev.ToolResponsesReceived(responses=answered))

    def _on_background_responses(self, responses: list[FunctionResponse]) -> None:
        scheduling = self.calls.answered_in_background(responses)
        if scheduling.interrupt:
            self._interrupt()
        content = Content(role="user", parts=[Part(function_response=fr) for fr in responses])
        self.history.append(content)
        if scheduling.start_turn:
            self.unanswered.append(content)
            self._user_turn_complete()

    def _on_context_update(self, update: ContextUpdate) -> None:
        assert self.setup is not None
        changes: dict[str, object] = {}
        if update.system_instruction is not None:
            changes["system_instruction"] = update.system_instruction
        if update.tools is not None:
            changes["tools"] = update.tools.tools or []
        # a token's locked fields keep the token's values (Google is silent on contextUpdate
        # against a token's locks: the locks hold, as they do for the setup)
        self.setup = self._locked(self.setup.model_copy(update=changes))
        self._events.append(ev.ContextUpdated(update=update))

    def _locked(self, setup: Setup) -> Setup:
        """The setup under the locks of this connection's token and of the session's."""
        setup = self.gate.constrain(setup)
        return tk.constrain_setup(setup, self.locks) if self.locks else setup

    # ------------------------------------------------------------- turn bookkeeping

    def _barge_in_interrupts(self) -> bool:
        cfg = self.setup and self.setup.realtime_input_config
        return not (cfg and cfg.activity_handling == "NO_INTERRUPTION")

    def _user_says(self, content: Content) -> None:
        self.history.append(content)
        self.unanswered.append(content)
        self._user_turn_complete()

    def _user_turn_complete(self) -> None:
        if self.turn is not None:  # NO_INTERRUPTION: answer once the current turn ends
            self.queued_turn = True
            return
        self._start_turn()

    def _window(self) -> int:
        """The model's input token limit (models.py), else the configured one."""
        return self.profile.input_token_limit if self.profile else self.limits.context_window

    def _context_tokens(self) -> int:
        """The history's tokens and the system instruction's (counted once per setup)."""
        system = self.setup.system_instruction if self.setup else None
        if self._system_tokens[0] is not system:
            self._system_tokens = (system, self.count_tokens(system) if system else 0)
        return self.history.tokens + self._system_tokens[1]

    def _compress(self) -> None:
        before = len(self.history)
        self.history = compress(self.history, self.setup, self._window(), self.count_tokens)
        if len(self.history) != before and self.unanswered:  # what was cut is not waiting
            kept = {id(c) for c in self.history}
            self.unanswered = [c for c in self.unanswered if id(c) in kept]

    def _check_context(self) -> None:
        """The context within the model's input token limit after each client message:
        compressed when the setup asks for it, else (or when even that does not fit) the
        session ends with 1007 (:func:`.history.context_exceeded`, with its sources)."""
        window = self._window()
        if self._context_tokens() <= window:
            return
        if self.compressing:
            self._compress()
            if self._context_tokens() <= window:
                return
        raise context_exceeded(self._context_tokens(), window)

    def _start_turn(self) -> None:
        self.queued_turn = False  # this turn answers everything unanswered, queued or not
        self._compress()
        turn_id = self.next_turn_id
        self.next_turn_id += 1
        self.turn = ModelTurn(turn_id=turn_id)
        contents, self.unanswered = self.unanswered, []
        self._resumption_point()
        self._events.append(ev.TurnReady(turn_id=turn_id, contents=contents))

    def _interrupt(self) -> None:
        turn = self.turn
        if turn is None:
            return
        self._close_turn(turn)
        cancelled = list(turn.pending_calls)
        self._send(server_content=ServerContent(interrupted=True))
        if cancelled:
            self._send(tool_call_cancellation=ToolCallCancellation(ids=cancelled))
        self._send(server_content=ServerContent(turn_complete=True))
        self._events.append(ev.TurnInterrupted(turn_id=turn.turn_id,
                                               cancelled_call_ids=cancelled))

    def _close_turn(self, turn: ModelTurn) -> None:
        if turn.parts:  # the history keeps what the user has received
            self.history.append(Content(role="model", parts=turn.parts))
        self.turn = None

    def _open(self, turn_id: int, output: str) -> ModelTurn | None:
        """The open turn if ``turn_id`` is current and takes ``output`` now
        (:data:`.turns.OUTPUT_ACCEPTED`); None: drop it."""
        turn = self.turn
        if self.phase is not Phase.LIVE or turn is None or turn.turn_id != turn_id:
            return None
        return turn if output in OUTPUT_ACCEPTED[turn.state] else None

    def _function_behavior(self) -> str:
        """How a function declared without ``behavior`` runs (the model's default)."""
        return self.profile.function_behavior if self.profile else "BLOCKING"

    def _send(self, usage_metadata: UsageMetadata | None = None, **message: Any) -> None:
        self._outbox.append(ServerMessage(usage_metadata=usage_metadata, **message))

    # ------------------------------------------------------------ engine -> client

    def model_text(self, turn_id: int, text: str) -> bool:
        """Stream text in the model's turn. False if the turn is over (interrupted)."""
        turn = self._open(turn_id, "text")
        if turn is None:
            return False
        for piece in text_pieces(text):
            turn.add_text(piece)
            self._send(server_content=ServerContent(
                model_turn=Content(role="model", parts=[Part(text=piece)])))
        return True

    def model_event(self, turn_id: int, content: ServerContent) -> bool:
        """Other serverContent of the model's turn, as given: thought parts (``thought:
        true``, kept out of the history), ``groundingMetadata``, ``urlContextMetadata``.
        False if the turn is over."""
        if self._open(turn_id, "event") is None:
            return False
        self._send(server_content=content)
        return True

    def raw_message(self, message: dict[str, Any]) -> bool:
        """A server message sent exactly as given (the emulator's escape hatch): no rule
        checks it. False unless the session is LIVE."""
        if self.phase is not Phase.LIVE:
            return False
        self._outbox.append(RawServerMessage.of(message))
        return True

    def output_transcription(self, turn_id: int, text: str) -> bool:
        """The text of the model's speech (before generationComplete)."""
        if self._open(turn_id, "transcription") is None:
            return False
        self._send(server_content=ServerContent(output_transcription=Transcription(text=text)))
        return True

    def model_audio(self, turn_id: int, pcm: bytes, rate: int = 24_000,
                    transcript: str | None = None) -> bool:
        """Stream speech in the model's turn (``inlineData`` PCM, cut into messages well
        under 1 MiB); ``transcript`` is its text: kept in the history, and sent as
        outputTranscription when the setup asks for it. False if the turn is over."""
        turn = self._open(turn_id, "audio")
        if turn is None:
            return False
        mime = f"audio/pcm;rate={rate}"
        parts = [Part(inline_data=Blob(mime_type=mime, data=piece))
                 for piece in audio_pieces(pcm)]
        shown = None
        if transcript:
            turn.add_text(transcript)
            if self.setup is not None and self.setup.output_audio_transcription is not None:
                shown = Transcription(text=transcript)
        if self.profile is not None and self.profile.multi_part_events:
            # 3.x: "a single BidiGenerateContentServerContent event can now contain multiple
            # content parts at the same time (e.g. audio chunks and transcription)"
            # (models.py doc:3.1-live): the audio's parts and its transcript in one event
            for i in range(0, max(len(parts), 1), MULTI_PART_EVENT_PARTS):
                batch = parts[i:i + MULTI_PART_EVENT_PARTS]
                last = i + MULTI_PART_EVENT_PARTS >= len(parts)
                if not batch and (shown is None or not last):
                    break
                self._send(server_content=ServerContent(
                    model_turn=Content(role="model", parts=batch) if batch else None,
                    output_transcription=shown if last else None))
            return True
        for part in parts:  # 2.5: one part per event, the transcript in its own event
            self._send(server_content=ServerContent(model_turn=Content(
                role="model", parts=[part])))
        if shown is not None:
            self._send(server_content=ServerContent(output_transcription=shown))
        return True

    def tool_call(self, turn_id: int, calls: list[FunctionCall]) -> IssuedCalls | None:
        """Ask the client to run functions; ids are assigned here. The engine waits for the
        responses to ``awaited`` (NON_BLOCKING calls are not awaited: their responses are
        scheduled, see :mod:`.calls`). None if the turn is over."""
        turn = self._open(turn_id, "tool_call")
        if turn is None:
            return None
        issued = self.calls.issue(calls)
        awaited = []
        for call in issued:
            call_id = call.id or ""
            if self.calls.non_blocking(self.setup, call.name, self._function_behavior()):
                self.calls.background[call_id] = call
            else:
                turn.pending_calls[call_id] = call
                awaited.append(call_id)
            turn.add_part(Part(function_call=call))
        self._send(tool_call=ToolCall(function_calls=issued))
        return IssuedCalls(calls=issued, awaited=awaited)

    def generation_complete(self, turn_id: int) -> bool:
        turn = self._open(turn_id, "generation_complete")
        if turn is None:
            return False
        if not turn.generation_complete:
            turn.generation_complete = True
            self._send(server_content=ServerContent(generation_complete=True))
        return True

    def complete_turn(self, turn_id: int, usage: UsageMetadata | None = None, *,
                      reason: str | None = None, waiting_for_input: bool | None = None,
                      more: bool = False) -> bool:
        """generationComplete (if not sent yet), then turnComplete carrying usageMetadata,
        ``turnCompleteReason`` and ``waitingForInput`` when given, and — on models that
        report it — ``interactionStatus``: IN_PROGRESS when ``more`` model output follows
        without new input, else IDLE (google-genai 3.6.1 LiveServerContent)."""
        if not self.generation_complete(turn_id):
            return False
        turn = self.turn
        assert turn is not None
        self._close_turn(turn)
        status = None
        if self.profile is not None and self.profile.interaction_status:
            status = "IN_PROGRESS" if more else "IDLE"
        self._send(server_content=ServerContent(
            turn_complete=True, turn_complete_reason=reason,
            waiting_for_input=waiting_for_input, interaction_status=status),
            usage_metadata=usage)
        if self.queued_turn:
            self._start_turn()
        else:
            self._resumption_point()
        return True

    def go_away(self, time_left: str, now: float) -> None:
        """An engine's goAway (fault injection): sent now; the connection then closes with
        1011 DEADLINE_EXCEEDED when ``time_left`` runs out, and no other goAway follows."""
        if self.phase is Phase.LIVE:
            self._send(go_away=GoAway(time_left=time_left))
            self.deadlines.engine_go_away(now, time_left)

    # -------------------------------------------------------- engine heard the user

    def input_transcription(self, text: str, finished: bool | None = None) -> None:
        if self.phase is Phase.LIVE:
            self._send(server_content=ServerContent(
                input_transcription=Transcription(text=text, finished=finished)))

    def speech_started(self, audio_offset: float | None = None) -> None:
        """The engine's voice activity detection heard the user start speaking (at
        ``audio_offset`` seconds of the audio stream): ``voiceActivity`` ACTIVITY_START is
        sent, and with START_OF_ACTIVITY_INTERRUPTS (the default) the model's open turn is
        interrupted, even while its audio is still playing."""
        if self.phase is not Phase.LIVE:
            return
        self._voice_activity("ACTIVITY_START", audio_offset)
        if self._barge_in_interrupts():
            self._interrupt()

    def speech_ended(self, audio_offset: float | None = None) -> None:
        """The engine's voice activity detection heard the user stop speaking:
        ``voiceActivity`` ACTIVITY_END."""
        if self.phase is Phase.LIVE:
            self._voice_activity("ACTIVITY_END", audio_offset)

    def _voice_activity(self, kind: str, audio_offset: float | None) -> None:
        """``voiceActivity {type, audioOffset}``, sent when the server's automatic activity
        detection sees speech start or stop (spec/protocol.md §0; the Developer API's wire
        names are ``type`` and ``audioOffset``: google-genai 3.6.1
        ``_live_converters._VoiceActivity_from_mldev``)."""
        offset = None if audio_offset is None else f"{max(audio_offset, 0.0):.3f}s"
        self._send(voice_activity=VoiceActivity(type=kind, audio_offset=offset))

    def user_speech(self, text: str) -> None:
        """What the user said (recognized speech) ends their turn."""
        if self.phase is Phase.LIVE and text.strip():
            self._user_says(Content(role="user", parts=[Part(text=text)]))

    # ----------------------------------------------------------------- resumption

    def _resumption_point(self) -> None:
        """sessionResumptionUpdate (with sessionResumption in the setup): a new handle when
        no model turn is running, else ``resumable: false`` with no handle."""
        if self.phase is not Phase.LIVE or self.setup is None:
            return
        if self.setup.session_resumption is None:
            return
        if self.turn is not None:
            self._send(session_resumption_update=SessionResumptionUpdate(resumable=False))
            return
        # the handle this connection issued before (or the one it resumed from) becomes an
        # alias of the new one: one snapshot per session, every handle resumes its latest
        supersedes = self.handle or self.gate.found_handle
        handle = self.handle = self._new_handle()
        self._send(session_resumption_update=SessionResumptionUpdate(
            new_handle=handle, resumable=True))
        self._events.append(ev.HandleIssued(handle=handle, supersedes=supersedes))
