"""What the server sends. Top-level keys are only those both SDKs know (camelCase)."""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict

from .base import WireModel
from .content import Content, FunctionCall


class SetupComplete(WireModel):
    session_id: str | None = None


class Transcription(WireModel):
    text: str | None = None
    finished: bool | None = None


class ServerContent(WireModel):
    model_turn: Content | None = None
    generation_complete: bool | None = None
    turn_complete: bool | None = None
    interrupted: bool | None = None
    grounding_metadata: dict[str, Any] | None = None
    input_transcription: Transcription | None = None
    output_transcription: Transcription | None = None
    url_context_metadata: dict[str, Any] | None = None
    turn_complete_reason: str | None = None
    waiting_for_input: bool | None = None
    # google-genai 3.6.1 LiveServerContent: "low latency transcription updated while the
    # user is speaking"; interactionStatus IN_PROGRESS | IDLE, "always sent alongside
    # turn_complete" (by the models that report it)
    interim_input_transcription: Transcription | None = None
    interaction_status: str | None = None


class ToolCall(WireModel):
    function_calls: list[FunctionCall] | None = None


class ToolCallCancellation(WireModel):
    ids: list[str] | None = None


class GoAway(WireModel):
    time_left: str | None = None  # a proto Duration, e.g. "50s"


class SessionResumptionUpdate(WireModel):
    new_handle: str | None = None
    resumable: bool | None = None


class ModalityTokenCount(WireModel):
    modality: str | None = None
    token_count: int | None = None


class UsageMetadata(WireModel):
    prompt_token_count: int | None = None
    cached_content_token_count: int | None = None
    response_token_count: int | None = None
    tool_use_prompt_token_count: int | None = None
    thoughts_token_count: int | None = None
    total_token_count: int | None = None
    prompt_tokens_details: list[ModalityTokenCount] | None = None
    cache_tokens_details: list[ModalityTokenCount] | None = None
    response_tokens_details: list[ModalityTokenCount] | None = None
    tool_use_prompt_tokens_details: list[ModalityTokenCount] | None = None


class VoiceActivity(WireModel):
    type: str | None = None
    audio_offset: str | None = None


class ServerMessage(WireModel):
    setup_complete: SetupComplete | None = None
    server_content: ServerContent | None = None
    tool_call: ToolCall | None = None
    tool_call_cancellation: ToolCallCancellation | None = None
    go_away: GoAway | None = None
    session_resumption_update: SessionResumptionUpdate | None = None
    voice_activity: VoiceActivity | None = None
    voice_activity_detection_signal: dict[str, Any] | None = None
    usage_metadata: UsageMetadata | None = None  # outside the oneof: rides with turnComplete


class RawServerMessage(ServerMessage):
    """A server message sent exactly as a script wrote it (the emulator's ``send:``): its
    keys are kept as given and none is checked; the typed fields stay None."""

    model_config = ConfigDict(extra="allow")

    @classmethod
    def of(cls, message: dict[str, Any]) -> RawServerMessage:
        raw = cls.model_construct()
        raw.__pydantic_extra__ = dict(message)
        return raw
