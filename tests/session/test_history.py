"""session/history.py: token estimates and sliding-window context compression, alone and as
the core applies it at the start of each model turn."""

from __future__ import annotations

import base64

from openlive.session import GEMINI_LIVE_MODELS, Phase, media
from openlive.session.history import (
    compress,
    estimate_text_tokens,
    estimate_tokens,
    starts_user_turn,
)
from openlive.wire.content import Content, FunctionCall, FunctionResponse, Part
from openlive.wire.setup import Setup

from .harness import MODEL, Driver, audio, live, user_text


def text(role: str, words: str) -> Content:
    return Content(role=role, parts=[Part(text=words)])


def test_estimates_are_about_four_characters_a_token():
    assert [estimate_text_tokens(t) for t in ("", "a", "abcd", "abcde")] == [0, 1, 1, 2]
    assert estimate_tokens(text("user", "x" * 40)) == 10
    assert estimate_tokens(Content(role="user", parts=[Part(text="x" * 20),
                                                       Part(text="y" * 20)])) == 10
    call = Content(role="model", parts=[Part(function_call=FunctionCall(name="f"))])
    assert estimate_tokens(call) == estimate_text_tokens(str({"name": "f"}))


def test_only_a_users_own_words_open_the_window():
    assert starts_user_turn(text("user", "hi"))
    assert not starts_user_turn(text("model", "hi"))
    response = Content(role="user", parts=[Part(function_response=FunctionResponse(
        id="1", name="f", response={}))])
    assert not starts_user_turn(response)


def test_no_compression_without_the_setting_or_under_the_trigger():
    history = [text("user", "x" * 400), text("model", "y" * 400)]
    plain = Setup.model_validate({"model": MODEL})
    assert compress(history, plain, 10, estimate_tokens) is history
    roomy = Setup.model_validate({"model": MODEL, "contextWindowCompression": {
        "triggerTokens": 1000}})
    assert compress(history, roomy, 10, estimate_tokens) is history


def test_default_trigger_and_target_come_from_the_context_window():
    history = [text("user", "x" * 40), text("model", "y" * 40)] * 5  # 100 tokens
    setup = Setup.model_validate({"model": MODEL, "contextWindowCompression": {
        "slidingWindow": {}}})
    # trigger 80 % of 120 = 96 < 100: cut to at most half the trigger (48), at a user turn
    kept = compress(history, setup, 120, estimate_tokens)
    assert sum(estimate_tokens(c) for c in kept) <= 48 and kept[0].role == "user"
    assert compress(history, setup, 200, estimate_tokens) is history  # trigger 160


def test_context_window_compression_cuts_at_a_user_turn() -> None:
    d = live(contextWindowCompression={"triggerTokens": 100,
                                       "slidingWindow": {"targetTokens": 40}},
             systemInstruction={"parts": [{"text": "S" * 40}]})
    core = d.core
    for i in range(6):
        d.say(f"u{i} " + "x" * 36)  # about 10 tokens each
        core.model_text(core.turn.turn_id, f"m{i} " + "y" * 36)
        core.complete_turn(core.turn.turn_id)
    texts = [c.text()[:2] for c in core.history]
    # 10 (system) + 120 > 100 at the 6th user turn: oldest dropped to <= 40, from a user turn
    assert texts[0].startswith("u") and len(core.history) < 12
    total = 10 + sum(core.count_tokens(c) for c in core.history[:-2])
    assert total <= 100
    assert core.setup.system_instruction.text() == "S" * 40


def test_an_engines_token_counter_is_used() -> None:
    counted: list[Content] = []

    def count(content: Content) -> int:
        counted.append(content)
        return 1000

    d = Driver(count_tokens=count).live(contextWindowCompression={"triggerTokens": 2500})
    for words in ("one", "two"):
        d.say(words)
        d.core.complete_turn(d.core.turn.turn_id)
    assert [c.text() for c in d.core.history] == ["one", "two"]  # 2000: under the trigger
    counted.clear()
    d.say("three")  # 3000 > 2500: cut to 1250 at most
    assert [c.text() for c in d.core.history] == ["three"]
    assert [c.text() for c in counted] == ["three"]  # each Content counted once, when added


