"""session/state.py: the sans-I/O LiveSession fed frames directly (no sockets, no clocks)."""

from __future__ import annotations

import json

import pytest

from openlive.session import LiveSession, ModelCatalog, Phase
from openlive.session import events as ev
from openlive.wire import FunctionCall, LiveError, UsageMetadata, errors

MODEL = "models/gemini-2.5-flash-native-audio-preview-12-2025"


# ----------------------------------------------------------------------- helpers

def frame(obj: dict) -> str:
    return json.dumps(obj)


def setup_frame(model: str = MODEL, **fields) -> str:
    return frame({"setup": {"model": model, **fields}})


def user_text(text: str, turn_complete: bool | None = True, top: str = "clientContent") -> str:
    body: dict = {"turns": [{"role": "user", "parts": [{"text": text}]}]}
    if turn_complete is not None:
        body["turnComplete"] = turn_complete
    return frame({top: body})


def realtime_text(text: str) -> str:
    return frame({"realtimeInput": {"text": text}})


def drain_outbox(s: LiveSession) -> list[dict]:
    out = []
    while s.outbox:
        out.append(s.outbox.popleft().to_json_dict())
    return out


def drain_events(s: LiveSession) -> list[ev.Event]:
    out = []
    while s.events:
        out.append(s.events.popleft())
    return out


def live(**setup_fields) -> LiveSession:
    """A session past setup, with its queues empty."""
    s = LiveSession()
    s.receive_frame(setup_frame(**setup_fields))
    drain_outbox(s)
    drain_events(s)
    return s


def start_turn(s: LiveSession, text: str = "hello") -> int:
    s.receive_frame(realtime_text(text))
    (ready,) = [e for e in drain_events(s) if isinstance(e, ev.TurnReady)]
    return ready.turn_id


def refused(s: LiveSession, data: str | bytes) -> LiveError:
    with pytest.raises(LiveError) as info:
        s.receive_frame(data)
    assert s.phase is Phase.CLOSED
    return info.value


# -------------------------------------------------------------------------- setup

def test_setup_complete_is_the_first_output():
    s = LiveSession()
    assert s.phase is Phase.AWAIT_SETUP
    s.receive_frame(setup_frame())
    assert drain_outbox(s) == [{"setupComplete": {}}]
    (done,) = drain_events(s)
    assert isinstance(done, ev.SetupDone) and done.model == MODEL
    assert s.phase is Phase.LIVE and s.model == MODEL


def test_setup_as_a_binary_frame():
    s = LiveSession()
    s.receive_frame(setup_frame().encode())
    assert drain_outbox(s) == [{"setupComplete": {}}]


@pytest.mark.parametrize("first", [
    user_text("hi"),
    realtime_text("hi"),
    frame({"toolResponse": {"functionResponses": [{"id": "x", "response": {}}]}}),
    frame({"contextUpdate": {"systemInstruction": {"parts": [{"text": "x"}]}}}),
])
def test_non_setup_first_message_is_refused(first):
    s = LiveSession()
    err = refused(s, first)
    assert (err.code, err.reason) == (1007, "setup must be the first message and only the first")
    assert not s.outbox


def test_second_setup_is_refused():
    s = live()
    err = refused(s, setup_frame())
    assert (err.code, err.reason) == (1007, "setup must be the first message and only the first")


def test_frames_after_close_are_ignored():
    s = LiveSession()
    refused(s, user_text("hi"))
    s.receive_frame(setup_frame())  # no exception, no output: the session is over
    assert not s.outbox and not s.events


@pytest.mark.parametrize("name,canonical", [
    ("gemini-2.0-flash-exp", "models/gemini-2.0-flash-exp"),
    ("models/gemini-2.0-flash-exp", "models/gemini-2.0-flash-exp"),
    ("gemini-3.1-flash-live-preview", "models/gemini-3.1-flash-live-preview"),
    ("models/gemini-live-2.5-flash-preview", "models/gemini-live-2.5-flash-preview"),
    ("gemini-some-future-model-99", "models/gemini-some-future-model-99"),
])
def test_gemini_family_models_are_accepted(name, canonical):
    s = LiveSession()
    s.receive_frame(setup_frame(model=name))
    assert s.model == canonical
    assert drain_outbox(s) == [{"setupComplete": {}}]


