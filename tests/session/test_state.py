"""session/state.py: phases, CLIENT_RULES, setup, the user's turns and interruptions, realtime
input and contextUpdate — the core fed frames directly (no sockets, no clocks)."""

from __future__ import annotations

import json

import pytest

from openlive.session import CLIENT_RULES, EdgeError, ModelCatalog, Phase
from openlive.session import events as ev
from openlive.session.state import client_rule
from openlive.wire import FunctionCall, errors
from openlive.wire.client_messages import CLIENT_MESSAGE_KINDS, ClientMessage

from .harness import MODEL, Driver, live, realtime_text, setup_message, tool_response, user_text

# ---------------------------------------------------------------------- setup


def test_setup_complete_is_the_first_output():
    d = Driver()
    assert d.core.phase is Phase.AWAIT_SETUP
    d.setup()
    d.assert_sent({"setupComplete": {}})
    (done,) = d.events()
    assert isinstance(done, ev.SetupDone) and done.model == MODEL
    assert d.core.phase is Phase.LIVE and d.core.model == MODEL


def test_setup_as_a_binary_frame():
    d = Driver()
    d.feed(json.dumps(setup_message()).encode())
    d.assert_sent({"setupComplete": {}})


@pytest.mark.parametrize("first", [
    user_text("hi"),
    realtime_text("hi"),
    tool_response("x", response={}),
    {"contextUpdate": {"systemInstruction": {"parts": [{"text": "x"}]}}},
])
def test_non_setup_first_message_is_refused(first):
    d = Driver()
    err = d.refused(first)
    assert (err.code, err.reason) == (1007, errors.SETUP_ORDER)
    d.assert_sent()


def test_second_setup_is_refused():
    d = live()
    err = d.refused(setup_message())
    assert (err.code, err.reason) == (1007, errors.SETUP_ORDER)


def test_frames_after_close_are_ignored():
    d = Driver()
    d.refused(user_text("hi"))
    d.setup()  # no exception, no output: the session is over
    assert d.drain() == [] and d.events() == []


@pytest.mark.parametrize("name,canonical", [
    ("gemini-2.0-flash-exp", "models/gemini-2.0-flash-exp"),
    ("models/gemini-2.0-flash-exp", "models/gemini-2.0-flash-exp"),
    ("gemini-3.1-flash-live-preview", "models/gemini-3.1-flash-live-preview"),
    ("gemini-3.8-live", "models/gemini-3.8-live"),
    ("models/gemini-3.8-live-extended-thinking", "models/gemini-3.8-live-extended-thinking"),
])
def test_served_models_are_accepted(name, canonical):
    d = Driver().setup(model=name)
    assert d.core.model == canonical
    d.assert_sent({"setupComplete": {}})


@pytest.mark.parametrize("name", [
    "gemini-live-2.5-flash-preview",  # shut down 2025-12-09 (Google's deprecations page)
    "models/gemini-2.0-flash-live-001",  # likewise
    "gemini-some-future-model-99",  # not a Live model Google serves
])
def test_shut_down_and_unknown_gemini_models_are_not_found(name):
    d = Driver()
    err = d.refused(setup_message(model=name))
    shown = name if name.startswith("models/") else "models/" + name
    assert (err.code, err.reason) == (1008, errors.cut_reason(
        errors.model_not_found(shown, "v1beta")))


@pytest.mark.parametrize("name,shown", [
    ("gpt-4o", "models/gpt-4o"),
    ("models/gpt-4o", "models/gpt-4o"),
    ("tunedModels/my-model-123", "tunedModels/my-model-123"),
    ("projects/p/locations/us/publishers/google/models/gemini-2.0-flash",
     "projects/p/locations/us/publishers/google/models/gemini-2.0-flash"),
    ("openlive-emulator", "models/openlive-emulator"),  # not in this catalog
])
def test_unknown_model_is_not_found(name, shown):
    d = Driver(api_version="v1alpha")
    err = d.refused(setup_message(model=name))
    assert err.code == 1008
    full = (f"{shown} is not found for API version v1alpha, or is not supported for "
            "bidiGenerateContent. Call ListModels to see the list of available models and "
            "their supported methods.")
    assert err.reason == errors.cut_reason(full)
    assert err.reason == errors.cut_reason(errors.model_not_found(shown, "v1alpha"))
    assert err.reason.startswith(f"{shown} is not found for API version v1alpha")
    d.assert_sent()


def test_catalog_extra_names_are_accepted():
    d = Driver(catalog=ModelCatalog(["openlive-emulator"])).setup(model="openlive-emulator")
    assert d.core.model == "models/openlive-emulator"


