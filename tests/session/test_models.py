"""session/models.py: the model profiles as data, and the per-model rules the core applies."""

from __future__ import annotations

import pytest

from openlive.session.models import (
    DEFAULT_MODEL,
    GEMINI_LIVE_MODELS,
    PROFILES,
    ModelCatalog,
    profile,
    refused_fields,
)
from openlive.wire import FunctionCall

from .harness import Driver, setup_message

LIVE_3_8 = "gemini-3.8-live"
TOOLS = [{"functionDeclarations": [{"name": "lookup"},
                                   {"name": "blocking", "behavior": "BLOCKING"}]}]


def test_every_profile_names_its_sources_and_the_table_is_consistent():
    names = [n for p in PROFILES for n in (p.name, *p.aliases)]
    assert len(names) == len(set(names))
    for p in PROFILES:
        assert p.sources, p.name
        assert p.default_modality in p.response_modalities
        assert p.function_behavior in ("BLOCKING", "NON_BLOCKING")
        assert p.status != "shut_down" or p.status_date
    assert profile(DEFAULT_MODEL) is not None and profile(DEFAULT_MODEL).status == "ga"
    assert set(GEMINI_LIVE_MODELS) == {p.name for p in PROFILES if p.served}


def test_gemini_3_8_live_facts_from_its_model_page():
    p = profile("models/gemini-3.8-live")
    assert (p.input_token_limit, p.output_token_limit) == (131_072, 65_536)
    assert p.response_modalities == ("AUDIO",) and p.function_behavior == "NON_BLOCKING"
    assert p.default_turn_coverage == "TURN_INCLUDES_AUDIO_ACTIVITY_AND_ALL_VIDEO"


def test_the_catalog_lists_served_models_and_engine_names_only():
    catalog = ModelCatalog(["openlive-local"])
    listed = catalog.listed()
    assert listed[0] == "openlive-local" and LIVE_3_8 in listed
    assert "gemini-live-2.5-flash-preview" not in listed  # shut down
    assert catalog.resolve("gemini-2.0-flash-live-001") is None
    assert catalog.resolve("models/openlive-local") == "models/openlive-local"


@pytest.mark.parametrize("fields,why", [
    ({"generationConfig": {"thinkingConfig": {"thinkingLevel": "LOW"}}}, "thinking_level"),
    ({"proactivity": {"proactiveAudio": False}}, "proactive audio is always on"),
    ({"generationConfig": {"enableAffectiveDialog": True}}, "affective dialog was removed"),
    ({"generationConfig": {"enableAffectiveDialog": False}}, "affective dialog was removed"),
])
def test_gemini_3_8_live_refuses_what_its_migration_notes_remove(fields, why):
    err = Driver().refused(setup_message(LIVE_3_8, **fields))
    assert err.code == 1007 and why in err.reason


@pytest.mark.parametrize("fields", [
    {"proactivity": {"proactiveAudio": True}},
    {"generationConfig": {"thinkingConfig": {"thinkingBudget": 0}}},
])
def test_gemini_3_8_live_accepts_the_rest(fields):
    Driver().live(LIVE_3_8, **fields)


def test_older_models_keep_those_fields():
    Driver().live("gemini-3.1-flash-live-preview",
                  generationConfig={"thinkingConfig": {"thinkingLevel": "LOW"}})
    assert refused_fields(profile("gemini-3.1-flash-live-preview"),
                          {"proactivity": {"proactiveAudio": False}}) == []


@pytest.mark.parametrize("model,awaited", [
    (LIVE_3_8, ["blocking"]),  # NON_BLOCKING is 3.8's default (migration notes)
    ("gemini-2.5-flash-native-audio-preview-12-2025", ["lookup", "blocking"]),
])
def test_a_declaration_without_behavior_follows_the_models_default(model, awaited):
    d = Driver().live(model, tools=TOOLS)
    turn_id = d.start_turn()
    issued = d.core.tool_call(turn_id, [FunctionCall(name="lookup"), FunctionCall(name="blocking")])
    by_id = {c.id: c.name for c in issued.calls}
    assert [by_id[i] for i in issued.awaited] == awaited


# ------------------------------------------------------------ reply modality

TEXT_REPLIES = {"generationConfig": {"responseModalities": ["TEXT"]}}


