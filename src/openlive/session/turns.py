"""The model's turn in progress, and the states a turn goes through.

A model turn (spec/protocol.md §3, "Server messages", ordering rules): output streams as
``serverContent.modelTurn``; a toolCall may hold it until the client answers; then
``generationComplete`` (the model is done generating; audio may still be playing) and
``turnComplete``. A barge-in or a new client turn ends it early with ``interrupted``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from ..wire.content import FunctionCall, Part


class TurnState(Enum):
    NONE = "none"  # no model turn open
    GENERATING = "generating"  # the engine streams output
    AWAITING_TOOLS = "awaiting_tools"  # blocking tool calls wait for the client's responses
    FINISHING = "finishing"  # generationComplete sent; turnComplete not yet


#: Which model output a turn takes, by its state. Output for a turn that is not open
#: (interrupted or complete) is dropped: the engine's task is being cancelled.
OUTPUT_ACCEPTED: dict[TurnState, frozenset[str]] = {
    TurnState.NONE: frozenset(),
    TurnState.GENERATING: frozenset({"text", "audio", "transcription", "event", "tool_call",
                                     "generation_complete", "turn_complete"}),
    # an engine may stream while its calls run (its responses are awaited in parallel)
    TurnState.AWAITING_TOOLS: frozenset({"text", "audio", "transcription", "event",
                                         "tool_call", "generation_complete",
                                         "turn_complete"}),
    TurnState.FINISHING: frozenset({"generation_complete", "turn_complete"}),
}


@dataclass
class ModelTurn:
    """The model's turn in progress. Text is kept as pieces and joined when read, so a
    long reply streamed in small chunks costs linear time, not quadratic."""

    turn_id: int
    pending_calls: dict[str, FunctionCall] = field(default_factory=dict)
    generation_complete: bool = False
    resumed: bool = False  # restored from a snapshot: no engine task is producing it
    _parts: list[Part] = field(default_factory=list)
    _text: list[str] = field(default_factory=list)  # text after the last part

    @property
    def state(self) -> TurnState:
        if self.generation_complete:
            return TurnState.FINISHING
        return TurnState.AWAITING_TOOLS if self.pending_calls else TurnState.GENERATING

    def add_text(self, text: str) -> None:
        if text:
            self._text.append(text)

    def add_part(self, part: Part) -> None:
        self._flush_text()
        self._parts.append(part)

    @property
    def parts(self) -> list[Part]:
        """What the model has said in this turn (text joined, tool calls in order)."""
        self._flush_text()
        return self._parts

    def _flush_text(self) -> None:
        if self._text:
            text = "".join(self._text)
            self._text.clear()
            last = self._parts[-1] if self._parts else None
            if last is not None and last.text is not None and last.function_call is None:
                last.text += text
            else:
                self._parts.append(Part(text=text))
