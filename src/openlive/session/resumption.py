"""Session resumption: what a stored session holds, and how a connection continues it.

spec/protocol.md §4 ("Session resumption"); Live API guide, "Session resumption": with
``sessionResumption`` in the setup the server sends ``sessionResumptionUpdate`` — a new
handle whenever the session can be resumed (no model turn running), ``resumable: false``
while one runs. A new connection whose setup names a handle continues that session: its
history, pending tool calls and the session's start (the duration limit survives); the
config may change, the model may not. A handle stays valid 2 h after the session ends.

**One connection per session.** Google refuses a resume while an earlier connection of the
same session is still open, with 1011 ("Internal error encountered.", spec/protocol.md §5;
reported in github.com/aicc2025/sip-to-ai pull 14: "Gemini rejects a resume with 1011
while an earlier socket of the same session is still open"), so a client must close the
old socket first. openlive does the same across server processes: a connection of a
resumable session holds a *lease* in the store (``Store.claim_lease``, key: the session's
id, kept in every snapshot), renewed while it lives and released when it closes; a resume
claims the lease before it continues the session and is refused while another holds it.
A client sees its close before the server has saved the session and let go of it, so a
claim waits up to ``Limits.lease_wait`` (openlive's own: 2 s) for the lease, and once it
holds it loads the session again: the last holder saved its final state before it let go.
A crashed process's leases expire after ``Limits.lease_ttl`` (openlive's own: 30 s).
"""

from __future__ import annotations

from typing import Any, Protocol

from ..wire import errors
from ..wire.content import Content, FunctionCall, Part
from ..wire.errors import LiveError
from ..wire.setup import Setup
from .admission import Gate
from .calls import CallBook
from .deadlines import Deadlines
from .history import History
from .turns import ModelTurn


class Resumable(Protocol):
    """What of the session core a snapshot holds (``SessionCore`` is one)."""

    model: str | None
    setup: Setup | None
    history: History
    unanswered: list[Content]
    turn: ModelTurn | None
    next_turn_id: int
    calls: CallBook
    deadlines: Deadlines
    gate: Gate
    resumed: bool
    locks: dict[str, Any] | None
    session_id: str

SNAPSHOT_VERSION = 1


def take_snapshot(core: Resumable, expires_at: float) -> dict[str, Any]:
    """The session as JSON, for a store: what a resumed connection continues from."""
    history = [c.to_json_dict() for c in core.history]
    turn = core.turn
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
        "session": core.session_id,  # the lease's key: one connection at a time
        "model": core.model,
        "setup": core.setup.to_json_dict() if core.setup else None,
        "history": history,
        "unanswered": [c.to_json_dict() for c in core.unanswered],
        "turn_parts": turn_parts,
        "pending_calls": pending,
        "background_calls": [c.to_json_dict() for c in core.calls.background.values()],
        "next_turn_id": core.next_turn_id,
        "next_call_id": core.calls.next_id,
        "session_started": core.deadlines.session_started,
        "video_seen": core.deadlines.video_seen,
        "token": core.gate.token["name"] if core.gate.token else None,
        "owner": core.gate.owner,  # whose credential may resume it (admission.py, rule 5)
        "locks": core.locks,  # a token's locked fields hold on every resumption
        "expires_at": expires_at,
    }


def session_key(snapshot: dict[str, Any], found_handle: str | None) -> str:
    """The key of a stored session's lease (a snapshot stored before sessions had an id:
    the handle it was found under)."""
    return str(snapshot.get("session") or "handle:" + str(found_handle))


def connected_elsewhere() -> LiveError:
    """The refusal of a resume while another connection holds the session (see above)."""
    return LiveError(1011, errors.INTERNAL)


def store_unavailable() -> LiveError:
    """The store could not keep or give back the session (down, or no answer in time): the
    session closes as on Google's own server faults, 1011 "The service is currently
    unavailable." (spec/protocol.md §5; the reason Google's backend failures carry in
    github.com/kazunori279/adk-streaming-guide issue 11). A handle is never sent before its
    session is stored, so a client never holds a handle that cannot resume."""
    return LiveError(1011, errors.UNAVAILABLE)


def restore_snapshot(core: Resumable, snapshot: dict[str, Any]) -> None:
    """Continue a stored session: its history, pending tool calls and counters; the setup
    stays the one this connection sent."""
    core.history.replace(Content.model_validate(c) for c in snapshot.get("history") or ())
    core.unanswered = [Content.model_validate(c) for c in snapshot.get("unanswered") or ()]
    core.next_turn_id = int(snapshot.get("next_turn_id", 1))
    core.calls.next_id = int(snapshot.get("next_call_id", 1))
    deadlines = core.deadlines
    deadlines.session_started = float(snapshot.get("session_started",
                                                   deadlines.session_started))
    deadlines.video_seen = bool(snapshot.get("video_seen"))
    core.resumed = True
    core.session_id = session_key(snapshot, core.gate.found_handle)
    core.locks = snapshot.get("locks") or core.locks  # the session's original locks
    for c in snapshot.get("background_calls") or ():  # NON_BLOCKING calls still open
        call = FunctionCall.model_validate(c)
        core.calls.background[call.id or ""] = call
    pending = [FunctionCall.model_validate(c) for c in snapshot.get("pending_calls") or ()]
    if pending:
        turn_id = core.next_turn_id
        core.next_turn_id += 1
        turn = ModelTurn(turn_id=turn_id, pending_calls={c.id or "": c for c in pending},
                         generation_complete=True, resumed=True)
        for p in snapshot.get("turn_parts") or ():
            turn.add_part(Part.model_validate(p))
        core.turn = turn