@pytest.mark.parametrize("p", [p for p in PROFILES if p.served], ids=lambda p: p.name)
def test_each_model_refuses_the_modalities_its_profile_does_not_allow(p):
    """The table decides: TEXT on an AUDIO-only model closes as that model closes it
    (1007 "Cannot extract voices…" on native audio, 1011 on 3.1: obs:text-refused)."""
    if "TEXT" in p.response_modalities:
        assert Driver().live(p.name, **TEXT_REPLIES).core.setup.response_modality() == "TEXT"
        return
    err = Driver().refused(setup_message(p.name, **TEXT_REPLIES))
    assert (err.code, err.reason) == p.modality_refused
    Driver().live(p.name, generationConfig={"responseModalities": ["AUDIO"]})


def test_text_refusals_are_googles_reasons():
    err = Driver().refused(setup_message(LIVE_3_8, **TEXT_REPLIES))
    assert (err.code, err.reason) == (1007, "Cannot extract voices from a non-audio request.")
    err = Driver().refused(setup_message("gemini-3.1-flash-live-preview", **TEXT_REPLIES))
    assert (err.code, err.reason) == (1011, "Internal error encountered.")


def test_no_modality_means_audio():
    d = Driver().live(LIVE_3_8)
    assert d.core.setup.response_modality() == "AUDIO"


def test_openlives_own_models_are_not_googles_and_answer_in_text_too():
    catalog = ModelCatalog(["openlive-emulator"])
    d = Driver(catalog=catalog).live("openlive-emulator", **TEXT_REPLIES)
    assert d.core.setup.response_modality() == "TEXT"


def test_permissive_accepts_what_the_profiles_refuse_and_keeps_the_defaults():
    catalog = ModelCatalog(permissive=True)
    d = Driver(catalog=catalog).live(
        LIVE_3_8, generationConfig={"responseModalities": ["TEXT"],
                                    "enableAffectiveDialog": True}, tools=TOOLS)
    turn_id = d.start_turn()
    issued = d.core.tool_call(turn_id, [FunctionCall(name="lookup")])
    assert issued.awaited == []  # NON_BLOCKING stays 3.8's default
    err = Driver(catalog=catalog).refused(setup_message(
        LIVE_3_8, generationConfig={"responseModalities": ["AUDIO", "TEXT"]}))
    assert err.code == 1007  # what no model accepts is still refused


# ------------------------------------------------------- several parts an event

def _audio_events(model: str, transcript: bool, seconds: float) -> list[dict]:
    fields = {"outputAudioTranscription": {}} if transcript else {}
    d = Driver().live(model, **fields)
    turn_id = d.start_turn()
    d.drain()
    pcm = bytes(int(24_000 * 2 * seconds))
    assert d.core.model_audio(turn_id, pcm, 24_000, "Hi there.")
    return d.drain()


def test_3x_models_put_audio_and_its_transcript_in_one_event():
    sent = _audio_events(LIVE_3_8, transcript=True, seconds=1.0)  # 2 audio parts
    assert len(sent) == 1
    content = sent[0]["serverContent"]
    assert len(content["modelTurn"]["parts"]) == 2
    assert content["outputTranscription"] == {"text": "Hi there."}


def test_3x_events_stay_small_and_the_transcript_rides_on_the_last():
    sent = _audio_events(LIVE_3_8, transcript=True, seconds=5.0)  # 10 parts: 8 + 2
    assert [len(m["serverContent"]["modelTurn"]["parts"]) for m in sent] == [8, 2]
    assert ["outputTranscription" in m["serverContent"] for m in sent] == [False, True]


def test_2_5_models_send_one_part_an_event_and_the_transcript_apart():
    sent = _audio_events(GEMINI_LIVE_MODELS[0], transcript=True, seconds=1.0)
    assert [list(m["serverContent"]) for m in sent] == [
        ["modelTurn"], ["modelTurn"], ["outputTranscription"]]
    assert all(len(m["serverContent"]["modelTurn"]["parts"]) == 1 for m in sent[:2])


def test_a_transcript_alone_is_one_event_and_nothing_is_sent_without_one():
    d = Driver().live(LIVE_3_8)  # no outputAudioTranscription
    turn_id = d.start_turn()
    d.drain()
    assert d.core.model_audio(turn_id, b"", 24_000, "kept in the history")
    assert d.drain() == []