@pytest.mark.parametrize("name,shown", [
    ("gpt-4o", "models/gpt-4o"),
    ("models/gpt-4o", "models/gpt-4o"),
    ("tunedModels/my-model-123", "tunedModels/my-model-123"),
    ("projects/p/locations/us/publishers/google/models/gemini-2.0-flash",
     "projects/p/locations/us/publishers/google/models/gemini-2.0-flash"),
    ("openlive-emulator", "models/openlive-emulator"),  # not in this catalog
])
def test_unknown_model_is_not_found(name, shown):
    s = LiveSession(api_version="v1alpha")
    err = refused(s, setup_frame(model=name))
    assert err.code == 1008
    full = (f"{shown} is not found for API version v1alpha, or is not supported for "
            "bidiGenerateContent. Call ListModels to see the list of available models and "
            "their supported methods.")
    assert err.reason == errors.cut_reason(full)
    assert err.reason.startswith(f"{shown} is not found for API version v1alpha")
    assert not s.outbox


def test_catalog_extra_names_are_accepted():
    s = LiveSession(catalog=ModelCatalog(["openlive-emulator"]))
    s.receive_frame(setup_frame(model="openlive-emulator"))
    assert s.model == "models/openlive-emulator"


def test_setup_without_model_is_invalid_argument():
    s = LiveSession()
    err = refused(s, frame({"setup": {"generationConfig": {"responseModalities": ["TEXT"]}}}))
    assert (err.code, err.reason) == (1007, "Request contains an invalid argument.")


def test_both_response_modalities_are_refused():
    s = LiveSession()
    err = refused(s, setup_frame(generationConfig={"responseModalities": ["AUDIO", "TEXT"]}))
    assert (err.code, err.reason) == (1007, "Request contains an invalid argument.")
    assert not s.outbox


@pytest.mark.parametrize("mods", [["TEXT"], ["AUDIO"], ["AUDIO", "AUDIO"]])
def test_one_response_modality_is_accepted(mods):
    s = LiveSession()
    s.receive_frame(setup_frame(generationConfig={"responseModalities": mods}))
    assert s.phase is Phase.LIVE
    assert s.setup.response_modality() == mods[0]


def test_bad_json_closes_the_session():
    s = LiveSession()
    err = refused(s, "{nope")
    assert (err.code, err.reason) == (1007, "Invalid JSON payload received. Unexpected token.")


def test_auth_error_is_raised_on_the_first_frame():
    auth = LiveError(1007, errors.API_KEY_INVALID)
    s = LiveSession(auth_error=auth)
    assert s.phase is Phase.AWAIT_SETUP  # nothing happens at the handshake
    err = refused(s, setup_frame())
    assert err is auth
    assert (err.code, err.reason) == (1007, "API key not valid. Please pass a valid API key.")
    assert not s.outbox and not s.events


def test_auth_error_comes_before_any_frame_check():
    s = LiveSession(auth_error=LiveError(1008, errors.UNREGISTERED_CALLER))
    err = refused(s, b"\xff garbage")
    assert err.code == 1008


# -------------------------------------------------------------------------- turns

def test_client_content_accumulates_until_turn_complete():
    s = live()
    s.receive_frame(user_text("first", turn_complete=False))
    s.receive_frame(frame({"client_content": {"turns": [
        {"role": "model", "parts": [{"text": "earlier answer"}]},
        {"role": "user", "parts": [{"text": "second"}]}], "turn_complete": False}}))
    assert not s.events and not s.outbox and s.turn is None
    s.receive_frame(user_text("third", turn_complete=True))
    (ready,) = drain_events(s)
    assert isinstance(ready, ev.TurnReady)
    # the user's contents, in order (model turns are history, not the question)
    assert [c.text() for c in ready.contents] == ["first", "second", "third"]
    assert ready.text() == "first\nsecond\nthird"
    assert [c.role for c in s.history] == ["user", "model", "user", "user"]
    assert not s.outbox