def test_the_turn_being_answered_stays_in_the_window() -> None:
    d = live(contextWindowCompression={"triggerTokens": 100,
                                       "slidingWindow": {"targetTokens": 40}})
    d.say("short question")
    d.core.complete_turn(d.core.turn.turn_id)
    long_question = "a long question " * 25  # 100 tokens: 104 in all, over the trigger
    d.say(long_question)
    assert [c.text() for c in d.core.history] == [long_question]


# ------------------------------------------------- bounded by the model's input token limit

#: a Google model, whose profile (models.py) has an input token limit
GEMINI = "models/" + GEMINI_LIVE_MODELS[0]

def test_per_message_work_does_not_grow_with_the_conversation() -> None:
    """Each Content is counted once (a running count): 50 turns, 50 counts, where every turn
    start recounted the whole history before (1,275 counts; issue 13)."""
    counted: list[Content] = []

    def count(content: Content) -> int:
        counted.append(content)
        return 1

    d = Driver(count_tokens=count).live(contextWindowCompression={"triggerTokens": 10**6})
    for i in range(50):
        d.say(f"turn {i}")
        d.core.complete_turn(d.core.turn.turn_id)
    assert len(counted) == 50 and d.core.history.tokens == 50


def test_a_context_over_the_models_limit_without_compression_closes_1007() -> None:
    d = live(model=GEMINI)  # the model's window: models.py input_token_limit
    window = d.core.profile.input_token_limit
    half = "x" * (window * 4 // 2)  # about half the window, at 4 characters a token
    d.feed(user_text(half, turn_complete=False))
    refused = d.refused(user_text(half + "more", turn_complete=False))
    assert refused.code == 1007
    assert refused.reason.startswith("The input token count (")
    assert refused.reason.endswith(f"exceeds the maximum number of tokens allowed ({window}).")


def test_with_compression_a_long_conversation_stays_within_the_window() -> None:
    d = live(model=GEMINI, contextWindowCompression={"slidingWindow": {}})
    window = d.core.profile.input_token_limit
    big = "y" * (window * 4 // 3)  # a third of the window each
    for _ in range(10):
        d.say(big)
        d.core.complete_turn(d.core.turn.turn_id)
        assert d.core.history.tokens <= window
    assert d.core.phase is Phase.LIVE


def test_one_user_turn_larger_than_the_window_closes_even_with_compression() -> None:
    d = live(model=GEMINI, contextWindowCompression={"slidingWindow": {}})
    window = d.core.profile.input_token_limit
    refused = d.refused(user_text("z" * (window * 4 + 8)))
    assert refused.code == 1007 and "exceeds the maximum number of tokens" in refused.reason


def test_the_audio_of_one_activity_is_bounded(monkeypatch) -> None:
    """Manual VAD: an engine keeps an activity's audio until activityEnd (300 min of audio
    grew the server by 559 MB, issue 13); past media.MAX_ACTIVITY_AUDIO_BYTES: 1009."""
    monkeypatch.setattr(media, "MAX_ACTIVITY_AUDIO_BYTES", 3000)
    d = live(realtimeInputConfig={"automaticActivityDetection": {"disabled": True}})
    chunk = audio("audio/pcm;rate=16000", base64.b64encode(b"\0" * 1000).decode())
    d.feed({"realtimeInput": {"activityStart": {}}})
    for _ in range(3):
        d.feed(chunk)
    d.feed({"realtimeInput": {"activityEnd": {}}})
    for _ in range(5):  # between activities nothing is held by the core's rule
        d.feed(chunk)
    d.feed({"realtimeInput": {"activityStart": {}}})
    for _ in range(3):  # a new activity starts from nothing
        d.feed(chunk)
    refused = d.refused(chunk)
    assert refused.code == 1009 and "activityEnd" in refused.reason
