"""The parity page (docs/fidelity.md): what openlive emulates, accepts without acting on, and
refuses — per model from :data:`.models.PROFILES`, per message and rule from the tables
below — each with its source and the test that pins it.

Regenerate after changing a profile or a row: ``python -m openlive.session.parity >
docs/fidelity.md`` (tests/session/test_parity.py fails while the page is stale, and checks
that every test named here exists).
"""

from __future__ import annotations

from .models import PROFILES, ModelProfile

#: Where each source key of the profiles points (models.py names them).
SOURCES = {
    "doc:3.8-live": "https://ai.google.dev/gemini-api/docs/models/gemini-3.8-live "
                    "(model page and migration notes, Sept. 2026)",
    "doc:3.1-live": "https://ai.google.dev/gemini-api/docs/models/gemini-3.1-flash-live-preview "
                    "(migration notes from 2.5)",
    "doc:deprecations": "https://ai.google.dev/gemini-api/docs/deprecations",
    "doc:live-guide": "https://ai.google.dev/gemini-api/docs/live-guide",
    "spec:§0": "spec/protocol.md §0, the 2026-11-27 update of the protocol report",
    "obs:text-refused": "livekit/livekit#4103, kizuna-ai-lab/sokuji#93, "
                        "jsalsman/gemini-live#2 (1007 on native audio); "
                        "googleapis/python-genai#2238 (1011 on 3.1)",
}

# (message or field, what openlive does, source, the test that pins it)
SERVER_MESSAGES: tuple[tuple[str, str, str, str], ...] = (
    ("setupComplete", "emulated: first message after an accepted setup",
     "Live API reference", "tests/session/test_state.py::test_one_response_modality_is_accepted"),
    ("serverContent.modelTurn audio (inlineData audio/pcm;rate=24000)",
     "emulated: Piper speech with the local extra, else the placeholder voice "
     "(engines/emulator/placeholder.py)", "doc:3.8-live (AUDIO replies)",
     "tests/emulator/test_emulator_audio.py::"
     "test_an_audio_reply_is_placeholder_speech_with_the_scripted_transcript"),
    ("serverContent.modelTurn text parts", "only for TEXT replies: openlive's own models "
     "or --permissive (Google's Live models answer in AUDIO only)", "obs:text-refused",
     "tests/emulator/test_emulator_audio.py::"
     "test_permissive_serves_text_replies_and_openlives_own_model_always_does"),
    ("several parts in one event (audio + outputTranscription)",
     "emulated on gemini-3.x (profile multi_part_events); one part an event on 2.5",
     "doc:3.1-live", "tests/session/test_models.py::"
     "test_3x_models_put_audio_and_its_transcript_in_one_event"),
    ("serverContent.outputTranscription", "emulated: exactly the scripted text when the "
     "setup asks for outputAudioTranscription", "doc:3.8-live (use output transcription)",
     "tests/emulator/test_emulator_audio.py::test_without_transcription_only_audio_comes"),
    ("serverContent.inputTranscription", "emulated with the local extra (speech "
     "recognition), as deltas", "Live API guide", "tests/voice/test_voice_partial.py"),
    ("serverContent.interimInputTranscription", "accepted by the client types; not "
     "produced (inputTranscription deltas instead)", "google-genai 3.6.1 LiveServerContent",
     "tests/session/test_turns.py::test_a_raw_message_goes_out_as_given_only_while_live"),
    ("serverContent.generationComplete / turnComplete / interrupted", "emulated",
     "Live API reference", "tests/session/test_turns.py::"
     "test_complete_turn_emits_generation_complete_then_turn_complete_with_usage"),
    ("serverContent.turnCompleteReason / waitingForInput", "scriptable "
     "(turn_complete_reason, waiting_for_input)", "google-genai 3.6.1 LiveServerContent",
     "tests/session/test_turns.py::test_turn_complete_carries_reason_and_waiting_for_input"),
    ("serverContent.interactionStatus", "IDLE on every turnComplete of the models that "
     "report it (extended thinking); IN_PROGRESS sequences through send", "spec:§0; "
     "google-genai 3.6.1 LiveServerContent", "tests/session/test_turns.py::"
     "test_extended_thinking_reports_interaction_status_with_every_turn_complete"),
    ("thought parts (thought: true)", "scriptable (thought)", "google-genai 3.6.1 Part",
     "tests/session/test_turns.py::"
     "test_model_events_are_sent_as_given_and_thoughts_stay_out_of_the_history"),
    ("serverContent.groundingMetadata / urlContextMetadata", "scriptable (grounding, "
     "url_context), sent as written", "google-genai 3.6.1 LiveServerContent",
     "tests/emulator/test_emulator_audio.py::test_script_keys_for_the_rest_of_a_model_turn"),
    ("any other server message", "scriptable as is (send)", "openlive's escape hatch",
     "tests/emulator/test_emulator_audio.py::test_script_keys_for_the_rest_of_a_model_turn"),
    ("toolCall / toolCallCancellation", "emulated (scripted calls; cancelled by an "
     "interruption)", "Live API tools guide", "tests/session/test_calls.py"),
    ("voiceActivity {type, audioOffset}", "emulated when the VAD (local extra) hears speech "
     "start and end", "spec:§0; google-genai 3.6.1 _VoiceActivity_from_mldev",
     "tests/session/test_state.py::"
     "test_voice_activity_is_sent_when_the_vad_hears_speech_start_and_end"),
    ("voiceActivityDetectionSignal", "not produced (the SDK refuses explicit_vad_signal off "
     "Vertex)", "google-genai 3.6.1", "tests/interop/test_sdk_schema.py::"
     "test_every_live_config_field_the_sdk_sends_is_accepted_or_refused_as_google"),
    ("goAway / sessionResumptionUpdate", "emulated (limits, scripts, resumption)",
     "Live API session management guide", "tests/session/test_deadlines.py"),
    ("usageMetadata", "emulated: text estimated at 4 characters a token, audio at 32 "
     "tokens a second, per modality", "Gemini token docs (audio: 32 tokens/s)",
     "tests/emulator/test_emulator_audio.py::"
     "test_an_audio_reply_is_placeholder_speech_with_the_scripted_transcript"),
)