def test_setup_without_model_is_invalid_argument():
    d = Driver()
    err = d.refused({"setup": {"generationConfig": {"responseModalities": ["TEXT"]}}})
    assert (err.code, err.reason) == (1007, errors.INVALID_ARGUMENT)


def test_both_response_modalities_are_refused():
    d = Driver()
    err = d.refused(setup_message(generationConfig={"responseModalities": ["AUDIO", "TEXT"]}))
    assert (err.code, err.reason) == (1007, errors.INVALID_ARGUMENT)
    d.assert_sent()


@pytest.mark.parametrize("mods", [["TEXT"], ["AUDIO"], ["AUDIO", "AUDIO"]])
def test_one_response_modality_is_accepted(mods):
    # openlive's own model: Google's Live models refuse TEXT (test_models.py)
    d = Driver(catalog=ModelCatalog(["openlive-emulator"])).setup(
        "openlive-emulator", generationConfig={"responseModalities": mods})
    assert d.core.phase is Phase.LIVE
    assert d.core.setup.response_modality() == mods[0]


def test_bad_json_closes_the_session():
    err = Driver().refused("{nope")
    assert (err.code, err.reason) == (1007, errors.INVALID_JSON + "Unexpected token.")


# --------------------------------------------------------------- CLIENT_RULES

#: One message of each kind (setup: a resuming one, so ADMITTING can be reached with it).
MESSAGES = {
    "setup": setup_message(),
    "client_content": user_text("hi"),
    "realtime_input": realtime_text("hi"),
    "tool_response": tool_response("call-1"),
    "context_update": {"contextUpdate": {"systemInstruction": {"parts": [{"text": "x"}]}}},
}

#: spec/protocol.md §3: setup first and only first (1007); nothing is read after the close;
#: while the core waits for fetched(), a fed frame is the edge's bug.
EXPECTED_RULES = {
    Phase.AWAIT_SETUP: {"setup": "handle", "client_content": "setup order",
                        "realtime_input": "setup order", "tool_response": "setup order",
                        "context_update": "setup order"},
    Phase.ADMITTING: dict.fromkeys(CLIENT_MESSAGE_KINDS, "edge misuse"),
    Phase.LIVE: {"setup": "setup order", "client_content": "handle",
                 "realtime_input": "handle", "tool_response": "handle",
                 "context_update": "handle"},
    Phase.CLOSED: dict.fromkeys(CLIENT_MESSAGE_KINDS, "drop"),
}


def test_messages_cover_every_kind():
    assert set(MESSAGES) == set(CLIENT_MESSAGE_KINDS)
    for kind, msg in MESSAGES.items():
        assert ClientMessage.model_validate(msg).kind == kind


def test_client_rules_table():
    assert set(CLIENT_RULES) == set(Phase)
    table = {phase: {kind: client_rule(phase, kind) for kind in CLIENT_MESSAGE_KINDS}
             for phase in Phase}
    assert table == EXPECTED_RULES


def in_phase(phase: Phase) -> Driver:
    """A core in ``phase``, queues drained."""
    if phase is Phase.AWAIT_SETUP:
        return Driver()
    if phase is Phase.ADMITTING:
        d = Driver().setup(sessionResumption={"handle": "stored"})
    else:
        d = Driver().live()
        if phase is Phase.CLOSED:
            d.core.close()
    assert d.core.phase is phase
    d.drain()
    d.events()
    return d


@pytest.mark.parametrize("kind", CLIENT_MESSAGE_KINDS)
@pytest.mark.parametrize("phase", list(Phase))
def test_each_phase_and_kind_does_what_the_table_says(phase, kind):
    d = in_phase(phase)
    rule = EXPECTED_RULES[phase][kind]
    need = d.core.needs()
    if rule == "setup order":
        err = d.refused(MESSAGES[kind])
        assert (err.code, err.reason) == (1007, errors.SETUP_ORDER)
        assert d.drain() == [] and d.events() == []
    elif rule == "edge misuse":
        with pytest.raises(EdgeError):
            d.feed(MESSAGES[kind])
        assert d.core.phase is Phase.ADMITTING and d.core.needs() == need
        assert d.drain() == [] and d.events() == []
    elif rule == "drop":
        d.feed(MESSAGES[kind])
        assert d.core.phase is Phase.CLOSED
        assert d.drain() == [] and d.events() == []
    else:
        d.feed(MESSAGES[kind])
        assert d.core.phase is Phase.LIVE
        if kind == "setup":
            assert d.drain() == [{"setupComplete": {}}]
        elif kind in ("client_content", "realtime_input"):
            assert [type(e) for e in d.events()] == [ev.TurnReady]
        elif kind == "context_update":
            assert [type(e) for e in d.events()] == [ev.ContextUpdated]
        else:  # a response to no call: ignored
            assert d.drain() == [] and d.events() == []


