"""Tool calls: their ids, which of them hold the model's turn, and NON_BLOCKING scheduling.

A function declared with ``behavior: NON_BLOCKING`` (spec/protocol.md §2, "Tools"; Live API
guide, "Asynchronous function calling") does not hold the turn: the model goes on, and its
responses arrive later with a ``scheduling`` — SILENT (into the history, no turn),
WHEN_IDLE (the default: a turn about it once the current one is over) or INTERRUPT (the
current turn is interrupted and a new one starts); ``willContinue: true`` keeps the call
open for more responses. Every other call holds the turn until the client answers it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..wire.content import FunctionCall, FunctionResponse
from ..wire.setup import Setup


@dataclass(frozen=True)
class IssuedCalls:
    """A toolCall as sent: every call with its id, and the ids the engine must wait for."""

    calls: list[FunctionCall]
    awaited: list[str]


@dataclass(frozen=True)
class Scheduling:
    """What NON_BLOCKING responses do to the turns: interrupt the current one, start one."""

    interrupt: bool
    start_turn: bool


@dataclass
class CallBook:
    next_id: int = 1
    background: dict[str, FunctionCall] = field(default_factory=dict)  # NON_BLOCKING, open

    def issue(self, calls: list[FunctionCall]) -> list[FunctionCall]:
        """The calls with ids (``call-N`` where the engine gave none)."""
        issued = []
        for c in calls:
            call_id = c.id
            if not call_id:
                call_id, self.next_id = f"call-{self.next_id}", self.next_id + 1
            issued.append(FunctionCall(id=call_id, name=c.name, args=c.args or {}))
        return issued

    @staticmethod
    def non_blocking(setup: Setup | None, name: str | None, default: str = "BLOCKING") -> bool:
        """Whether the declared function ``name`` runs NON_BLOCKING: its ``behavior``, or
        the model's default when it names none (gemini-3.8-live: NON_BLOCKING, its
        migration notes; earlier models: BLOCKING)."""
        if setup is None:
            return False
        for d in setup.function_declarations():
            if d.name == name:
                behavior = d.behavior if d.behavior not in (None, "UNSPECIFIED") else default
                return behavior == "NON_BLOCKING"
        return False

    def answered_in_background(self, responses: list[FunctionResponse]) -> Scheduling:
        """Close the calls these responses end (not ``willContinue``); what happens next."""
        for fr in responses:
            if not fr.will_continue:
                self.background.pop(fr.id or "", None)
        audible = [fr for fr in responses if fr.scheduling != "SILENT"]
        return Scheduling(interrupt=any(fr.scheduling == "INTERRUPT" for fr in audible),
                          start_turn=bool(audible))