# (rule, source, the test that pins it)
RULES: tuple[tuple[str, str, str], ...] = (
    ("a reply modality the model does not allow closes with the model's code and reason "
     "(the Models table); no modality means AUDIO", "obs:text-refused; doc:3.8-live",
     "tests/session/test_models.py::"
     "test_each_model_refuses_the_modalities_its_profile_does_not_allow"),
    ("shut-down and unknown models: 1008 not found", "doc:deprecations",
     "tests/session/test_models.py::test_the_catalog_lists_served_models_and_engine_names_only"),
    ("gemini-3.8-live refuses thinkingLevel, proactiveAudio: false, enableAffectiveDialog "
     "(1007)", "doc:3.8-live", "tests/session/test_models.py::"
     "test_gemini_3_8_live_refuses_what_its_migration_notes_remove"),
    ("a function declared without behavior follows the model's default (NON_BLOCKING on "
     "3.8)", "doc:3.8-live", "tests/session/test_models.py::"
     "test_a_declaration_without_behavior_follows_the_models_default"),
    ("clientContent without turnComplete waits for more", "doc:3.8-live; js-genai "
     "LiveSendClientContentParameters", "tests/session/test_state.py"),
    ("historyConfig.initialHistoryInClientContent: clientContent up to the first "
     "turnComplete is history only, no model call", "js-genai HistoryConfig reference",
     "tests/session/test_state.py::"
     "test_initial_history_in_client_content_waits_for_its_turn_complete_and_answers_nothing"),
    ("every setup field google-genai 3.6.1 serialises for the Developer API is accepted; "
     "additionalProperties and a non-integer topK are refused (1007)",
     "google-genai 3.6.1 converters; spec/protocol.md §3",
     "tests/interop/test_sdk_schema.py::"
     "test_every_live_config_field_the_sdk_sends_is_accepted_or_refused_as_google"),
    ("--permissive lifts the per-model refusals (the defaults stay)", "openlive's own",
     "tests/session/test_models.py::"
     "test_permissive_accepts_what_the_profiles_refuse_and_keeps_the_defaults"),
)

