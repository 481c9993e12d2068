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
