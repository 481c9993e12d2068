"""Content, parts, blobs and function calls: shared by client and server messages."""

from __future__ import annotations

from typing import Any, Literal

from .base import Base64Bytes, WireModel


class Blob(WireModel):
    mime_type: str | None = None
    data: Base64Bytes | None = None
    display_name: str | None = None  # google-genai 3.6.1


class FileData(WireModel):
    mime_type: str | None = None
    file_uri: str | None = None
    display_name: str | None = None  # google-genai 3.6.1


class FunctionCall(WireModel):
    id: str | None = None
    name: str | None = None
    args: dict[str, Any] | None = None


class FunctionResponsePart(WireModel):
    inline_data: Blob | None = None
    file_data: FileData | None = None


Scheduling = Literal["SCHEDULING_UNSPECIFIED", "SILENT", "WHEN_IDLE", "INTERRUPT"]


class FunctionResponse(WireModel):
    id: str | None = None
    name: str | None = None
    response: dict[str, Any] | None = None
    will_continue: bool | None = None
    scheduling: Scheduling | None = None
    parts: list[FunctionResponsePart] | None = None


class ExecutableCode(WireModel):
    language: str | None = None
    code: str | None = None
    id: str | None = None  # google-genai 3.6.1


class CodeExecutionResult(WireModel):
    outcome: str | None = None
    output: str | None = None
    id: str | None = None  # google-genai 3.6.1


class VideoMetadata(WireModel):
    start_offset: str | None = None
    end_offset: str | None = None
    fps: float | None = None
    content_layers: Any = None  # google-genai 3.6.1


class Part(WireModel):
    text: str | None = None
    inline_data: Blob | None = None
    file_data: FileData | None = None
    function_call: FunctionCall | None = None
    function_response: FunctionResponse | None = None
    executable_code: ExecutableCode | None = None
    code_execution_result: CodeExecutionResult | None = None
    thought: bool | None = None
    thought_signature: Base64Bytes | None = None
    video_metadata: VideoMetadata | None = None
    # google-genai 3.6.1's _Part_to_mldev sends these too: accepted, not acted on
    media_resolution: dict[str, Any] | None = None  # {level, numTokens}
    tool_call: dict[str, Any] | None = None
    tool_response: dict[str, Any] | None = None
    audio_metadata: dict[str, Any] | None = None
    audio_transcription: dict[str, Any] | None = None
    document_metadata: dict[str, Any] | None = None
    media_processing: Any = None
    part_metadata: dict[str, Any] | None = None
    speech_metadata: dict[str, Any] | None = None
    spreadsheet_metadata: dict[str, Any] | None = None


class Content(WireModel):
    role: str | None = None
    parts: list[Part] | None = None

    def text(self) -> str:
        """All text parts joined (thoughts left out)."""
        return "".join(p.text for p in self.parts or () if p.text and not p.thought)
