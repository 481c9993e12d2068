"""The LLM's answer as a stream that can hold while its first clause is synthesized
(:class:`AnswerStream`).

With the in-process LLM, llama.cpp and Piper share the machine's cores. While the LLM
went on generating, Piper took about twice as long to synthesize a clause (0.30 s
instead of 0.14 s for a ten-word sentence on 2 cores), and the first clause's synthesis
is on the path to the reply's first audio. So :meth:`AnswerStream.hold` stops the request
after the token in flight (llama.cpp stops when the stream callback says so), the clause
is synthesized with the cores to itself, and after :meth:`AnswerStream.release` the answer
goes on as a new request whose last message is the assistant's text so far: llama.cpp
continues that message from its prompt cache (one new prompt token in the case measured)
and, decoding greedily, writes what one request would have written.

Token counts: a stopped request reports none, so its streamed deltas (one token each)
count as completion tokens, and the continuation's prompt tokens less those as the prompt.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..audio.llm import Usage


class AnswerStream:
    """``async for delta in AnswerStream(llm, messages, params, usage)``: the answer's
    text deltas; ``usage`` receives the answer's token counts. Only an in-process LLM
    (``llm.in_process``: :class:`~openlive.engines.audio.llm.LocalLLM`, whose ``astream``
    takes ``stop``) is held; for another (an HTTP back end, on cores of its own)
    :meth:`hold` does nothing."""

    def __init__(self, llm: Any, messages: Sequence[Mapping[str, Any]],
                 params: Mapping[str, Any], usage: Usage) -> None:
        self._llm = llm
        self._messages = [dict(m) for m in messages]
        self._params = dict(params)
        self.usage = usage
        self._stop = threading.Event()  # the current request's
        self._released = asyncio.Event()
        self._released.set()
        self._held = False
        self._holds = bool(getattr(llm, "in_process", False))
        self.requests = 0  # llama.cpp requests made (more than one once held)

    def hold(self) -> None:
        """Stop generating after the token in flight, until :meth:`release`."""
        if not self._holds:
            return
        self._held = True
        self._released.clear()
        self._stop.set()

    def release(self) -> None:
        """Go on generating (a new request continues the text so far)."""
        self._released.set()

    async def __aiter__(self) -> AsyncIterator[str]:
        from ..audio.llm import Usage

        text: list[str] = []
        max_tokens = self._params.get("max_tokens")
        while True:
            messages = self._messages
            params = dict(self._params)
            if text:  # continue the assistant's message
                messages = [*messages, {"role": "assistant", "content": "".join(text)}]
                if max_tokens is not None:
                    params["max_tokens"] = max_tokens - len(text)
            self._held, self._stop = False, threading.Event()
            usage = Usage()
            before = len(text)
            self.requests += 1
            if self._holds:
                params["stop"] = self._stop
            async for delta in self._llm.astream(messages, usage=usage, **params):
                text.append(delta)
                yield delta
            finished = usage.finish_reason is not None or not self._held
            self.usage.finish_reason = usage.finish_reason
            if usage.prompt_tokens or usage.completion_tokens:  # the request reported them
                self.usage.prompt_tokens += usage.prompt_tokens - before
                self.usage.completion_tokens += usage.completion_tokens
            if not finished:  # stopped by hold(): these deltas are all it wrote
                self.usage.completion_tokens += len(text) - before
            if finished or (max_tokens is not None and len(text) >= max_tokens):
                return
            await self._released.wait()