def test_client_content_turn_complete_defaults_to_true():
    s = live()
    s.receive_frame(user_text("hi", turn_complete=None))
    (ready,) = drain_events(s)
    assert isinstance(ready, ev.TurnReady) and ready.text() == "hi"


def test_realtime_text_yields_turn_ready():
    s = live()
    s.receive_frame(frame({"realtime_input": {"text": "what's up"}}))
    (ready,) = drain_events(s)
    assert isinstance(ready, ev.TurnReady)
    assert ready.turn_id == 1 and ready.text() == "what's up"
    assert s.turn is not None and s.turn.turn_id == 1


def test_complete_turn_emits_generation_complete_then_turn_complete_with_usage():
    s = live()
    tid = start_turn(s)
    assert s.model_text(tid, "Hello ")
    assert s.model_text(tid, "there")
    usage = UsageMetadata(prompt_token_count=3, response_token_count=2, total_token_count=5)
    assert s.complete_turn(tid, usage)
    assert drain_outbox(s) == [
        {"serverContent": {"modelTurn": {"role": "model", "parts": [{"text": "Hello "}]}}},
        {"serverContent": {"modelTurn": {"role": "model", "parts": [{"text": "there"}]}}},
        {"serverContent": {"generationComplete": True}},
        {"serverContent": {"turnComplete": True},
         "usageMetadata": {"promptTokenCount": 3, "responseTokenCount": 2,
                           "totalTokenCount": 5}},
    ]
    assert s.turn is None
    assert s.history[-1].role == "model" and s.history[-1].text() == "Hello there"
    # the turn is over: later output and a second completion are refused
    assert not s.model_text(tid, "late")
    assert not s.complete_turn(tid)
    assert not s.outbox


def test_generation_complete_is_sent_once():
    s = live()
    tid = start_turn(s)
    assert s.generation_complete(tid)
    assert s.generation_complete(tid)
    assert not s.model_text(tid, "after generationComplete")
    assert not s.output_transcription(tid, "after generationComplete")
    assert s.complete_turn(tid)
    assert drain_outbox(s) == [
        {"serverContent": {"generationComplete": True}},
        {"serverContent": {"turnComplete": True}},
    ]


def test_turn_ids_increase():
    s = live()
    first = start_turn(s, "a")
    s.complete_turn(first)
    second = start_turn(s, "b")
    assert second == first + 1


# ------------------------------------------------------------------ interruption

def test_client_content_interrupts_in_order_and_cancels_pending_calls():
    s = live()
    tid = start_turn(s, "weather?")
    s.model_text(tid, "Let me check")
    issued = s.tool_call(tid, [FunctionCall(name="get_weather", args={"city": "Paris"}),
                               FunctionCall(name="get_time")])
    assert issued is not None
    ids = [c.id for c in issued]
    assert len(set(ids)) == 2 and all(ids)
    assert drain_outbox(s)[-1] == {"toolCall": {"functionCalls": [
        {"id": ids[0], "name": "get_weather", "args": {"city": "Paris"}},
        {"id": ids[1], "name": "get_time", "args": {}}]}}

    s.receive_frame(user_text("never mind"))
    assert drain_outbox(s) == [
        {"serverContent": {"interrupted": True}},
        {"toolCallCancellation": {"ids": ids}},
        {"serverContent": {"turnComplete": True}},
    ]
    interrupted, ready = drain_events(s)
    assert interrupted == ev.TurnInterrupted(turn_id=tid, cancelled_call_ids=ids)
    assert isinstance(ready, ev.TurnReady) and ready.turn_id == tid + 1
    assert ready.text() == "never mind"


def test_interrupt_without_pending_calls_sends_no_cancellation():
    s = live()
    tid = start_turn(s)
    s.model_text(tid, "partial")
    drain_outbox(s)
    s.receive_frame(realtime_text("stop"))  # barge-in with realtime text
    assert drain_outbox(s) == [
        {"serverContent": {"interrupted": True}},
        {"serverContent": {"turnComplete": True}},
    ]
    events = drain_events(s)
    assert events[0] == ev.TurnInterrupted(turn_id=tid, cancelled_call_ids=[])
    assert isinstance(events[1], ev.TurnReady)


