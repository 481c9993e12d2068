"""session/turns.py: the model's turn — its output verbs, TurnState and OUTPUT_ACCEPTED, stale
output, and what the history keeps of it (ModelTurn)."""

from __future__ import annotations

import pytest

from openlive.session.turns import OUTPUT_ACCEPTED, ModelTurn, TurnState
from openlive.wire import FunctionCall, UsageMetadata
from openlive.wire.content import Content, Part
from openlive.wire.server_messages import ServerContent

from .harness import Driver, live, tool_response, user_text


def test_complete_turn_emits_generation_complete_then_turn_complete_with_usage():
    d = live()
    core = d.core
    tid = d.start_turn()
    assert core.model_text(tid, "Hello ")
    assert core.model_text(tid, "there")
    usage = UsageMetadata(prompt_token_count=3, response_token_count=2, total_token_count=5)
    assert core.complete_turn(tid, usage)
    d.assert_sent(
        {"serverContent": {"modelTurn": {"role": "model", "parts": [{"text": "Hello "}]}}},
        {"serverContent": {"modelTurn": {"role": "model", "parts": [{"text": "there"}]}}},
        {"serverContent": {"generationComplete": True}},
        {"serverContent": {"turnComplete": True},
         "usageMetadata": {"promptTokenCount": 3, "responseTokenCount": 2,
                           "totalTokenCount": 5}},
    )
    assert core.turn is None
    assert core.history[-1].role == "model" and core.history[-1].text() == "Hello there"
    # the turn is over: later output and a second completion are refused
    assert not core.model_text(tid, "late")
    assert not core.complete_turn(tid)
    d.assert_sent()


def test_generation_complete_is_sent_once():
    d = live()
    core = d.core
    tid = d.start_turn()
    assert core.generation_complete(tid)
    assert core.generation_complete(tid)
    assert not core.model_text(tid, "after generationComplete")
    assert not core.output_transcription(tid, "after generationComplete")
    assert core.complete_turn(tid)
    d.assert_sent({"serverContent": {"generationComplete": True}},
                  {"serverContent": {"turnComplete": True}})


def test_output_for_a_stale_turn_is_dropped():
    d = live()
    core = d.core
    old = d.start_turn("one")
    d.feed(user_text("two"))
    d.drain()
    new = core.turn.turn_id
    assert new != old
    assert core.model_text(old, "stale") is False
    assert core.tool_call(old, [FunctionCall(name="f")]) is None
    assert core.output_transcription(old, "stale") is False
    assert core.model_audio(old, b"\x00\x00") is False
    assert core.generation_complete(old) is False
    assert core.complete_turn(old) is False
    d.assert_sent()
    assert core.turn.turn_id == new  # the current turn is untouched
    assert core.model_text(new, "fresh")
    d.assert_sent(
        {"serverContent": {"modelTurn": {"role": "model", "parts": [{"text": "fresh"}]}}})


def test_history_keeps_the_interrupted_partial_reply():
    d = live()
    tid = d.start_turn("tell me a story")
    d.core.model_text(tid, "Once upon ")
    d.core.model_text(tid, "a time")
    d.feed(user_text("shorter please"))
    roles_texts = [(c.role, c.text()) for c in d.core.history]
    assert roles_texts == [("user", "tell me a story"), ("model", "Once upon a time"),
                           ("user", "shorter please")]


def test_interrupted_turn_with_no_output_leaves_no_model_entry():
    d = live()
    d.start_turn("a")
    d.feed(user_text("b"))
    assert [c.role for c in d.core.history] == ["user", "user"]


# ----------------------------------------------------- TurnState, OUTPUT_ACCEPTED

OUTPUTS = ("text", "audio", "transcription", "event", "tool_call", "generation_complete",
           "turn_complete")


