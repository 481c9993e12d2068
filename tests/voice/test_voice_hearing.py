"""Whisper's prompt and output clean-up: the model's last reply as context; a short window
sometimes makes it say the utterance twice."""

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


def test_the_prompt_holds_the_last_words_of_the_models_reply():
    from openlive.engines.audio.asr import ASSISTANT_PROMPT, CONTEXT_WORDS, context_prompt

    assert context_prompt(None) == ASSISTANT_PROMPT
    reply = " ".join(f"w{i}" for i in range(CONTEXT_WORDS + 10)) + " The Eiffel Tower."
    prompt = context_prompt(reply)
    assert ASSISTANT_PROMPT in prompt and "The Eiffel Tower." in prompt
    assert "w12 " not in prompt and "w13 " in prompt  # only the last CONTEXT_WORDS words


def test_the_listener_prompts_with_the_sessions_last_model_reply():
    from openlive.engines.audio.listener import Listener
    from openlive.engines.audio.voice_models import VoiceModels
    from openlive.wire.content import Content, Part
    from openlive.wire.setup import Setup

    setup = Setup.model_validate({"model": "models/x", "generationConfig": {
        "responseModalities": ["AUDIO"]}})
    history = [Content(role="user", parts=[Part(text="Where shall we eat?")]),
               Content(role="model", parts=[Part(text="Try Chez Janou near the Bastille.")]),
               Content(role="user", parts=[Part(text="Hmm.")])]

    class Inputs:
        def conversation(self):
            return setup, list(history)

    listener = Listener(setup, VoiceModels.shared(), Inputs())  # type: ignore[arg-type]
    assert "Try Chez Janou near the Bastille." in listener._prompt()
    history.clear()  # a new session: the prompt alone
    from openlive.engines.audio.asr import ASSISTANT_PROMPT

    assert listener._prompt() == ASSISTANT_PROMPT
    assert Listener(setup, VoiceModels.shared())._prompt() == ASSISTANT_PROMPT  # no inputs