def test_a_frame_while_a_handle_loads_is_an_edge_error_and_starts_no_turn():
    d = Driver().setup(sessionResumption={"handle": "h-old"})
    stored = live(sessionResumption={}).core.snapshot(expires_at=100.0)
    with pytest.raises(EdgeError):
        d.feed(user_text("too early"))
    d.admit({"h-old": stored})
    assert d.core.phase is Phase.LIVE
    events = d.events()
    assert not any(isinstance(e, ev.TurnReady) for e in events)
    assert not any(c.text() == "too early" for c in d.core.history)
    assert d.core.turn is None


def test_a_parsed_message_takes_the_same_rules():
    d = Driver()
    d.core.receive(ClientMessage.model_validate(setup_message()))
    assert d.core.phase is Phase.LIVE
    with pytest.raises(errors.LiveError) as info:
        d.core.receive(ClientMessage.model_validate(setup_message()))
    assert (info.value.code, info.value.reason) == (1007, errors.SETUP_ORDER)
    assert d.core.phase is Phase.CLOSED
    d.core.receive(ClientMessage.model_validate(user_text("dropped")))
    assert [type(e) for e in d.events()] == [ev.SetupDone]


def test_a_refused_parsed_message_closes_the_session():
    d = live()
    with pytest.raises(errors.LiveError):
        d.core.receive(ClientMessage.model_validate(tool_response(None)))
    assert d.core.phase is Phase.CLOSED


def test_close_ends_every_verb():
    d = live()
    tid = d.start_turn()
    d.drain()
    d.core.close()
    assert d.core.phase is Phase.CLOSED and d.core.next_deadline() is None
    assert not d.core.model_text(tid, "late")
    d.core.tick(1e9)  # nothing due after the close, no exception
    d.core.user_speech("hello")
    d.core.input_transcription("hello")
    assert d.drain() == [] and d.events() == []


# ------------------------------------------------------------------ user turns

def test_client_content_accumulates_until_turn_complete():
    d = live()
    d.feed(user_text("first", turn_complete=False))
    d.feed({"client_content": {"turns": [
        {"role": "model", "parts": [{"text": "earlier answer"}]},
        {"role": "user", "parts": [{"text": "second"}]}], "turn_complete": False}})
    assert d.events() == [] and d.drain() == [] and d.core.turn is None
    d.feed(user_text("third", turn_complete=True))
    (ready,) = d.events()
    assert isinstance(ready, ev.TurnReady)
    # what the user said since the model last spoke: "first" was answered by the seeded
    # model turn (issue 12: it stayed unanswered, and the emulator matched against it)
    assert [c.text() for c in ready.contents] == ["second", "third"]
    assert ready.text() == "second\nthird"
    assert [c.role for c in d.core.history] == ["user", "model", "user", "user"]
    d.assert_sent()


def test_seeded_history_in_one_client_content_leaves_only_the_last_question():
    d = live()
    d.feed({"clientContent": {"turns": [
        {"role": "user", "parts": [{"text": "q"}]},
        {"role": "model", "parts": [{"text": "a"}]},
        {"role": "user", "parts": [{"text": "next"}]}], "turnComplete": True}})
    (ready,) = d.events()
    assert ready.text() == "next"


def test_client_content_without_turn_complete_waits_for_more():
    """The proto default of turnComplete is false: the server awaits more (js-genai
    LiveSendClientContentParameters; spec/protocol.md §3)."""
    d = live()
    d.feed(user_text("hi", turn_complete=None))
    assert d.events() == [] and d.drain() == [] and d.core.turn is None
    d.feed({"clientContent": {"turnComplete": True}})
    (ready,) = d.events()
    assert isinstance(ready, ev.TurnReady) and ready.text() == "hi"


def test_realtime_text_yields_turn_ready():
    d = live()
    d.feed({"realtime_input": {"text": "what's up"}})
    (ready,) = d.events()
    assert isinstance(ready, ev.TurnReady)
    assert ready.turn_id == 1 and ready.text() == "what's up"
    assert d.core.turn is not None and d.core.turn.turn_id == 1


def test_turn_ids_increase():
    d = live()
    first = d.start_turn("a")
    d.core.complete_turn(first)
    second = d.start_turn("b")
    assert second == first + 1