def test_output_accepted_table():
    open_turn = frozenset(OUTPUTS)
    assert OUTPUT_ACCEPTED == {
        TurnState.NONE: frozenset(),
        TurnState.GENERATING: open_turn,
        TurnState.AWAITING_TOOLS: open_turn,
        TurnState.FINISHING: frozenset({"generation_complete", "turn_complete"}),
    }


def test_turn_state_follows_the_turn():
    d = live()
    core = d.core
    assert core.turn_state is TurnState.NONE
    tid = d.start_turn()
    assert core.turn_state is TurnState.GENERATING
    issued = core.tool_call(tid, [FunctionCall(name="f")])
    assert core.turn_state is TurnState.AWAITING_TOOLS
    d.feed(tool_response(issued.awaited[0]))
    assert core.turn_state is TurnState.GENERATING
    core.generation_complete(tid)
    assert core.turn_state is TurnState.FINISHING
    core.complete_turn(tid)
    assert core.turn_state is TurnState.NONE


def emit(core, turn_id: int, output: str) -> bool:
    """One model output of each kind; True if the core took it."""
    if output == "text":
        return core.model_text(turn_id, "x")
    if output == "audio":
        return core.model_audio(turn_id, b"\x00\x00", transcript="x")
    if output == "transcription":
        return core.output_transcription(turn_id, "x")
    if output == "event":
        return core.model_event(turn_id, ServerContent(grounding_metadata={"k": 1}))
    if output == "tool_call":
        return core.tool_call(turn_id, [FunctionCall(name="g")]) is not None
    if output == "generation_complete":
        return core.generation_complete(turn_id)
    return core.complete_turn(turn_id)


def turn_in(state: TurnState) -> tuple[Driver, int]:
    d = live()
    tid = d.start_turn()
    if state is TurnState.AWAITING_TOOLS:
        d.core.tool_call(tid, [FunctionCall(name="f")])
    elif state is TurnState.FINISHING:
        d.core.generation_complete(tid)
    elif state is TurnState.NONE:
        d.core.complete_turn(tid)
    assert d.core.turn_state is state
    d.drain()
    return d, tid


@pytest.mark.parametrize("output", OUTPUTS)
@pytest.mark.parametrize("state", list(TurnState))
def test_each_state_takes_the_outputs_the_table_names(state, output):
    d, tid = turn_in(state)
    taken = emit(d.core, tid, output)
    assert taken is (output in OUTPUT_ACCEPTED[state])
    if not taken:
        d.assert_sent()


def test_text_after_generation_complete_is_dropped_and_complete_turn_still_works():
    d = live()
    core = d.core
    tid = d.start_turn()
    core.model_text(tid, "said")
    core.generation_complete(tid)
    d.drain()
    assert not core.model_text(tid, "dropped")
    assert not core.model_audio(tid, b"\x00\x00", transcript="dropped too")
    assert core.tool_call(tid, [FunctionCall(name="f")]) is None
    d.assert_sent()
    assert core.complete_turn(tid)
    d.assert_sent({"serverContent": {"turnComplete": True}})  # generationComplete was sent
    assert core.history[-1].text() == "said"


# --------------------------------------------------------- ModelTurn (history)

def test_a_long_reply_in_40_char_chunks_keeps_its_text_whole():
    text = "".join(f"word{i:05d} " for i in range(2_000))  # 20,000 characters
    chunks = [text[i:i + 40] for i in range(0, len(text), 40)]
    d = live()
    tid = d.start_turn("tell me everything")
    for chunk in chunks:
        assert d.core.model_text(tid, chunk)
    sent = [m["serverContent"]["modelTurn"]["parts"][0]["text"] for m in d.drain()]
    assert sent == chunks
    d.core.complete_turn(tid)
    reply = d.core.history[-1]
    assert reply.role == "model" and len(reply.parts) == 1
    assert reply.parts[0].text == text


