"""The emulator as Google's AUDIO-only models answer (issue 12), on a real socket: the
placeholder voice with the scripted text as outputTranscription, the refusal of TEXT, the
permissive switch, and the script keys for the rest of a model turn (thought parts,
grounding and URL-context metadata, turnCompleteReason, waitingForInput, raw messages)."""

from __future__ import annotations

import json

import pytest

from live_client import (
    closed_with,
    open_live,
    reply_audio,
    say,
    send,
    setup,
    transcript,
    turn,
    until_turn_complete,
)
from openlive.engines.emulator.placeholder import CHAR_SECONDS, RATE, placeholder_pcm

LIVE = "models/gemini-3.8-live"
SCRIPT = [
    {"match": "search", "thought": "The user wants {text}.", "say": "Found it.",
     "grounding": {"webSearchQueries": ["openlive"]},
     "url_context": {"urlMetadata": [{"retrievedUrl": "https://example.com",
                                      "urlRetrievalStatus": "URL_RETRIEVAL_STATUS_SUCCESS"}]}},
    {"match": "hold on", "say": "Go on.", "turn_complete_reason": "NEED_MORE_INPUT",
     "waiting_for_input": True},
    {"match": "raw", "send": [{"serverContent": {"interactionStatus": "IN_PROGRESS",
                                                 "turnComplete": True}},
                              {"futureMessage": {"x": 1}}], "say": "after"},
    {"say": "You said: {text}"},
]


async def test_an_audio_reply_is_placeholder_speech_with_the_scripted_transcript(serve):
    server = await serve()
    async with await open_live(server) as ws:
        await setup(ws, LIVE)  # no modality: AUDIO, as Google's default
        got = await turn(ws, "hello there")
    assert transcript(got) == "You said: hello there"
    pcm = reply_audio(got)
    assert pcm == placeholder_pcm("You said: hello there")
    assert len(pcm) / (2 * RATE) == pytest.approx(len("You said: hello there") * CHAR_SECONDS)
    mimes = {p["inlineData"]["mimeType"] for m in got
             for p in m.get("serverContent", {}).get("modelTurn", {}).get("parts", [])}
    assert mimes == {"audio/pcm;rate=24000"}
    assert not any("text" in p for m in got
                   for p in m.get("serverContent", {}).get("modelTurn", {}).get("parts", []))
    usage = got[-1]["usageMetadata"]
    assert [d["modality"] for d in usage["responseTokensDetails"]] == ["AUDIO"]
    assert usage["responseTokenCount"] >= 32  # 1.26 s of speech at 32 tokens/s


async def test_without_transcription_only_audio_comes(serve):
    server = await serve()
    async with await open_live(server) as ws:
        await setup(ws, LIVE, transcribe=False)
        got = await turn(ws, "hi")
    assert transcript(got) == "" and reply_audio(got) == placeholder_pcm("You said: hi")


@pytest.mark.parametrize("model,closed", [
    (LIVE, (1007, "Cannot extract voices from a non-audio request.")),
    ("models/gemini-3.1-flash-live-preview", (1011, "Internal error encountered.")),
])
async def test_text_replies_are_refused_as_google_refuses_them(serve, model, closed):
    server = await serve()
    async with await open_live(server) as ws:
        await send(ws, {"setup": {"model": model,
                                  "generationConfig": {"responseModalities": ["TEXT"]}}})
        assert await closed_with(ws) == closed


async def test_permissive_serves_text_replies_and_openlives_own_model_always_does(serve):
    text = {"generationConfig": {"responseModalities": ["TEXT"]}}
    permissive = await serve(permissive=True)
    async with await open_live(permissive) as ws:
        await setup(ws, LIVE, **text)
        got = await turn(ws, "hi")
    assert [p["text"] for m in got
            for p in m.get("serverContent", {}).get("modelTurn", {}).get("parts", [])] == [
        "You said: hi"]
    strict = await serve()
    async with await open_live(strict) as ws:
        await setup(ws, "models/openlive-emulator", **text)
        assert transcript(await turn(ws, "hi")) == ""


