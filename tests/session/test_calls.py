"""session/calls.py: tool call ids, the calls that hold the model's turn (IssuedCalls.awaited),
and NON_BLOCKING calls — responses outlive the turn, ``scheduling`` SILENT / WHEN_IDLE /
INTERRUPT, ``willContinue``."""

from __future__ import annotations

import json

from openlive.session import events as ev
from openlive.session.calls import CallBook, Scheduling
from openlive.wire import FunctionCall, errors
from openlive.wire.content import FunctionResponse

from .harness import Driver, live, tool_response, user_text

TOOLS = [{"functionDeclarations": [
    {"name": "search", "behavior": "NON_BLOCKING"},
    {"name": "lookup"},
]}]


def respond(d: Driver, call_id: str, **fields) -> None:
    d.feed(tool_response(call_id, name="search", response={"output": "x"}, **fields))


# ------------------------------------------------------------ blocking calls

def test_tool_response_without_id_is_refused():
    d = live()
    tid = d.start_turn()
    d.core.tool_call(tid, [FunctionCall(name="f")])
    err = d.refused(tool_response(None, response={"output": 1}))
    assert (err.code, err.reason) == (1007, errors.INVALID_ARGUMENT)


def test_tool_response_is_matched_by_id():
    d = live()
    core = d.core
    tid = d.start_turn()
    issued = core.tool_call(tid, [FunctionCall(name="f", id="given-id")])
    (call,) = issued.calls
    assert call.id == "given-id" and issued.awaited == ["given-id"]
    d.drain()
    # an unknown id is ignored
    d.feed({"tool_response": {"function_responses": [{"id": "other", "response": {"x": 1}}]}})
    assert d.events() == [] and core.turn.pending_calls
    d.feed({"tool_response": {"function_responses": [
        {"id": "given-id", "name": "f", "response": {"output": "ok"}}]}})
    (got,) = d.events()
    assert isinstance(got, ev.ToolResponsesReceived)
    assert [r.id for r in got.responses] == ["given-id"]
    assert not core.turn.pending_calls
    assert core.history[-1].parts[0].function_response.response == {"output": "ok"}
    # the call is no longer pending: an interrupt cancels nothing
    d.feed(user_text("next"))
    assert {"toolCallCancellation": {"ids": ["given-id"]}} not in d.drain()


def test_ids_are_assigned_in_order_across_turns():
    d = live()
    first = d.start_turn()
    issued = d.core.tool_call(first, [FunctionCall(name="a"), FunctionCall(name="b", id="mine"),
                                      FunctionCall(name="c")])
    assert [c.id for c in issued.calls] == ["call-1", "mine", "call-2"]
    assert issued.awaited == ["call-1", "mine", "call-2"]
    d.feed(user_text("again"))
    (ready,) = [e for e in d.events() if isinstance(e, ev.TurnReady)]
    again = d.core.tool_call(ready.turn_id, [FunctionCall(name="a")])
    assert [c.id for c in again.calls] == ["call-3"]


def test_call_book_issue_and_scheduling():
    book = CallBook()
    (a, b) = book.issue([FunctionCall(name="f", args=None), FunctionCall(name="g", id="x")])
    assert (a.id, a.args, b.id) == ("call-1", {}, "x") and book.next_id == 2
    book.background = {"call-1": a, "x": b}
    silent = book.answered_in_background([
        FunctionResponse(id="x", scheduling="SILENT", will_continue=True)])
    assert silent == Scheduling(interrupt=False, start_turn=False) and "x" in book.background
    mixed = book.answered_in_background([FunctionResponse(id="x", scheduling="SILENT"),
                                         FunctionResponse(id="call-1", scheduling="INTERRUPT")])
    assert mixed == Scheduling(interrupt=True, start_turn=True) and book.background == {}
    idle = book.answered_in_background([FunctionResponse(id="gone")])  # WHEN_IDLE default
    assert idle == Scheduling(interrupt=False, start_turn=True)