def test_output_for_a_stale_turn_is_dropped():
    s = live()
    old = start_turn(s, "one")
    s.receive_frame(user_text("two"))
    drain_outbox(s)
    new = s.turn.turn_id
    assert new != old
    assert s.model_text(old, "stale") is False
    assert s.tool_call(old, [FunctionCall(name="f")]) is None
    assert s.output_transcription(old, "stale") is False
    assert s.generation_complete(old) is False
    assert s.complete_turn(old) is False
    assert not s.outbox
    assert s.turn.turn_id == new  # the current turn is untouched
    assert s.model_text(new, "fresh")
    assert drain_outbox(s) == [
        {"serverContent": {"modelTurn": {"role": "model", "parts": [{"text": "fresh"}]}}}]


def test_history_keeps_the_interrupted_partial_reply():
    s = live()
    tid = start_turn(s, "tell me a story")
    s.model_text(tid, "Once upon ")
    s.model_text(tid, "a time")
    s.receive_frame(user_text("shorter please"))
    roles_texts = [(c.role, c.text()) for c in s.history]
    assert roles_texts == [("user", "tell me a story"), ("model", "Once upon a time"),
                           ("user", "shorter please")]


def test_interrupted_turn_with_no_output_leaves_no_model_entry():
    s = live()
    start_turn(s, "a")
    s.receive_frame(user_text("b"))
    assert [c.role for c in s.history] == ["user", "user"]


# --------------------------------------------------------------- tool responses

def test_tool_response_without_id_is_refused():
    s = live()
    tid = start_turn(s)
    s.tool_call(tid, [FunctionCall(name="f")])
    err = refused(s, frame({"toolResponse": {"functionResponses": [
        {"name": "f", "response": {"output": 1}}]}}))
    assert (err.code, err.reason) == (1007, "Request contains an invalid argument.")


def test_tool_response_is_matched_by_id():
    s = live()
    tid = start_turn(s)
    (call,) = s.tool_call(tid, [FunctionCall(name="f", id="given-id")])
    assert call.id == "given-id"
    drain_outbox(s)
    # an unknown id is ignored
    s.receive_frame(frame({"tool_response": {"function_responses": [
        {"id": "other", "response": {"x": 1}}]}}))
    assert not s.events and s.turn.pending_calls
    s.receive_frame(frame({"tool_response": {"function_responses": [
        {"id": "given-id", "name": "f", "response": {"output": "ok"}}]}}))
    (got,) = drain_events(s)
    assert isinstance(got, ev.ToolResponsesReceived)
    assert [r.id for r in got.responses] == ["given-id"]
    assert not s.turn.pending_calls
    assert s.history[-1].parts[0].function_response.response == {"output": "ok"}
    # the call is no longer pending: an interrupt cancels nothing
    s.receive_frame(user_text("next"))
    assert {"toolCallCancellation": {"ids": ["given-id"]}} not in drain_outbox(s)


# ------------------------------------------------------------ activity and VAD

VAD_OFF = {"realtimeInputConfig": {"automaticActivityDetection": {"disabled": True}}}


@pytest.mark.parametrize("signal", ["activityStart", "activity_end"])
def test_explicit_activity_with_automatic_vad_is_refused(signal):
    s = live()
    err = refused(s, frame({"realtimeInput": {signal: {}}}))
    assert err.code == 1007
    assert err.reason == errors.EXPLICIT_ACTIVITY_WITH_VAD


def test_activity_signals_with_vad_disabled():
    s = live(**VAD_OFF)
    s.receive_frame(frame({"realtimeInput": {"activityStart": {}}}))
    assert drain_events(s) == [ev.ActivityStarted()]
    s.receive_frame(frame({"realtimeInput": {"audio": {"mimeType": "audio/pcm;rate=16000",
                                                       "data": "AAAA"}}}))
    (media,) = drain_events(s)
    assert isinstance(media, ev.MediaReceived) and media.kind == "audio"
    assert media.blob.data == b"\x00\x00\x00"
    s.receive_frame(frame({"realtime_input": {"activity_end": {}}}))
    assert drain_events(s) == [ev.ActivityEnded()]
    assert not s.outbox