#: Where Google is silent and openlive chose (each choice is documented where it lives).
SILENT = (
    "the placeholder voice's signal and its 600 s cap a turn (engines/emulator/placeholder.py)",
    "how many audio parts one multi-part event holds (8: session/state.py)",
    "the reason text of the 3.8 per-field refusals (Google's is not published; openlive says "
    "why)",
    "gemini-3.8-live-extended-thinking's rules: 3.8-live's are assumed (spec:§0 names it only)",
    "the TEXT refusal of gemini-3.8-live: the native-audio models' 1007 is assumed",
    "a 3.1 rule that clientContent after the first turn needs historyConfig: not found in "
    "Google's 3.1 page (it says clientContent is supported for the whole session), so not "
    "enforced",
)


def _model_row(p: ModelProfile) -> str:
    status = p.status.replace("_", " ") + (f" ({p.status_date})" if p.status_date else "")
    if not p.served:
        return f"| `{p.name}` | {status} | refused: 1008 not found | | | | | |"
    allowed = " / ".join(p.response_modalities)
    refused = "; ".join(f"`{path}`" for path, _ in p.refuses) or "—"
    events = "several parts" if p.multi_part_events else "one part"
    extras = ", interactionStatus" if p.interaction_status else ""
    code, reason = p.modality_refused
    other = f"{code} {reason}" if set(p.response_modalities) != {"AUDIO", "TEXT"} else "—"
    return (f"| `{p.name}` | {status} | {allowed} (default {p.default_modality}) | {other} | "
            f"{p.function_behavior} | {refused} | {p.default_turn_coverage} | "
            f"{p.input_token_limit:,} / {p.output_token_limit:,}, {events}{extras} | "
            f"{', '.join(p.sources)} |")


def render() -> str:
    lines = [
        "# Fidelity: what openlive emulates, accepts and refuses",
        "",
        "Generated by `python -m openlive.session.parity > docs/fidelity.md` from the model",
        "profiles (`src/openlive/session/models.py`) and the tables in",
        "`src/openlive/session/parity.py`; `tests/session/test_parity.py` fails while this page",
        "is stale. Every row names its source and the test that pins it.",
        "",
        "## Models",
        "",
        "| model | status | replies | other modality | functions | refused setup fields | "
        "turnCoverage default | tokens in / out, events | sources |",
        "|---|---|---|---|---|---|---|---|---|",
        *(_model_row(p) for p in PROFILES),
        "",
        "`models/openlive-emulator` and `models/openlive-local` are openlive's own models, not",
        "Google's: they answer in TEXT or AUDIO. `openlive serve --permissive` (and",
        "`ServerConfig(permissive=True)`) lifts every refusal above; the defaults stay.",
        "",
        "## Server messages",
        "",
        "| message or field | openlive | source | pinned by |",
        "|---|---|---|---|",
        *(f"| {m} | {what} | {src} | `{test}` |" for m, what, src, test in SERVER_MESSAGES),
        "",
        "## Rules",
        "",
        "| rule | source | pinned by |",
        "|---|---|---|",
        *(f"| {rule} | {src} | `{test}` |" for rule, src, test in RULES),
        "",
        "## Where Google is silent",
        "",
        *(f"- {item}" for item in SILENT),
        "",
        "## Sources",
        "",
        *(f"- `{key}`: {where}" for key, where in SOURCES.items()),
        "",
    ]
    return "\n".join(lines)


def pinned_tests() -> list[str]:
    return [row[-1] for row in (*SERVER_MESSAGES, *RULES)]


if __name__ == "__main__":
    print(render(), end="")