# ---------------------------------------------------------------- interruption

def test_client_content_interrupts_in_order_and_cancels_pending_calls():
    d = live()
    core = d.core
    tid = d.start_turn("weather?")
    core.model_text(tid, "Let me check")
    issued = core.tool_call(tid, [FunctionCall(name="get_weather", args={"city": "Paris"}),
                                  FunctionCall(name="get_time")])
    assert issued is not None
    ids = [c.id for c in issued.calls]
    assert len(set(ids)) == 2 and all(ids)
    assert issued.awaited == ids
    assert d.drain()[-1] == {"toolCall": {"functionCalls": [
        {"id": ids[0], "name": "get_weather", "args": {"city": "Paris"}},
        {"id": ids[1], "name": "get_time", "args": {}}]}}

    d.feed(user_text("never mind"))
    d.assert_sent(
        {"serverContent": {"interrupted": True}},
        {"toolCallCancellation": {"ids": ids}},
        {"serverContent": {"turnComplete": True}},
    )
    interrupted, ready = d.events()
    assert interrupted == ev.TurnInterrupted(turn_id=tid, cancelled_call_ids=ids)
    assert isinstance(ready, ev.TurnReady) and ready.turn_id == tid + 1
    assert ready.text() == "never mind"


def test_interrupt_without_pending_calls_sends_no_cancellation():
    d = live()
    tid = d.start_turn()
    d.core.model_text(tid, "partial")
    d.drain()
    d.feed(realtime_text("stop"))  # barge-in with realtime text
    d.assert_sent({"serverContent": {"interrupted": True}},
                  {"serverContent": {"turnComplete": True}})
    events = d.events()
    assert events[0] == ev.TurnInterrupted(turn_id=tid, cancelled_call_ids=[])
    assert isinstance(events[1], ev.TurnReady)


def test_no_interruption_queues_the_next_turn_until_the_current_completes():
    d = live(realtimeInputConfig={"activityHandling": "NO_INTERRUPTION"})
    core = d.core
    first = d.start_turn("first question")
    core.model_text(first, "answer one")
    d.feed(realtime_text("second question"))
    assert {"serverContent": {"interrupted": True}} not in d.drain()
    assert d.events() == []  # queued, not started
    assert core.queued_turn
    assert core.model_text(first, " continues")  # the current turn goes on
    assert core.complete_turn(first)
    assert d.drain()[-2:] == [{"serverContent": {"generationComplete": True}},
                              {"serverContent": {"turnComplete": True}}]
    (ready,) = d.events()
    assert isinstance(ready, ev.TurnReady)
    assert ready.turn_id == first + 1 and ready.text() == "second question"
    assert not core.queued_turn


def test_client_content_answers_a_queued_turn_without_a_phantom_turn_later():
    # NO_INTERRUPTION queues realtime text; clientContent still interrupts, and its new turn
    # answers the queued text too. Completing that turn must not start an empty extra turn.
    d = live(realtimeInputConfig={"activityHandling": "NO_INTERRUPTION"})
    first = d.start_turn("first")
    d.feed(realtime_text("queued"))
    assert d.events() == []
    d.feed(user_text("typed"))
    interrupted, ready = d.events()
    assert interrupted == ev.TurnInterrupted(turn_id=first)
    assert isinstance(ready, ev.TurnReady) and ready.text() == "queued\ntyped"
    d.drain()
    assert d.core.complete_turn(ready.turn_id)
    assert d.events() == []
    assert d.core.turn is None


def test_speech_interrupts_and_becomes_a_turn_only_while_live():
    d = Driver()
    d.core.user_speech("before setup")
    d.core.speech_started()
    d.core.input_transcription("before setup")
    assert d.drain() == [] and d.events() == []
    d.live()
    d.core.input_transcription("hel", finished=False)
    d.assert_sent({"serverContent": {"inputTranscription": {"text": "hel",
                                                            "finished": False}}})


def test_no_interruption_keeps_the_turn():
    d = live(realtimeInputConfig={"activityHandling": "NO_INTERRUPTION"})
    d.core.user_speech("first")
    d.core.speech_started()
    assert d.core.turn is not None
    assert d.drain() == [{"voiceActivity": {"type": "ACTIVITY_START"}}]  # no interrupted
    d.core.user_speech("   ")  # nothing recognized: no turn
    assert d.core.turn.turn_id == 1


