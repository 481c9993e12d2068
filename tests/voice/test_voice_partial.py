"""Pure rules of the voice path: partial input transcripts (deltas that never contradict
what was sent), speakable text, the first clause, the VAD's pause signals."""

from __future__ import annotations

from openlive.engines.audio.partial import PartialTranscript
from openlive.engines.audio.tts import ClauseSplitter, speakable
from openlive.engines.audio.vad import ActivityDecider, VadConfig


def test_partial_sends_only_words_two_hypotheses_agree_on():
    p = PartialTranscript()
    assert p.hypothesis("What time") == ""  # nothing to agree with yet
    assert p.hypothesis("What time is it") == "What time"
    assert p.hypothesis("What time is it in Tokyo.") == " is it"
    assert p.hypothesis("What time is it in Tokyo today") == " in Tokyo"  # '.' held back
    assert p.final("What time is it in Tokyo today?") == " today?"
    assert p.sent == "What time is it in Tokyo today?"


def test_partial_never_contradicts_sent_text():
    p = PartialTranscript()
    p.hypothesis("Set a time")
    assert p.hypothesis("Set a time for") == "Set a time"
    assert p.hypothesis("Set a dime for five") == ""  # disagrees with what was sent
    # the final agrees on the sent words (case/punctuation aside): the rest is added
    assert p.final("set a time, for five minutes.") == " for five minutes."
    q = PartialTranscript()
    q.hypothesis("Turn of the")
    q.hypothesis("Turn of the lights")
    assert q.sent == "Turn of the"
    assert q.final("Turn off the lights.") == ""  # contradicts: only finished is sent
    assert PartialTranscript().final("Hello there.") == "Hello there."


def test_speakable_strips_markdown_but_not_arithmetic():
    assert speakable("**Prepare the Ingredients**:") == "Prepare the Ingredients:"
    assert speakable("# Steps\n- one `x`") == "Steps one x"
    assert speakable("2*3 is *six*") == "2*3 is six"


def test_first_clause_may_end_at_its_first_comma():
    s = ClauseSplitter(first_soft_min_chars=1)
    assert s.feed("Sure, I can help, with that. ") == ["Sure,", "I can help, with that."]
    assert ClauseSplitter().feed("Sure, I can help, with that. ") == [
        "Sure, I can help,", "with that."]


def test_decider_reports_the_pause_before_the_end():
    d = ActivityDecider(VadConfig(prefix_padding_ms=64, silence_duration_ms=320))
    for _ in range(10):
        d.step(0.9)
    assert d.speaking and d.silence_ms == 0 and d.speech_end_ms == 320
    for k in range(1, 10):
        assert d.step(0.0) == []
        assert d.silence_ms == 32 * k and d.speech_end_ms == 320
    (end,) = d.step(0.0)  # the 10th silent window commits the end
    assert end.at_ms == 320 and not d.speaking and d.speech_end_ms is None
