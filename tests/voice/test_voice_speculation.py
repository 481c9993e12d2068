"""Answers begun at a pause (engines/local/speculation.py) on the real shipped LLM: adopted
only by a turn that asks exactly the same, cancelled otherwise, never sent by themselves."""

from __future__ import annotations

import asyncio

import pytest

from openlive.engines.local import LocalEngine
from openlive.engines.local.prompt import chat_messages, sampling
from openlive.engines.local.speculation import Speculation
from openlive.wire.content import Content, Part
from openlive.wire.setup import Setup

QUESTION = "What color is the sky?"


def _setup(**extra) -> Setup:
    return Setup.model_validate({
        "model": "models/openlive-local",
        "generationConfig": {"maxOutputTokens": 16, "temperature": 0}, **extra})


def _ask(setup: Setup, text: str, history: list[Content] | None = None) -> list[dict]:
    return chat_messages(setup, [*(history or []), Content(role="user",
                                                           parts=[Part(text=text)])])


@pytest.fixture(scope="module")
def engine(voice_models) -> LocalEngine:
    engine = LocalEngine(voice=voice_models)
    engine.llm()
    return engine


async def test_an_adopted_answer_is_the_answer_the_turn_would_have_got(engine):
    setup = _setup()
    messages, params = _ask(setup, QUESTION), sampling(setup)
    direct = "".join([d async for d in engine.llm().astream(messages, **params)])
    spec = Speculation(engine.llm(), messages, params)
    await asyncio.sleep(0.3)  # (some deltas may be in already, or not: both must work)
    assert spec.matches(_ask(setup, QUESTION), sampling(setup))
    assert not spec.matches(_ask(setup, "What color is grass?"), params)
    assert not spec.matches(messages, {**params, "max_tokens": 17})
    adopted = "".join([d async for d in spec.adopt()])
    assert adopted == direct and adopted.strip()
    assert spec.usage.completion_tokens > 0


async def test_a_cancelled_speculation_stops_and_is_not_adopted(engine):
    setup = _setup(generationConfig={"maxOutputTokens": 200, "temperature": 0})
    messages, params = _ask(setup, "Tell me a long story about a dragon."), sampling(setup)
    spec = Speculation(engine.llm(), messages, params)
    await asyncio.sleep(0.2)
    spec.cancel()
    async with asyncio.timeout(30):
        while not spec._task.done():
            await asyncio.sleep(0.01)
    assert spec._task.cancelled() and not spec.matches(messages, params)


class _Inputs:
    """The session's side as the server gives it (server/connection.py _EngineInput)."""

    def __init__(self, setup: Setup, history: list[Content]) -> None:
        self.setup, self.history = setup, history
        self.sent: list[str] = []

    def conversation(self):
        return self.setup, list(self.history)

    def speech_started(self, audio_offset=None) -> None:
        pass

    def speech_ended(self, audio_offset=None) -> None:
        pass

    async def input_transcription(self, text, finished=None) -> None:
        self.sent.append(text)

    async def user_speech(self, text: str) -> None:
        self.sent.append(text)


async def test_a_pause_starts_one_speculation_on_the_history_and_speaking_on_drops_it(engine):
    setup = _setup()
    history = [Content(role="user", parts=[Part(text="Hi.")]),
               Content(role="model", parts=[Part(text="Hello! How can I help?")])]
    session = engine.open_session(setup, "models/openlive-local")
    inputs = _Inputs(setup, history)
    session.attach(inputs)
    try:
        session.listener.on_pause("What is the weather going to be like")
        first = session._speculation
        assert first is not None
        assert first.messages == _ask(setup, "What is the weather going to be like", history)
        session.listener.on_pause("What is the weather going to be like in London?")
        second = session._speculation
        assert second is not first and first._task.cancelling()  # one at a time
        session.listener.on_pause(None)  # the user speaks on
        assert session._speculation is None
        await asyncio.sleep(0.05)
        assert second._task.cancelled()
        assert inputs.sent == []  # nothing reached the client
    finally:
        await session.aclose()


async def test_no_speculation_with_tools_or_while_the_model_speaks(engine):
    tools = {"functionDeclarations": [{"name": "get_weather", "description": "Weather",
                                       "parameters": {"type": "OBJECT", "properties": {}}}]}
    setup = _setup(tools=[tools])
    session = engine.open_session(setup, "models/openlive-local")
    session.attach(_Inputs(setup, []))
    try:
        session.listener.on_pause(QUESTION)  # the answer may start with a tool call
        assert session._speculation is None
    finally:
        await session.aclose()
    setup = _setup()
    session = engine.open_session(setup, "models/openlive-local")
    session.attach(_Inputs(setup, []))
    try:
        session.responding = True  # the reply's end will change the history
        session.listener.on_pause(QUESTION)
        assert session._speculation is None
    finally:
        await session.aclose()