async def test_script_keys_for_the_rest_of_a_model_turn(serve):
    server = await serve(script=SCRIPT)
    async with await open_live(server) as ws:
        await setup(ws, LIVE)
        got = await turn(ws, "search the web")
        thought, *rest = [m["serverContent"] for m in got]
        assert thought == {"modelTurn": {"role": "model", "parts": [
            {"text": "The user wants search the web.", "thought": True}]}}
        assert transcript(got) == "Found it."
        assert {"groundingMetadata": {"webSearchQueries": ["openlive"]}} in rest
        assert any("urlContextMetadata" in c for c in rest)

        got = await turn(ws, "hold on")
        assert got[-1]["serverContent"] == {"turnComplete": True,
                                            "turnCompleteReason": "NEED_MORE_INPUT",
                                            "waitingForInput": True}

        await say(ws, "raw please")
        got = await until_turn_complete(ws)  # the raw turnComplete comes first
        assert got[-1] == {"serverContent": {"interactionStatus": "IN_PROGRESS",
                                             "turnComplete": True}}
        frame = await ws.recv()  # not a message the SDKs know: read it raw
        assert frame in (b'{"futureMessage":{"x":1}}', '{"futureMessage":{"x":1}}')
        got = await until_turn_complete(ws)
        assert transcript(got) == ""  # "after" was spoken before the raw messages


def test_fields_the_core_honours_are_not_logged_as_ignored(caplog):
    """The emulator logged 'accepted, not honoured: session_resumption' and then issued
    handles (issue 17): the core's fields are honoured for every engine."""
    import logging

    from openlive.engines.emulator import EmulatorEngine
    from openlive.wire.setup import Setup

    caplog.set_level(logging.INFO, "openlive.emulator")
    EmulatorEngine().open_session(Setup.model_validate({
        "model": LIVE, "sessionResumption": {}, "historyConfig": {},
        "contextWindowCompression": {"slidingWindow": {}}, "outputAudioTranscription": {},
        "generationConfig": {"temperature": 0.2}}), LIVE)
    (line,) = [r.getMessage() for r in caplog.records if "not honoured" in r.getMessage()]
    assert line.endswith(": generation_config.temperature"), line


def test_prompt_tokens_are_counted_once_per_history_entry(monkeypatch):
    """The emulator summed the whole history's tokens at every turn: now only what was
    added (and all of it again after compression cut the history)."""
    import openlive.engines.emulator.engine as em
    from openlive.wire.content import Content, Part
    from openlive.wire.setup import Setup

    session = em.EmulatorEngine().open_session(Setup.model_validate({"model": LIVE}), LIVE)
    history = [Content(role="user", parts=[Part(text="x" * 400)])]
    assert session._history_tokens(history) == 100
    history.append(Content(role="model", parts=[Part(text="y" * 40)]))
    counted = []
    real = em.estimate_tokens
    monkeypatch.setattr(em, "estimate_tokens", lambda c: counted.append(c) or real(c))
    assert session._history_tokens(history) == 110
    assert counted == [history[1]]  # only the new entry was counted
    assert session._history_tokens(history[1:]) == 10  # cut by compression: counted anew


async def test_a_non_blocking_call_s_reply_waits_for_its_result(serve):
    """gemini-3.8-live runs functions NON_BLOCKING by default: the scripted reply built on
    the call's result comes when the result does (WHEN_IDLE), not at once with its
    placeholders unfilled."""
    from live_client import WEATHER, until

    server = await serve(script=WEATHER)
    async with await open_live(server) as ws:
        await setup(ws, LIVE, tools=[{"functionDeclarations": [{"name": "get_weather"}]}])
        await say(ws, "weather in Paris")
        got = await until(ws, "toolCall")
        assert transcript(got) == ""
        (call,) = got[-1]["toolCall"]["functionCalls"]
        first = await until_turn_complete(ws)  # the calling turn ends without a reply
        assert transcript(first) == "" and "{result" not in json.dumps(first)
        await send(ws, {"toolResponse": {"functionResponses": [{
            "id": call["id"], "name": "get_weather", "response": {"summary": "sunny"},
            "scheduling": "WHEN_IDLE"}]}})
        later = await until_turn_complete(ws)
        assert transcript(later) == "It is sunny in Paris."
