"""BidiGenerateContentSetup and everything it holds (proto names, both casings accepted)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator

from .base import Int32, Int64, NonNegativeInt32, NonNegativeInt64, WireModel
from .content import Content


def _upper(value: Any) -> Any:
    return value.upper() if isinstance(value, str) else value


SchemaType = Annotated[
    Literal[
        "TYPE_UNSPECIFIED", "STRING", "NUMBER", "INTEGER", "BOOLEAN", "ARRAY", "OBJECT", "NULL"
    ],
    BeforeValidator(_upper),  # real clients send lowercase JSON-schema types ("object")
]


class Schema(WireModel):
    """The OpenAPI subset of function parameters. Unknown keys are refused, as by Google."""

    type: SchemaType | None = None
    format: str | None = None
    title: str | None = None
    description: str | None = None
    nullable: bool | None = None
    enum: list[str] | None = None
    max_items: Int64 | None = None
    min_items: Int64 | None = None
    properties: dict[str, Schema] | None = None
    required: list[str] | None = None
    min_properties: Int64 | None = None
    max_properties: Int64 | None = None
    min_length: Int64 | None = None
    max_length: Int64 | None = None
    pattern: str | None = None
    example: Any = None
    any_of: list[Schema] | None = None
    property_ordering: list[str] | None = None
    default: Any = None
    items: Schema | None = None
    minimum: float | None = None
    maximum: float | None = None
    # google-genai 3.6.1 Schema (JSON-schema references), serialised for the Developer API.
    # additionalProperties is refused, as Google refuses it (tests/unit/test_wire.py).
    defs: dict[str, Schema] | None = None
    ref: str | None = None


class FunctionDeclaration(WireModel):
    name: str | None = None
    description: str | None = None
    parameters: Schema | None = None
    parameters_json_schema: Any = None
    response: Schema | None = None
    response_json_schema: Any = None
    behavior: Literal["UNSPECIFIED", "BLOCKING", "NON_BLOCKING"] | None = None


class Tool(WireModel):
    function_declarations: list[FunctionDeclaration] | None = None
    google_search: dict[str, Any] | None = None
    google_search_retrieval: dict[str, Any] | None = None
    code_execution: dict[str, Any] | None = None
    url_context: dict[str, Any] | None = None
    google_maps: dict[str, Any] | None = None
    computer_use: dict[str, Any] | None = None
    file_search: dict[str, Any] | None = None


class PrebuiltVoiceConfig(WireModel):
    voice_name: str | None = None


class VoiceConfig(WireModel):
    prebuilt_voice_config: PrebuiltVoiceConfig | None = None
    # google-genai 3.6.1 (a cloned voice; a voice by name): accepted, not honoured
    replicated_voice_config: dict[str, Any] | None = None
    voice: str | None = None


class SpeechConfig(WireModel):
    voice_config: VoiceConfig | None = None
    language_code: str | None = None
    multi_speaker_voice_config: dict[str, Any] | None = None


class ThinkingConfig(WireModel):
    include_thoughts: bool | None = None
    thinking_budget: Int32 | None = None  # -1: dynamic thinking
    thinking_level: str | None = None


class TranslationConfig(WireModel):
    target_language_code: str | None = None
    echo_target_language: bool | None = None


class LanguageHints(WireModel):
    language_codes: list[str] | None = None


class AudioTranscriptionConfig(WireModel):
    """Transcription options (google-genai 3.6.1 AudioTranscriptionConfig): all accepted; the
    local engine's recogniser honours none but the language yet."""

    language_codes: list[str] | None = None
    language_auto: dict[str, Any] | None = None
    language_hints: LanguageHints | None = None
    custom_vocabulary: list[str] | None = None
    adaptation_phrases: list[str] | None = None
    word_timestamp: bool | None = None
    diarization: bool | None = None
    mode: str | None = None  # AudioTranscriptionConfigMode (VERBATIM…)
    source_text: str | None = None


Modality = Literal["MODALITY_UNSPECIFIED", "TEXT", "IMAGE", "AUDIO"]
MediaResolution = Literal[
    "MEDIA_RESOLUTION_UNSPECIFIED",
    "MEDIA_RESOLUTION_LOW",
    "MEDIA_RESOLUTION_MEDIUM",
    "MEDIA_RESOLUTION_HIGH",
]


