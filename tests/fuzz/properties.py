"""What the fuzzer asserts, as plain functions (tests/fuzz/test_fuzz.py runs a sample in the
suite; bench/fuzz.py runs 10^5 cases and more):

* **the parser**: ``parse_client_frame`` returns a message or raises ``LiveError`` 1007;
  ``parse_media_frame`` returns a media chunk or None, never raises; a media chunk it
  returns is the one the general parser reads.
* **the session core** (driven as an edge drives it, through the harness's Driver): no
  exception escapes a verb but ``LiveError`` — from a client frame only 1007/1008/1009 (and
  a model's documented 1011 refusal, models.py), from a timer 1011 DEADLINE_EXCEEDED, from
  the store's answers 1008 or 1011; engine verbs raise nothing — and after every step the
  invariants hold: phase moves only as the CLIENT_RULES table and the module docstring say,
  a message the table refuses is refused, nothing is sent or handed on after the close,
  the turn state is consistent, the history's running count is its sum, every new handle
  is announced to the edge, every server message encodes under the SDK's 1 MiB frame.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from openlive.session import Phase
from openlive.session import events as ev
from openlive.session.limits import Limits
from openlive.session.models import PROFILES, ModelCatalog
from openlive.session.state import (
    SETUP_ORDER,
    ClaimSession,
    LoadSession,
    SpendToken,
    client_rule,
)
from openlive.session.turns import TurnState
from openlive.wire.codec import encode_server_message, parse_client_frame, parse_media_frame
from openlive.wire.content import FunctionCall
from openlive.wire.errors import DEADLINE_EXCEEDED, INTERNAL, LiveError
from session.harness import Driver

from .frames import frames, good_messages, good_setups

CLIENT_CODES = {1007, 1008, 1009}
#: 1011 closes a client frame may cause that Google documents for a model (models.py)
DOCUMENTED_1011 = {p.modality_refused for p in PROFILES if p.modality_refused[0] == 1011}
MOVES = {
    Phase.AWAIT_SETUP: {Phase.AWAIT_SETUP, Phase.ADMITTING, Phase.LIVE, Phase.CLOSED},
    Phase.ADMITTING: {Phase.ADMITTING, Phase.LIVE, Phase.CLOSED},
    Phase.LIVE: {Phase.LIVE, Phase.CLOSED},
    Phase.CLOSED: {Phase.CLOSED},
}
MAX_FRAME = 1024 * 1024  # the Python SDK's frame limit (spec/sdk-wire.md §2)


class Finding(AssertionError):
    """An invariant that did not hold (the fuzzer's finding)."""


def check(ok: bool, what: str) -> None:
    if not ok:
        raise Finding(what)


# ------------------------------------------------------------------------ the parser

def check_parser(frame: str | bytes) -> None:
    try:
        message = parse_client_frame(frame)
    except LiveError as exc:
        check(exc.code == 1007, f"the parser refused with {exc.code} {exc.reason!r}")
        message = None
    media = parse_media_frame(frame)  # never raises: anything odd takes the general path
    if media is not None:
        check(message is not None, "the media fast path took a frame the parser refuses")
        kind, blob = media
        rt = message.realtime_input
        check(rt is not None and getattr(rt, kind) == blob,
              "the media fast path and the parser read different chunks")


# ------------------------------------------------------------------ the session core

turn_texts = st.text(max_size=20)
engine_ops = st.one_of(
    st.tuples(st.just("text"), turn_texts),
    st.tuples(st.just("audio"), st.binary(max_size=32)),
    st.tuples(st.just("transcription"), turn_texts),
    st.tuples(st.just("tool_call"), st.sampled_from(["f", "get_weather"])),
    st.tuples(st.just("generation_complete"), st.none()),
    st.tuples(st.just("complete"), st.none()),
    st.tuples(st.just("speech_started"), st.none()),
    st.tuples(st.just("user_speech"), turn_texts),
    st.tuples(st.just("input_transcription"), turn_texts),
    st.tuples(st.just("go_away"), st.sampled_from(["1s", "0s", "10s"])),
)
_kinds = ["frame", "frame", "engine", "engine", "tick"]


@st.composite
def steps(draw: st.DrawFn) -> list[tuple[str, Any]]:
    """A session's steps: mostly a well-formed setup first (else most cases end at frame
    one), then well-formed traffic, engine output and timer ticks, and at most one hostile
    frame somewhere (so that what follows it is explored too)."""
    plan: list[tuple[str, Any]] = []
    if draw(st.integers(min_value=0, max_value=3)):
        plan.append(("frame", draw(good_setups)))
    for _ in range(draw(st.integers(min_value=8, max_value=40))):
        kind = _kinds[draw(st.integers(min_value=0, max_value=len(_kinds) - 1))]
        if kind == "frame":
            plan.append((kind, draw(good_messages)))
        elif kind == "engine":
            plan.append((kind, (draw(engine_ops), draw(st.booleans()))))
        else:
            plan.append((kind, draw(st.floats(min_value=0, max_value=120))))
    if draw(st.booleans()):
        plan.insert(draw(st.integers(min_value=0, max_value=len(plan))),
                    ("frame", draw(frames)))
    return plan


store_answers = st.lists(st.booleans(), min_size=8, max_size=8)


def run_core(plan: list[tuple[str, Any]], answers: list[bool], limited: bool,
             permissive: bool = False) -> None:
    """Drive one session through ``plan`` (openlive's deadlines when ``limited``; the
    models' refusals off when ``permissive``); raises Finding (or any stray exception)."""
    catalog = ModelCatalog(extra_names=["openlive-emulator"], permissive=permissive)
    d = Driver(limits=Limits() if limited else Limits.none(), catalog=catalog)
    core = d.core
    stored: dict[str, dict] = {}  # snapshots under handles this session issued
    now = 0.0
    closed_at: int | None = None
    for i, (kind, arg) in enumerate(plan):
        before = core.phase
        if kind == "frame":
            expected = _expected_refusal(before, arg)
            claim_refused = False
            try:
                core.receive_frame(arg)
                while (need := core.needs()) is not None:
                    answer = _answer(need, stored, answers, i)
                    claim_refused = isinstance(need, ClaimSession) and not answer
                    core.fetched(answer, now)
            except LiveError as exc:
                allowed = (exc.code in CLIENT_CODES or (exc.code, exc.reason) in DOCUMENTED_1011
                           or claim_refused and (exc.code, exc.reason) == (1011, INTERNAL))
                check(allowed, f"a client frame closed with {exc.code} {exc.reason!r}")
            else:
                check(expected is None, f"a frame the table refuses ({expected}) was taken")
        elif kind == "tick":
            now += arg
            try:
                core.tick(now)
            except LiveError as exc:
                check((exc.code, exc.reason) == (1011, DEADLINE_EXCEEDED),
                      f"a timer closed with {exc.code} {exc.reason!r}")
        else:
            (op, value), stale = arg
            _engine(core, op, value, stale, now)
        after = core.phase
        check(after in MOVES[before], f"phase moved {before.name} -> {after.name}")
        raw = core.messages_to_send()
        encoded_size_ok(raw)
        out, events = [m.to_json_dict() for m in raw], d.events()
        if before is Phase.CLOSED:
            check(out == [] and events == [], "output after the close")
        if after is Phase.CLOSED and closed_at is None:
            closed_at = i
        _check_state(core, out, events, stored, now)


def _expected_refusal(phase: Phase, frame: str | bytes) -> str | None:
    """What CLIENT_RULES says of a frame that parses: SETUP_ORDER (must close 1007)."""
    try:
        message = parse_client_frame(frame)
    except LiveError:
        return None
    if phase in (Phase.AWAIT_SETUP, Phase.LIVE) and client_rule(phase, message.kind) == SETUP_ORDER:
        return SETUP_ORDER
    return None


def _answer(need: object, stored: dict[str, dict], answers: list[bool], i: int) -> object:
    flip = answers[i % len(answers)]
    if isinstance(need, LoadSession):
        return stored.get(need.handle) if flip else None
    if isinstance(need, SpendToken | ClaimSession):
        return flip
    raise Finding(f"an unknown need {need!r}")


def _engine(core: Any, op: str, value: Any, stale: bool, now: float) -> None:
    turn_id = (core.turn.turn_id if core.turn is not None and not stale
               else core.next_turn_id + 7)
    if op == "text":
        core.model_text(turn_id, value)
    elif op == "audio":
        core.model_audio(turn_id, value[: len(value) // 2 * 2], 24_000, "said")
    elif op == "transcription":
        core.output_transcription(turn_id, value)
    elif op == "tool_call":
        core.tool_call(turn_id, [FunctionCall(name=value, args={"city": "Oslo"})])
    elif op == "generation_complete":
        core.generation_complete(turn_id)
    elif op == "complete":
        core.complete_turn(turn_id)
    elif op == "speech_started":
        core.speech_started()
    elif op == "user_speech":
        core.user_speech(value)
    elif op == "input_transcription":
        core.input_transcription(value)
    elif op == "go_away":
        core.go_away(value, now)


def _check_state(core: Any, out: list[dict], events: list[ev.Event],
                 stored: dict[str, dict], now: float) -> None:
    turn = core.turn
    check((turn is None) == (core.turn_state is TurnState.NONE), "turn and turn state differ")
    if turn is not None:
        check(turn.turn_id < core.next_turn_id, "a turn id from the future")
    if core.phase in (Phase.AWAIT_SETUP, Phase.ADMITTING):
        check(turn is None and out == [], "output or a turn before the session is live")
    history = core.history
    check(len(history.sizes) == len(history) and history.tokens == sum(history.sizes),
          "the history's running count is not its sum")
    issued = [e.handle for e in events if isinstance(e, ev.HandleIssued)]
    announced = [m["sessionResumptionUpdate"]["newHandle"] for m in out
                 if m.get("sessionResumptionUpdate", {}).get("newHandle")]
    check(issued == announced, "a handle sent without HandleIssued (or the reverse)")
    for handle in issued:  # the edge stores each: a later resume in this case may find it
        stored[handle] = core.snapshot_to_store(now)
    for message in core.messages_to_send():  # (drained already: nothing is left over)
        raise Finding(f"a message left after the drain: {message}")


def encoded_size_ok(messages: list[Any]) -> None:
    for message in messages:
        check(len(encode_server_message(message)) < MAX_FRAME, "a server frame over 1 MiB")