def test_voice_activity_is_sent_when_the_vad_hears_speech_start_and_end():
    """voiceActivity {type, audioOffset} (spec/protocol.md §0; wire names from google-genai
    3.6.1's _VoiceActivity_from_mldev); ACTIVITY_START before the barge-in."""
    d = live()
    turn_id = d.start_turn()
    d.drain()
    d.core.speech_started(1.25)
    sent = d.drain()
    assert sent[0] == {"voiceActivity": {"type": "ACTIVITY_START", "audioOffset": "1.250s"}}
    assert sent[1] == {"serverContent": {"interrupted": True}}
    assert d.core.model_text(turn_id, "late") is False
    d.core.speech_ended(2.5)
    d.assert_sent({"voiceActivity": {"type": "ACTIVITY_END", "audioOffset": "2.500s"}})
    d.core.close()
    d.core.speech_ended(3.0)
    assert d.drain() == []


# ------------------------------------------------------- activity and VAD

VAD_OFF = {"realtimeInputConfig": {"automaticActivityDetection": {"disabled": True}}}


@pytest.mark.parametrize("signal", ["activityStart", "activity_end"])
def test_explicit_activity_with_automatic_vad_is_refused(signal):
    d = live()
    err = d.refused({"realtimeInput": {signal: {}}})
    assert err.code == 1007
    assert err.reason == errors.EXPLICIT_ACTIVITY_WITH_VAD


def test_activity_signals_with_vad_disabled():
    d = live(**VAD_OFF)
    d.feed({"realtimeInput": {"activityStart": {}}})
    assert d.events() == [ev.ActivityStarted()]
    d.feed({"realtimeInput": {"audio": {"mimeType": "audio/pcm;rate=16000", "data": "AAAA"}}})
    (media,) = d.events()
    assert isinstance(media, ev.MediaReceived) and media.kind == "audio"
    assert media.blob.data == b"\x00\x00\x00"
    d.feed({"realtime_input": {"activity_end": {}}})
    assert d.events() == [ev.ActivityEnded()]
    d.assert_sent()


def test_activity_start_interrupts_the_model_by_default():
    d = live(**VAD_OFF)
    tid = d.start_turn()
    d.core.model_text(tid, "talking")
    d.drain()
    d.feed({"realtimeInput": {"activityStart": {}}})
    d.assert_sent({"serverContent": {"interrupted": True}},
                  {"serverContent": {"turnComplete": True}})
    assert d.events() == [ev.TurnInterrupted(turn_id=tid), ev.ActivityStarted()]


def test_audio_stream_end_only_with_automatic_vad():
    d = live()
    d.feed({"realtimeInput": {"audioStreamEnd": True}})
    assert d.events() == [ev.AudioStreamEnded()]
    off = live(**VAD_OFF)
    off.feed({"realtimeInput": {"audioStreamEnd": True}})
    assert off.events() == []


# ---------------------------------------------------------------- contextUpdate

def test_context_update_replaces_system_instruction_and_tools():
    d = live(tools=[{"functionDeclarations": [{"name": "f"}]}])
    assert [fd.name for fd in d.core.setup.function_declarations()] == ["f"]
    d.feed({"contextUpdate": {"systemInstruction": {"parts": [{"text": "new rules"}]},
                              "tools": {"tools": []}}})
    (upd,) = d.events()
    assert isinstance(upd, ev.ContextUpdated)
    assert d.core.setup.system_instruction.text() == "new rules"
    assert d.core.setup.function_declarations() == []


def test_initial_history_in_client_content_waits_for_its_turn_complete_and_answers_nothing():
    """historyConfig.initialHistoryInClientContent: clientContent up to the first
    turnComplete is history only, "will not trigger a model call and may end with model
    content" (js-genai HistoryConfig); then turns are answered as usual."""
    d = live(historyConfig={"initialHistoryInClientContent": True})
    d.feed(user_text("my name is Ada", turn_complete=False))
    d.feed({"clientContent": {"turns": [{"role": "user", "parts": [{"text": "hi"}]},
                                        {"role": "model", "parts": [{"text": "hello"}]},
                                        {"role": "user", "parts": [{"text": "pending?"}]}],
                              "turnComplete": True}})
    assert d.events() == [] and d.core.turn is None  # no model call for the seed
    assert [c.text() for c in d.core.history] == ["my name is Ada", "hi", "hello", "pending?"]
    d.feed(user_text("what is my name"))
    (ready,) = d.events()
    assert ready.text() == "what is my name"


def test_without_initial_history_a_seed_ending_in_a_user_turn_is_answered():
    d = live()
    d.feed(user_text("hi"))
    (ready,) = d.events()
    assert ready.text() == "hi"
