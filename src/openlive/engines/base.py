"""The one small interface between a session and what produces the model's side."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Protocol

from ..session import events as ev
from ..session.history import estimate_tokens
from ..wire.content import Content, FunctionCall, FunctionResponse
from ..wire.server_messages import ServerContent, UsageMetadata
from ..wire.setup import Setup


class Turn(Protocol):
    """The model's turn as an engine drives it. Every call is a no-op once the turn has been
    interrupted (the engine's task is also cancelled)."""

    turn_id: int
    setup: Setup
    history: list[Content]  # the whole conversation so far, this user turn included
    user: ev.TurnReady  # what the user added since the model last spoke

    async def send_text(self, text: str) -> None: ...

    async def send_audio(self, pcm: bytes, rate: int = 24_000,
                         transcript: str | None = None) -> None:
        """Speech (PCM16 mono) in the model's turn; ``transcript`` is what it says."""
        ...

    async def generation_complete(self) -> None:
        """generationComplete now (the turn stays open, e.g. while its audio plays)."""
        ...

    async def call_tools(self, calls: list[FunctionCall]) -> list[FunctionResponse]:
        """Send a toolCall and wait for the client's toolResponse for every call."""
        ...

    async def send_event(self, content: ServerContent) -> None:
        """Other serverContent of the turn: thought parts, groundingMetadata,
        urlContextMetadata (SessionCore.model_event)."""
        ...

    async def send_raw(self, message: dict[str, Any]) -> None:
        """A server message exactly as given (SessionCore.raw_message)."""
        ...

    async def complete(self, usage: UsageMetadata | None = None, *,
                       reason: str | None = None,
                       waiting_for_input: bool | None = None) -> None:
        """turnComplete (with ``turnCompleteReason`` / ``waitingForInput`` when given)."""
        ...

    async def go_away(self, time_left: str) -> None: ...

    async def close(self, code: int, reason: str) -> None:
        """End the whole session with a close code and reason."""
        ...


class SessionInput(Protocol):
    """What an engine session may do outside a model turn: report what it heard."""

    def speech_started(self, audio_offset: float | None = None) -> None:
        """The user started speaking, ``audio_offset`` seconds into the audio stream
        (voiceActivity ACTIVITY_START; barge-in: interrupts an open model turn)."""
        ...

    def speech_ended(self, audio_offset: float | None = None) -> None:
        """The user stopped speaking (voiceActivity ACTIVITY_END)."""
        ...

    async def input_transcription(self, text: str, finished: bool | None = None) -> None: ...

    async def user_speech(self, text: str) -> None:
        """Recognized speech: the user's turn is complete."""
        ...

    def conversation(self) -> tuple[Setup, list[Content]]:
        """The setup and the history as they stand now (a copy; read-only use), e.g. for
        an answer prepared before the user's turn is confirmed."""
        ...


class EngineSession(ABC):
    """One Live session's model side."""

    # True when this session listens to realtimeInput.audio: the session core then checks
    # that audio is PCM (mime type, byte count, rate) and closes with 1007 if not.
    hears_audio: bool = False

    @abstractmethod
    async def respond(self, turn: Turn) -> None:
        """Produce the model's turn: stream output, then ``await turn.complete(...)``."""

    def attach(self, inputs: SessionInput) -> None:  # noqa: B027 - optional hook
        """Called once after ``open_session``: how to report speech heard outside turns."""

    def on_event(self, event: ev.Event) -> None:  # noqa: B027 - optional hook
        """Realtime input and other session events (audio chunks, activity, updates)."""

    async def aclose(self) -> None:  # noqa: B027 - optional hook
        """The connection is gone."""


class Engine(ABC):
    """Shared by all sessions of a server process (models load once)."""

    name: str = "engine"

    def listens(self) -> bool:
        """Does this engine act on realtime audio? (The console tells its user when not.)"""
        return True

    def served_models(self) -> list[str]:
        """Model names served beyond the gemini-* family."""
        return []

    def count_tokens(self, content: Content) -> int:
        """Tokens in one history entry, by this engine's tokenizer (context compression)."""
        return estimate_tokens(content)

    @abstractmethod
    def open_session(self, setup: Setup, model: str) -> EngineSession: ...

    async def aclose(self) -> None:  # noqa: B027 - optional hook
        """The server is stopping."""