# -------------------------------------------------------- NON_BLOCKING calls

def test_non_blocking_call_does_not_hold_the_turn():
    d = live(tools=TOOLS)
    core = d.core
    tid = d.start_turn("find flights")
    issued = core.tool_call(tid, [FunctionCall(name="search", args={"q": "Paris"})])
    (call,) = issued.calls
    assert issued.awaited == []  # the engine does not wait for it
    assert not core.turn.pending_calls and call.id in core.calls.background
    blocking_issued = core.tool_call(tid, [FunctionCall(name="lookup")])
    (blocking,) = blocking_issued.calls
    assert blocking_issued.awaited == [blocking.id]
    assert list(core.turn.pending_calls) == [blocking.id] and blocking.id != call.id
    core.turn.pending_calls.clear()
    assert core.complete_turn(tid)
    d.drain()
    d.events()
    # the turn is over; the response is still accepted
    respond(d, call.id, scheduling="SILENT", willContinue=True)
    assert d.drain() == [] and d.events() == []  # SILENT: context only
    assert core.history[-1].parts[0].function_response.id == call.id
    assert call.id in core.calls.background  # willContinue: more responses follow
    respond(d, call.id)  # WHEN_IDLE by default, and the last one
    d.drain()
    (ready,) = [e for e in d.events() if isinstance(e, ev.TurnReady)]
    assert ready.contents[0].parts[0].function_response.id == call.id
    assert call.id not in core.calls.background
    respond(d, call.id)  # after the last response, the id is unknown: ignored
    assert d.drain() == [] and d.events() == []


def test_when_idle_waits_for_the_current_turn():
    d = live(tools=TOOLS)
    tid = d.start_turn("find flights")
    (call,) = d.core.tool_call(tid, [FunctionCall(name="search")]).calls
    d.drain()
    respond(d, call.id, scheduling="WHEN_IDLE")
    out, events = d.drain(), d.events()
    assert not any(isinstance(e, ev.TurnReady) for e in events)
    assert not any("interrupted" in m.get("serverContent", {}) for m in out)
    d.core.complete_turn(tid)
    out, events = d.drain(), d.events()
    assert any(m.get("serverContent", {}).get("turnComplete") for m in out)
    assert any(isinstance(e, ev.TurnReady) for e in events)  # then it speaks about it


def test_interrupt_cuts_the_current_turn():
    d = live(tools=TOOLS)
    tid = d.start_turn("find flights")
    (call,) = d.core.tool_call(tid, [FunctionCall(name="search")]).calls
    d.core.model_text(tid, "Searching")
    d.drain()
    respond(d, call.id, scheduling="INTERRUPT")
    out, events = d.drain(), d.events()
    assert out[0] == {"serverContent": {"interrupted": True}}
    assert {"serverContent": {"turnComplete": True}} in out
    kinds = [type(e) for e in events]
    assert kinds.index(ev.TurnInterrupted) < kinds.index(ev.TurnReady)
    # the history keeps what was said, then the result
    history = d.core.history
    assert history[-2].role == "model" and history[-1].parts[0].function_response


def test_open_non_blocking_calls_survive_resumption():
    d = live(tools=TOOLS)
    tid = d.start_turn("find flights")
    (call,) = d.core.tool_call(tid, [FunctionCall(name="search", args={"q": "Paris"})]).calls
    assert d.core.complete_turn(tid)
    d.drain()
    snapshot = json.loads(json.dumps(d.core.snapshot(expires_at=100.0)))  # as a store keeps it
    resumed = Driver().setup(tools=TOOLS, sessionResumption={"handle": "h1"})
    resumed.admit({"h1": snapshot})
    assert list(resumed.core.calls.background) == [call.id]
    resumed.drain()
    resumed.events()
    respond(resumed, call.id)  # the response on the new connection is still taken
    (ready,) = [e for e in resumed.events() if isinstance(e, ev.TurnReady)]
    assert ready.contents[0].parts[0].function_response.id == call.id
