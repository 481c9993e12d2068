"""openlive's end of turn without silenceDurationMs: at a pause, the turn ends as soon as
the pause's transcript sounds finished (the lexical rule, then the real shipped LLM's
P(end)); otherwise only after SMART_END_SILENCE_MS of silence. The transcriber is a
stand-in that returns a fixed text, so what is tested is the decision, on real Silero VAD
over real (Piper) speech; audio is fed faster than real time and every wait is for an
event, never for a duration."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from openlive.engines.audio.listener import Listener
from openlive.engines.audio.turn_end import (
    DEFAULT_END_THRESHOLD,
    SMART_END_SILENCE_MS,
    LLMTurnEnd,
    end_threshold,
    sounds_finished,
)
from openlive.engines.audio.vad import ActivityDecider, VadConfig
from openlive.session import events as ev
from openlive.wire.content import Blob
from openlive.wire.setup import Setup


def test_sounds_finished():
    assert sounds_finished("What is the capital of France?")
    assert sounds_finished("Turn off the lights.")
    assert sounds_finished("")  # a cough: nothing to wait for
    assert not sounds_finished("Set a timer for")
    assert not sounds_finished("Set a timer for.")  # Whisper's full stop on a fragment
    assert not sounds_finished("Send a message to Anna and")
    assert not sounds_finished("I would like to book a table...")
    assert not sounds_finished("Add apples,")
    assert not sounds_finished("Remind me to call my")
    assert not sounds_finished("Can you tell me what the time is")
    assert sounds_finished("How many legs does a spider have?")  # Whisper heard a question
    assert not sounds_finished("What is the capital of?")


def test_decider_end_now():
    d = ActivityDecider(VadConfig(prefix_padding_ms=64, silence_duration_ms=800))
    assert d.end_now() == []
    for _ in range(10):
        d.step(0.9)
    for _ in range(5):
        assert d.step(0.0) == []
    (end,) = d.end_now()
    assert (end.at_ms, end.detected_ms, end.start_ms) == (320, 480, 0)
    assert not d.speaking and d.end_now() == []


class _Text:
    """A transcriber that returns ``text`` for any audio."""

    def __init__(self, text: str) -> None:
        self.text = text

    def transcribe(self, pcm, **_):
        return self.text


class _Inputs:
    def __init__(self) -> None:
        self.turns: list[str] = []
        self.turn = asyncio.Event()

    def speech_started(self, audio_offset=None) -> None:
        pass

    def speech_ended(self, audio_offset=None) -> None:
        pass

    async def input_transcription(self, text, finished=None) -> None:
        pass

    async def user_speech(self, text: str) -> None:
        self.turns.append(text)
        self.turn.set()


@pytest.fixture(scope="module")
def speech() -> bytes:
    import soxr

    from openlive.engines.audio.tts import Synthesizer

    tts = Synthesizer(noise_scale=0.0, noise_w_scale=0.0)
    pcm = np.frombuffer(b"".join(tts.synthesize("What is the capital of France?")), "<i2")
    pcm = soxr.resample(pcm, tts.output_rate, 16_000).astype("<i2")
    loud = np.flatnonzero(np.abs(pcm.astype(np.int32)) > 328)
    return pcm[loud[0]:loud[-1] + 1].tobytes()


async def _feed(listener: Listener, pcm: bytes) -> None:
    for i in range(0, len(pcm), 640):
        listener.on_event(ev.MediaReceived("audio", Blob(mime_type="audio/pcm;rate=16000",
                                                         data=pcm[i:i + 640]), 16_000))
        await asyncio.sleep(0)
    while listener._vad is not None and listener._vad.busy:  # every chunk through the VAD
        await asyncio.sleep(0.005)


async def _pause_heard(listener: Listener, inputs: _Inputs) -> None:
    """The transcription started at the pause has finished and been judged, by the scorer
    too (or the turn has already ended: the stand-in transcriber answers at once)."""
    while not inputs.turns and (listener._spec is None or not listener._spec.done()):
        await asyncio.sleep(0.005)
    for _ in range(3):
        await asyncio.sleep(0)
    while not inputs.turns and len(listener._tasks) > 1:  # the scorer's thread (and _spec)
        await asyncio.sleep(0.005)
    for _ in range(3):
        await asyncio.sleep(0)


def _silence(ms: int) -> bytes:
    return b"\x00" * (32 * ms)


async def _listen(text: str, speech: bytes, setup: dict | None = None,
                  pause_ms: int = 400, turn_end: LLMTurnEnd | None = None
                  ) -> tuple[Listener, _Inputs]:
    from openlive.engines.audio.voice_models import VoiceModels

    s = Setup.model_validate({"model": "models/openlive-local", **(setup or {})})
    inputs = _Inputs()
    listener = Listener(s, VoiceModels(transcriber=_Text(text), synthesizer=object()), inputs,
                        turn_end=turn_end)
    await _feed(listener, _silence(200) + speech + _silence(pause_ms))
    await _pause_heard(listener, inputs)
    return listener, inputs


async def test_a_finished_sentence_ends_the_turn_at_the_pause(speech):
    listener, inputs = await _listen("What is the capital of France?", speech)
    try:
        await asyncio.wait_for(inputs.turn.wait(), 60)  # no more audio was needed
        assert inputs.turns == ["What is the capital of France?"]
    finally:
        await listener.aclose()


async def _ends_only_after_the_long_silence(text: str, speech: bytes,
                                            turn_end: LLMTurnEnd | None = None) -> None:
    listener, inputs = await _listen(text, speech, turn_end=turn_end)
    try:
        assert inputs.turns == [] and listener._segmenter.speaking
        await _feed(listener, _silence(SMART_END_SILENCE_MS))
        await asyncio.wait_for(inputs.turn.wait(), 60)
        assert inputs.turns == [text]
    finally:
        await listener.aclose()


async def test_an_unfinished_sentence_waits_for_the_long_silence(speech):
    await _ends_only_after_the_long_silence("What is the capital of", speech)


async def test_silence_duration_ms_in_the_setup_is_the_rule(speech):
    setup = {"realtimeInputConfig": {"automaticActivityDetection": {
        "silenceDurationMs": 2000}}}
    listener, inputs = await _listen("What is the capital of France?", speech, setup)
    try:
        assert not listener.smart_end
        assert inputs.turns == [] and listener._segmenter.speaking
        await _feed(listener, _silence(1700))
        await asyncio.wait_for(inputs.turn.wait(), 60)
    finally:
        await listener.aclose()


async def test_on_pause_hears_the_transcript_with_silence_duration_ms_too(speech):
    """The local engine starts its answer at the pause (engines/local/speculation.py)
    whichever rule ends the turn: with silenceDurationMs the silence still decides."""
    setup = {"realtimeInputConfig": {"automaticActivityDetection": {
        "silenceDurationMs": 1500}}}
    from openlive.engines.audio.voice_models import VoiceModels

    heard: list[str | None] = []
    inputs = _Inputs()
    listener = Listener(Setup.model_validate({"model": "models/openlive-local", **setup}),
                        VoiceModels(transcriber=_Text("What is the capital of France?"),
                                    synthesizer=object()), inputs)
    listener.on_pause = heard.append
    try:
        await _feed(listener, _silence(200) + speech + _silence(400))
        await _pause_heard(listener, inputs)
        assert heard == ["What is the capital of France?"] and inputs.turns == []
        await _feed(listener, speech[:6400])  # the user speaks on
        assert heard == ["What is the capital of France?", None]
    finally:
        await listener.aclose()


def test_the_silence_window_follows_the_setup():
    from openlive.engines.audio.listener import _vad_config

    def window(aad: dict | None) -> int:
        setup = {"model": "models/openlive-local"}
        if aad is not None:
            setup["realtimeInputConfig"] = {"automaticActivityDetection": aad}
        return _vad_config(Setup.model_validate(setup)).silence_duration_ms

    assert window(None) == window({}) == SMART_END_SILENCE_MS
    assert window({"silenceDurationMs": 320}) == 320
    assert window({"silence_duration_ms": 100, "prefixPaddingMs": 20}) == 100


# ------------------------------------------------- the LLM's P(end), on the shipped model


@pytest.fixture(scope="module")
def scorer() -> LLMTurnEnd:
    from openlive.engines.audio.llm import load_llama

    return LLMTurnEnd(load_llama)


def test_llm_scores_a_question_finished_and_a_clause_unfinished(scorer):
    # all four pass the lexical rule; the LLM tells them apart (docs/voice.md's set)
    assert scorer.p_end("What is the capital of France?") >= 2 * DEFAULT_END_THRESHOLD
    for clause in ("How many people", "Could you explain",
                   "What is the weather going to be like"):
        assert sounds_finished(clause)
        assert scorer.p_end(clause) < DEFAULT_END_THRESHOLD / 2, clause
    assert scorer.p_end(" . ") == 1.0  # nothing said: nothing to wait for


def test_end_threshold_follows_end_of_speech_sensitivity():
    # an unspecified sensitivity is HIGH on the Gemini API (spec/protocol.md); LOW waits more
    assert end_threshold(None) == end_threshold("END_SENSITIVITY_UNSPECIFIED") \
        == end_threshold("END_SENSITIVITY_HIGH") == DEFAULT_END_THRESHOLD
    assert end_threshold("END_SENSITIVITY_LOW") > DEFAULT_END_THRESHOLD


async def test_the_llm_ends_a_finished_question_at_the_pause(speech, scorer):
    listener, inputs = await _listen("What is the capital of France?", speech,
                                     turn_end=scorer)
    try:
        await asyncio.wait_for(inputs.turn.wait(), 60)  # no more audio was needed
    finally:
        await listener.aclose()


async def test_a_clause_the_llm_expects_more_of_waits_for_the_long_silence(speech, scorer):
    await _ends_only_after_the_long_silence("How many people", speech, scorer)


async def test_low_sensitivity_waits_where_the_default_ends(speech, scorer):
    # a command that scores between the default and the LOW threshold
    text = "Set a timer for five minutes."
    p = scorer.p_end(text)
    assert DEFAULT_END_THRESHOLD * 1.5 <= p < end_threshold("END_SENSITIVITY_LOW") / 1.2
    setup = {"realtimeInputConfig": {"automaticActivityDetection": {
        "endOfSpeechSensitivity": "END_SENSITIVITY_LOW"}}}
    listener, inputs = await _listen(text, speech, setup, turn_end=scorer)
    try:
        assert inputs.turns == [] and listener._segmenter.speaking
    finally:
        await listener.aclose()
    listener, inputs = await _listen(text, speech, turn_end=scorer)  # the default: ends
    try:
        await asyncio.wait_for(inputs.turn.wait(), 60)
    finally:
        await listener.aclose()


def test_the_local_engine_scores_with_its_packaged_llm_only():
    from openlive.engines.audio.openai_llm import OpenAILLM
    from openlive.engines.local.engine import LocalEngine

    assert isinstance(LocalEngine().turn_end(), LLMTurnEnd)
    assert isinstance(LocalEngine(llm_model="qwen2.5-coder-1.5b").turn_end(), LLMTurnEnd)
    # a GGUF of the user's own may not speak ChatML; an LLM over HTTP gives no logprobs
    assert LocalEngine(llm_model="/models/llama-3-8b.gguf").turn_end() is None
    assert LocalEngine(llm=OpenAILLM("http://127.0.0.1:9/v1")).turn_end() is None