class GenerationConfig(WireModel):
    candidate_count: NonNegativeInt32 | None = None
    max_output_tokens: NonNegativeInt32 | None = None
    temperature: float | None = None
    top_p: float | None = None
    top_k: NonNegativeInt32 | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    seed: Int32 | None = None
    response_modalities: list[Modality] | None = None
    speech_config: SpeechConfig | None = None
    media_resolution: MediaResolution | None = None
    thinking_config: ThinkingConfig | None = None
    enable_affective_dialog: bool | None = None
    translation_config: TranslationConfig | None = None
    # In the proto but not supported by Live models: accepted, logged, not honoured.
    response_logprobs: bool | None = None
    logprobs: Int32 | None = None
    response_mime_type: str | None = None
    response_schema: Schema | None = None
    response_json_schema: Any = None
    stop_sequences: list[str] | None = None
    routing_config: dict[str, Any] | None = None
    audio_timestamp: bool | None = None
    # google-genai 3.6.1 GenerationConfig fields the SDK passes through on a Live setup
    enable_enhanced_civic_answers: bool | None = None
    response_format: Any = None
    model_selection_config: dict[str, Any] | None = None
    audio_transcription_config: AudioTranscriptionConfig | None = None


class AutomaticActivityDetection(WireModel):
    disabled: bool | None = None
    start_of_speech_sensitivity: (
        Literal["START_SENSITIVITY_UNSPECIFIED", "START_SENSITIVITY_HIGH", "START_SENSITIVITY_LOW"]
        | None
    ) = None
    end_of_speech_sensitivity: (
        Literal["END_SENSITIVITY_UNSPECIFIED", "END_SENSITIVITY_HIGH", "END_SENSITIVITY_LOW"] | None
    ) = None
    # a negative one reached the VAD (ValueError: 1011 and a traceback, issue 13)
    prefix_padding_ms: NonNegativeInt32 | None = None
    silence_duration_ms: NonNegativeInt32 | None = None


class RealtimeInputConfig(WireModel):
    automatic_activity_detection: AutomaticActivityDetection | None = None
    activity_handling: (
        Literal["ACTIVITY_HANDLING_UNSPECIFIED", "START_OF_ACTIVITY_INTERRUPTS", "NO_INTERRUPTION"]
        | None
    ) = None
    turn_coverage: (
        Literal[
            "TURN_COVERAGE_UNSPECIFIED",
            "TURN_INCLUDES_ONLY_ACTIVITY",
            "TURN_INCLUDES_ALL_INPUT",
            "TURN_INCLUDES_AUDIO_ACTIVITY_AND_ALL_VIDEO",
        ]
        | None
    ) = None
    # google-genai 3.6.1: timestamps on interim input transcripts
    interim_transcript_timestamp_enabled: bool | None = None


class SessionResumptionConfig(WireModel):
    handle: str | None = None


class SlidingWindow(WireModel):
    target_tokens: NonNegativeInt64 | None = None


class ContextWindowCompressionConfig(WireModel):
    trigger_tokens: NonNegativeInt64 | None = None
    sliding_window: SlidingWindow | None = None


class AvatarConfig(WireModel):
    """Live avatars (google-genai 3.6.1 AvatarConfig): accepted, not honoured (no video out)."""

    avatar_name: str | None = None
    customized_avatar: dict[str, Any] | None = None
    audio_bitrate_bps: Int32 | None = None
    video_bitrate_bps: Int32 | None = None


class ProactivityConfig(WireModel):
    proactive_audio: bool | None = None
    proactive_video: bool | None = None


class HistoryConfig(WireModel):
    initial_history_in_client_content: bool | None = None


class Setup(WireModel):
    """The first client message: the fields google-genai 3.6.1 serialises for the Developer
    API's Live setup (its ``_LiveConnectParameters_to_mldev``; tests/interop/test_sdk_schema.py
    walks them). Fields the SDK itself refuses off Vertex (``explicitVadSignal``,
    ``sessionResumption.transparent``) are unknown here."""

    model: str | None = None
    generation_config: GenerationConfig | None = None
    system_instruction: Content | None = None
    tools: list[Tool] | None = None
    realtime_input_config: RealtimeInputConfig | None = None
    session_resumption: SessionResumptionConfig | None = None
    context_window_compression: ContextWindowCompressionConfig | None = None
    input_audio_transcription: AudioTranscriptionConfig | None = None
    output_audio_transcription: AudioTranscriptionConfig | None = None
    proactivity: ProactivityConfig | None = None
    history_config: HistoryConfig | None = None
    avatar_config: AvatarConfig | None = None
    safety_settings: list[dict[str, Any]] | None = None

    def response_modality(self) -> str:
        """"TEXT" or "AUDIO" (the Gemini API's default when none is given)."""
        mods = self.generation_config and self.generation_config.response_modalities
        return mods[0] if mods else "AUDIO"

    def function_declarations(self) -> list[FunctionDeclaration]:
        return [d for t in self.tools or () for d in t.function_declarations or ()]

    def automatic_vad_enabled(self) -> bool:
        cfg = self.realtime_input_config
        aad = cfg and cfg.automatic_activity_detection
        return not (aad and aad.disabled)