def test_text_around_a_tool_call_stays_in_order():
    d = live()
    tid = d.start_turn()
    for piece in ("Let ", "me ", "check."):
        d.core.model_text(tid, piece)
    (call,) = d.core.tool_call(tid, [FunctionCall(name="f")]).calls
    d.core.model_text(tid, "Still ")
    d.core.model_audio(tid, b"\x00\x00", transcript="here.")
    d.feed(user_text("stop"))  # the interrupted turn keeps what was said
    model = d.core.history[1]
    assert [(p.text, p.function_call and p.function_call.id) for p in model.parts] == [
        ("Let me check.", None), (None, call.id), ("Still here.", None)]


def test_model_turn_joins_pieces():
    turn = ModelTurn(turn_id=1)
    assert turn.parts == [] and turn.state is TurnState.GENERATING
    turn.add_text("a")
    turn.add_text("")
    turn.add_text("b")
    assert [p.text for p in turn.parts] == ["ab"]
    turn.add_text("c")  # after a read: continues the same text part
    assert [p.text for p in turn.parts] == ["abc"]
    turn.add_part(Part(function_call=FunctionCall(id="1", name="f")))
    turn.add_text("d")
    assert [p.text for p in turn.parts] == ["abc", None, "d"]
    turn.pending_calls["1"] = FunctionCall(id="1", name="f")
    assert turn.state is TurnState.AWAITING_TOOLS
    turn.generation_complete = True
    assert turn.state is TurnState.FINISHING


# ------------------------------------------- events, turnComplete fields, raw messages

def test_model_events_are_sent_as_given_and_thoughts_stay_out_of_the_history():
    d = live()
    tid = d.start_turn()
    d.drain()
    thought = Content(role="model", parts=[Part(text="planning", thought=True)])
    assert d.core.model_event(tid, ServerContent(model_turn=thought))
    assert d.core.model_event(tid, ServerContent(url_context_metadata={"urlMetadata": []}))
    d.core.model_text(tid, "answer")
    d.assert_sent(
        {"serverContent": {"modelTurn": {"role": "model",
                                         "parts": [{"text": "planning", "thought": True}]}}},
        {"serverContent": {"urlContextMetadata": {"urlMetadata": []}}},
        {"serverContent": {"modelTurn": {"role": "model", "parts": [{"text": "answer"}]}}})
    d.core.complete_turn(tid)
    assert d.core.history[-1].text() == "answer"


def test_turn_complete_carries_reason_and_waiting_for_input():
    d = live()
    tid = d.start_turn()
    d.drain()
    d.core.complete_turn(tid, reason="NEED_MORE_INPUT", waiting_for_input=True)
    assert d.drain()[-1] == {"serverContent": {"turnComplete": True,
                                               "turnCompleteReason": "NEED_MORE_INPUT",
                                               "waitingForInput": True}}


@pytest.mark.parametrize("more,status", [(False, "IDLE"), (True, "IN_PROGRESS")])
def test_extended_thinking_reports_interaction_status_with_every_turn_complete(more, status):
    """google-genai 3.6.1 LiveServerContent.interaction_status: "always sent alongside
    turn_complete" by the models that report it (the profile's interaction_status)."""
    d = Driver().live("gemini-3.8-live-extended-thinking")
    tid = d.start_turn()
    d.drain()
    d.core.complete_turn(tid, more=more)
    assert d.drain()[-1]["serverContent"] == {"turnComplete": True,
                                              "interactionStatus": status}
    other = live()
    tid = other.start_turn()
    other.drain()
    other.core.complete_turn(tid, more=more)
    assert other.drain()[-1]["serverContent"] == {"turnComplete": True}


def test_a_raw_message_goes_out_as_given_only_while_live():
    d = Driver()
    assert not d.core.raw_message({"serverContent": {"x": 1}})
    d.live()
    raw = {"serverContent": {"interactionStatus": "IN_PROGRESS", "futureField": [1, 2]},
           "usageMetadata": {"totalTokenCount": 3}}
    assert d.core.raw_message(raw)
    d.assert_sent(raw)
