"""Whisper's output clean-up: a short window sometimes makes it say the utterance twice."""

from __future__ import annotations

from openlive.engines.audio.asr import _drop_repeats


def test_a_repeated_sentence_is_dropped():
    assert _drop_repeats("Turn off the light in the kitchen. Turn off the light in the "
                         "kitchen. Turn off") == "Turn off the light in the kitchen."
    assert _drop_repeats("What time is it? what time is it") == "What time is it?"


def test_short_or_different_sentences_stay():
    assert _drop_repeats("No. No.") == "No. No."  # under three words: maybe meant
    assert _drop_repeats("Hello there. How are you?") == "Hello there. How are you?"
    assert _drop_repeats("Set a timer. Set an alarm.") == "Set a timer. Set an alarm."
    assert _drop_repeats("") == ""


def test_an_output_that_copies_the_prompt_is_recognised():
    from openlive.engines.audio.asr import ASSISTANT_PROMPT, _echoes

    assert _echoes("Play a song by Adele.", ASSISTANT_PROMPT)
    assert _echoes("hey, what's on my calendar today", ASSISTANT_PROMPT)
    assert not _echoes("Call Sarah on her mobile.", ASSISTANT_PROMPT)
    assert not _echoes("Play a song by Taylor Swift.", ASSISTANT_PROMPT)