def test_activity_start_interrupts_the_model_by_default():
    s = live(**VAD_OFF)
    tid = start_turn(s)
    s.model_text(tid, "talking")
    drain_outbox(s)
    s.receive_frame(frame({"realtimeInput": {"activityStart": {}}}))
    assert drain_outbox(s) == [{"serverContent": {"interrupted": True}},
                               {"serverContent": {"turnComplete": True}}]
    assert drain_events(s) == [ev.TurnInterrupted(turn_id=tid), ev.ActivityStarted()]


def test_audio_stream_end_only_with_automatic_vad():
    s = live()
    s.receive_frame(frame({"realtimeInput": {"audioStreamEnd": True}}))
    assert drain_events(s) == [ev.AudioStreamEnded()]
    off = live(**VAD_OFF)
    off.receive_frame(frame({"realtimeInput": {"audioStreamEnd": True}}))
    assert drain_events(off) == []


def test_media_chunks_uses_only_the_first_chunk():
    s = live()
    s.receive_frame(frame({"realtimeInput": {"mediaChunks": [
        {"mimeType": "image/jpeg", "data": "/9g="},
        {"mimeType": "audio/pcm", "data": "AAAA"}]}}))
    (media,) = drain_events(s)
    assert media.kind == "video" and media.blob.data == b"\xff\xd8"


def test_no_interruption_queues_the_next_turn_until_the_current_completes():
    s = live(realtimeInputConfig={"activityHandling": "NO_INTERRUPTION"})
    first = start_turn(s, "first question")
    s.model_text(first, "answer one")
    s.receive_frame(realtime_text("second question"))
    out = drain_outbox(s)
    assert {"serverContent": {"interrupted": True}} not in out
    assert drain_events(s) == []  # queued, not started
    assert s.model_text(first, " continues")  # the current turn goes on
    assert s.complete_turn(first)
    assert drain_outbox(s)[-2:] == [{"serverContent": {"generationComplete": True}},
                                    {"serverContent": {"turnComplete": True}}]
    (ready,) = drain_events(s)
    assert isinstance(ready, ev.TurnReady)
    assert ready.turn_id == first + 1 and ready.text() == "second question"


# ----------------------------------------------------------- context and goAway

def test_context_update_replaces_system_instruction_and_tools():
    s = live(tools=[{"functionDeclarations": [{"name": "f"}]}])
    assert [d.name for d in s.setup.function_declarations()] == ["f"]
    s.receive_frame(frame({"contextUpdate": {
        "systemInstruction": {"parts": [{"text": "new rules"}]},
        "tools": {"tools": []}}}))
    (upd,) = drain_events(s)
    assert isinstance(upd, ev.ContextUpdated)
    assert s.setup.system_instruction.text() == "new rules"
    assert s.setup.function_declarations() == []


def test_go_away_only_while_live():
    s = LiveSession()
    s.go_away("10s")
    assert not s.outbox
    s = live()
    s.go_away("10s")
    assert drain_outbox(s) == [{"goAway": {"timeLeft": "10s"}}]
    s.close()
    s.go_away("5s")
    assert not s.outbox


def test_client_content_answers_a_queued_turn_without_a_phantom_turn_later():
    # NO_INTERRUPTION queues realtime text; clientContent still interrupts, and its new turn
    # answers the queued text too. Completing that turn must not start an empty extra turn.
    s = live(realtimeInputConfig={"activityHandling": "NO_INTERRUPTION"})
    first = start_turn(s, "first")
    s.receive_frame(realtime_text("queued"))
    assert drain_events(s) == []
    s.receive_frame(user_text("typed"))
    interrupted, ready = drain_events(s)
    assert interrupted == ev.TurnInterrupted(turn_id=first)
    assert isinstance(ready, ev.TurnReady) and ready.text() == "queued\ntyped"
    drain_outbox(s)
    assert s.complete_turn(ready.turn_id)
    assert drain_events(s) == []
    assert s.turn is None
