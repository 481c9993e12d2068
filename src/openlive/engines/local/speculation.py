"""An answer begun before the user's turn is confirmed (:class:`Speculation`).

At a pause whose transcript sounds finished, the local engine starts the LLM on the
conversation as it would stand with that transcript as the user's turn, while the
end-of-turn judge (:mod:`..audio.turn_end`) and the silence decide whether the turn has
ended. When the turn is confirmed, the reply adopts the speculation only if the messages
and sampling parameters it builds are exactly the speculation's (the same history, the
same words, the same setup); otherwise, or when the user speaks on, the speculation is
cancelled (llama.cpp stops at the next token). Nothing speculative reaches the client or
the history: the deltas wait here until a turn adopts them, and are then sent through
that turn like any others.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

from .answer_stream import AnswerStream

log = logging.getLogger("openlive.engine")

#: A speculation that no turn has adopted after this long is cancelled (the turn it was
#: for ended without a reply, e.g. its transcript was empty); a confirmed turn adopts it
#: within about a second (SMART_END_SILENCE_MS + recognition).
UNADOPTED_S = 5.0


class Speculation:
    """The LLM's streamed answer to ``messages``, collected until a turn adopts it."""

    def __init__(self, llm: Any, messages: Sequence[Mapping[str, Any]],
                 params: Mapping[str, Any]) -> None:
        from ..audio.llm import Usage

        self.messages = [dict(m) for m in messages]
        self.params = dict(params)
        self.usage = Usage()
        self.started = time.monotonic()
        #: the answer, held while the adopting turn synthesizes its first clause
        self.answer = AnswerStream(llm, messages, params, self.usage)
        self.adopted = False
        self._deltas: list[str] = []
        self._more = asyncio.Event()
        self._done = False
        self._error: BaseException | None = None
        self._task = asyncio.get_running_loop().create_task(self._run())
        self._timer = asyncio.get_running_loop().call_later(UNADOPTED_S, self._expire)

    async def _run(self) -> None:
        try:
            async for delta in self.answer:
                self._deltas.append(delta)
                self._more.set()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # surfaced to the turn that adopts it
            self._error = exc
        finally:
            self._done = True
            self._more.set()

    def _expire(self) -> None:
        if not self.adopted:
            self.cancel()

    def matches(self, messages: Sequence[Mapping[str, Any]],
                params: Mapping[str, Any]) -> bool:
        """Would a turn that builds these messages and parameters ask exactly this?"""
        return (not self._task.cancelled() and self._error is None
                and [dict(m) for m in messages] == self.messages
                and dict(params) == self.params)

    async def adopt(self) -> AsyncIterator[str]:
        """The answer's deltas: those generated so far, then the rest as they come."""
        self.adopted = True
        self._timer.cancel()
        i = 0
        try:
            while True:
                if i < len(self._deltas):
                    i += 1
                    yield self._deltas[i - 1]
                    continue
                if self._done:
                    if self._error is not None:
                        raise self._error
                    return
                self._more.clear()
                await self._more.wait()
        finally:
            self.cancel()  # a no-op once finished; stops llama.cpp when the turn goes

    def cancel(self) -> None:
        self._timer.cancel()
        if not self._task.done():
            self._task.cancel()
