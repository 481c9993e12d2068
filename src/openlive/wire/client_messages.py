"""What a client sends: exactly one of setup, clientContent, realtimeInput, toolResponse
(and contextUpdate, added by google-genai 3.4)."""

from __future__ import annotations

from pydantic import model_validator

from .base import Empty, WireModel
from .content import Blob, Content, FunctionResponse
from .setup import Setup, Tool


class ClientContent(WireModel):
    turns: list[Content] | None = None
    turn_complete: bool | None = None


class RealtimeInput(WireModel):
    media_chunks: list[Blob] | None = None  # deprecated: only the first chunk is used
    audio: Blob | None = None
    video: Blob | None = None
    text: str | None = None
    activity_start: Empty | None = None
    activity_end: Empty | None = None
    audio_stream_end: bool | None = None


class ToolResponse(WireModel):
    function_responses: list[FunctionResponse] | None = None


class ToolsUpdate(WireModel):
    tools: list[Tool] | None = None


class ContextUpdate(WireModel):
    system_instruction: Content | None = None
    tools: ToolsUpdate | None = None


CLIENT_MESSAGE_KINDS = ("setup", "client_content", "realtime_input", "tool_response",
                        "context_update")


class ClientMessage(WireModel):
    setup: Setup | None = None
    client_content: ClientContent | None = None
    realtime_input: RealtimeInput | None = None
    tool_response: ToolResponse | None = None
    context_update: ContextUpdate | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> ClientMessage:
        if sum(getattr(self, k) is not None for k in CLIENT_MESSAGE_KINDS) != 1:
            raise ValueError("exactly one message kind")
        return self

    @property
    def kind(self) -> str:
        for k in CLIENT_MESSAGE_KINDS:
            if getattr(self, k) is not None:
                return k
        raise AssertionError("validated ClientMessage holds one kind")
