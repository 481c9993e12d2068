"""What the session core hands to its engine: plain records, no behaviour."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..wire.client_messages import ContextUpdate
from ..wire.content import Blob, Content, FunctionResponse
from ..wire.setup import Setup


@dataclass(frozen=True)
class SetupDone:
    setup: Setup
    model: str  # canonical "models/…" name


@dataclass(frozen=True)
class TurnReady:
    """A user turn is complete: the model's turn ``turn_id`` starts now."""

    turn_id: int
    contents: list[Content]  # what the user added since the model last spoke

    def text(self) -> str:
        return "\n".join(t for t in (c.text() for c in self.contents) if t)


@dataclass(frozen=True)
class TurnInterrupted:
    turn_id: int
    cancelled_call_ids: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ToolResponsesReceived:
    responses: list[FunctionResponse]


@dataclass(frozen=True)
class MediaReceived:
    kind: str  # "audio" | "video"
    blob: Blob
    rate: int | None = None  # PCM sample rate, when the session checks audio (audio_input)


@dataclass(frozen=True)
class ActivityStarted:
    pass


@dataclass(frozen=True)
class ActivityEnded:
    pass


@dataclass(frozen=True)
class AudioStreamEnded:
    pass


@dataclass(frozen=True)
class ContextUpdated:
    update: ContextUpdate


@dataclass(frozen=True)
class HandleIssued:
    """A sessionResumptionUpdate gave the client this handle: store the session under it
    (``SessionCore.snapshot_to_store``), and make ``supersedes`` (the handle issued before,
    if any) an alias of it, so every handle of the session resumes its latest state."""

    handle: str
    supersedes: str | None = None


Event = (
    SetupDone
    | HandleIssued
    | TurnReady
    | TurnInterrupted
    | ToolResponsesReceived
    | MediaReceived
    | ActivityStarted
    | ActivityEnded
    | AudioStreamEnded
    | ContextUpdated
)
