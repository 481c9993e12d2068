"""Content, parts, blobs and function calls: shared by client and server messages."""

from __future__ import annotations

from typing import Any, Literal

from .base import Base64Bytes, WireModel


class Blob(WireModel):
    mime_type: str | None = None
    data: Base64Bytes | None = None


class FileData(WireModel):
    mime_type: str | None = None
    file_uri: str | None = None


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


class CodeExecutionResult(WireModel):
    outcome: str | None = None
    output: str | None = None


class VideoMetadata(WireModel):
    start_offset: str | None = None
    end_offset: str | None = None
    fps: float | None = None


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


class Content(WireModel):
    role: str | None = None
    parts: list[Part] | None = None

    def text(self) -> str:
        """All text parts joined (thoughts left out)."""
        return "".join(p.text for p in self.parts or () if p.text and not p.thought)
