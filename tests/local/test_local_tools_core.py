"""NON_BLOCKING function calls in the session core (sans I/O): responses outlive the turn,
``scheduling`` SILENT / WHEN_IDLE / INTERRUPT, ``willContinue``."""

from __future__ import annotations

import json

from openlive.session import LiveSession
from openlive.session import events as ev
from openlive.wire import FunctionCall

MODEL = "models/gemini-2.5-flash-native-audio-preview-12-2025"
TOOLS = [{"functionDeclarations": [
    {"name": "search", "behavior": "NON_BLOCKING"},
    {"name": "lookup"},
]}]


def live() -> LiveSession:
    s = LiveSession()
    s.receive_frame(json.dumps({"setup": {"model": MODEL, "tools": TOOLS}}))
    drain(s)
    return s


def drain(s: LiveSession) -> tuple[list[dict], list[ev.Event]]:
    out = [s.outbox.popleft().to_json_dict() for _ in range(len(s.outbox))]
    events = [s.events.popleft() for _ in range(len(s.events))]
    return out, events


def start_turn(s: LiveSession, text: str = "find flights") -> int:
    s.receive_frame(json.dumps({"realtimeInput": {"text": text}}))
    _, events = drain(s)
    (ready,) = [e for e in events if isinstance(e, ev.TurnReady)]
    return ready.turn_id


def respond(s: LiveSession, call_id: str, **fields) -> None:
    s.receive_frame(json.dumps({"toolResponse": {"functionResponses": [
        {"id": call_id, "name": "search", "response": {"output": "x"}, **fields}]}}))


def test_non_blocking_call_does_not_hold_the_turn():
    s = live()
    tid = start_turn(s)
    (call,) = s.tool_call(tid, [FunctionCall(name="search", args={"q": "Paris"})])
    assert not s.turn.pending_calls and call.id in s.background_calls
    (blocking,) = s.tool_call(tid, [FunctionCall(name="lookup")])
    assert list(s.turn.pending_calls) == [blocking.id] and blocking.id != call.id
    s.turn.pending_calls.clear()
    assert s.complete_turn(tid)
    drain(s)
    # the turn is over; the response is still accepted
    respond(s, call.id, scheduling="SILENT", willContinue=True)
    out, events = drain(s)
    assert out == [] and events == []  # SILENT: context only
    assert s.history[-1].parts[0].function_response.id == call.id
    assert call.id in s.background_calls  # willContinue: more responses follow
    respond(s, call.id)  # WHEN_IDLE by default, and the last one
    out, events = drain(s)
    (ready,) = [e for e in events if isinstance(e, ev.TurnReady)]
    assert ready.contents[0].parts[0].function_response.id == call.id
    assert call.id not in s.background_calls
    respond(s, call.id)  # after the last response, the id is unknown: ignored
    assert drain(s) == ([], [])


def test_when_idle_waits_for_the_current_turn():
    s = live()
    tid = start_turn(s)
    (call,) = s.tool_call(tid, [FunctionCall(name="search")])
    drain(s)
    respond(s, call.id, scheduling="WHEN_IDLE")
    out, events = drain(s)
    assert not any(isinstance(e, ev.TurnReady) for e in events)
    assert not any("interrupted" in m.get("serverContent", {}) for m in out)
    s.complete_turn(tid)
    out, events = drain(s)
    assert any(m.get("serverContent", {}).get("turnComplete") for m in out)
    assert any(isinstance(e, ev.TurnReady) for e in events)  # then it speaks about it


def test_interrupt_cuts_the_current_turn():
    s = live()
    tid = start_turn(s)
    (call,) = s.tool_call(tid, [FunctionCall(name="search")])
    s.model_text(tid, "Searching")
    drain(s)
    respond(s, call.id, scheduling="INTERRUPT")
    out, events = drain(s)
    assert out[0] == {"serverContent": {"interrupted": True}}
    assert {"serverContent": {"turnComplete": True}} in out
    kinds = [type(e) for e in events]
    assert kinds.index(ev.TurnInterrupted) < kinds.index(ev.TurnReady)
    # the history keeps what was said, then the result
    assert s.history[-2].role == "model" and s.history[-1].parts[0].function_response


def test_open_non_blocking_calls_survive_resumption():
    s = live()
    tid = start_turn(s)
    (call,) = s.tool_call(tid, [FunctionCall(name="search", args={"q": "Paris"})])
    assert s.complete_turn(tid)
    drain(s)
    snapshot = json.loads(json.dumps(s.snapshot(expires_at=0.0)))  # as a store keeps it
    resumed = live()
    resumed.restore(snapshot)
    assert list(resumed.background_calls) == [call.id]
    respond(resumed, call.id)  # the response on the new connection is still taken
    _, events = drain(resumed)
    (ready,) = [e for e in events if isinstance(e, ev.TurnReady)]
    assert ready.contents[0].parts[0].function_response.id == call.id
