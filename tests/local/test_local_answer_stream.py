"""answer_stream.py on the real shipped LLM: an answer held after its first words and
released goes on where it stopped, as one greedy request would have written it."""

from __future__ import annotations

import asyncio

import pytest

from openlive.engines.audio.llm import LocalLLM, Usage
from openlive.engines.local.answer_stream import AnswerStream

MESSAGES = [{"role": "system", "content": "You are a helpful voice assistant."},
            {"role": "user", "content": "How do I make a cup of green tea? Explain the steps."}]
PARAMS = {"max_tokens": 48, "temperature": 0}


@pytest.fixture(scope="session")
def llm(model_cache) -> LocalLLM:
    return LocalLLM(cache=model_cache)


def one_request(llm: LocalLLM) -> tuple[str, Usage]:
    usage = Usage()
    text = "".join(llm.stream(MESSAGES, usage=usage, **PARAMS))
    return text, usage


async def held_answer(llm: LocalLLM, hold_after: int) -> tuple[list[str], Usage, AnswerStream,
                                                                list[int]]:
    """The answer's deltas, held for 0.5 s after ``hold_after`` of them (as a clause's
    synthesis holds it), and for each delta the number of requests made so far."""
    usage = Usage()
    answer = AnswerStream(llm, MESSAGES, PARAMS, usage)
    deltas: list[str] = []
    requests: list[int] = []
    async for delta in answer:
        deltas.append(delta)
        requests.append(answer.requests)
        if len(deltas) == hold_after:
            answer.hold()
            await asyncio.sleep(0.5)
            answer.release()
    return deltas, usage, answer, requests


def test_a_held_answer_goes_on_as_one_request_would(llm):
    whole, whole_usage = one_request(llm)
    deltas, usage, answer, requests = asyncio.run(held_answer(llm, hold_after=5))
    assert "".join(deltas) == whole
    assert answer.requests == 2  # the hold stopped the first request
    # it stopped at once: only the tokens in flight came after the hold (0.5 s unheld
    # would be about 20 more on 2 cores)
    assert 5 <= requests.count(1) <= 8
    assert usage.completion_tokens == whole_usage.completion_tokens == len(deltas)
    # the continuation's prompt re-reads the first words: counted once, as completion
    assert abs(usage.prompt_tokens - whole_usage.prompt_tokens) <= 1


def test_an_answer_that_ends_while_held_is_not_continued(llm):
    usage = Usage()
    short = [{"role": "user", "content": "Say just the word yes."}]

    async def run() -> tuple[str, AnswerStream]:
        answer = AnswerStream(llm, short, {"max_tokens": 8, "temperature": 0}, usage)
        out = []
        async for delta in answer:
            out.append(delta)
        answer.hold()  # too late: the answer is complete
        answer.release()
        return "".join(out), answer

    text, answer = asyncio.run(run())
    assert text.strip() and answer.requests == 1
    assert usage.finish_reason in ("stop", "length") and usage.prompt_tokens > 0
