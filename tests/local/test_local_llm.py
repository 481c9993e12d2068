"""llm.py on the real shipped Qwen2.5-Coder-0.5B GGUF (joined and verified by models.py)."""

from __future__ import annotations

import pytest

from openlive.engines.audio.llm import LocalLLM, tool_choice_schema

TOOLS = [
    {"name": "get_weather", "description": "Current weather for a city",
     "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                    "required": ["city"]}},
    {"name": "set_timer", "description": "Start a countdown timer",
     "parameters": {"type": "object", "properties": {"minutes": {"type": "integer"}},
                    "required": ["minutes"]}},
]


@pytest.fixture(scope="session")
def llm(model_cache) -> LocalLLM:
    return LocalLLM(cache=model_cache)


def test_stream_yields_text_deltas(llm):
    deltas = list(llm.stream([{"role": "user", "content": "Say hello."}], max_tokens=12))
    assert len(deltas) >= 2 and "".join(deltas).strip()


def test_choose_tool_is_grammar_constrained(llm):
    ask = [{"role": "user", "content": "What is the weather in Paris?"}]
    choice = llm.choose_tool(ask, TOOLS)
    assert choice.name == "get_weather"
    assert "paris" in str(choice.arguments.get("city", "")).lower()
    timer = llm.choose_tool([{"role": "user", "content": "Set a timer for 5 minutes."}], TOOLS)
    assert timer.name == "set_timer" and timer.arguments.get("minutes") == 5


def test_tool_choice_schema_shape():
    schema = tool_choice_schema(TOOLS)
    assert [o["properties"]["tool"]["const"] for o in schema["anyOf"]] == [
        "get_weather", "set_timer", "none"]


def test_closing_a_stream_stops_the_generation(llm):
    """Barge-in drops the reply: llama.cpp must stop at once, not finish max_tokens."""
    import threading

    before = {t.ident for t in threading.enumerate() if t.name == "llm-stream"}
    messages = [{"role": "user", "content": "Write a long story about a dragon and a knight, "
                                             "at least 500 words."}]
    it = llm.stream(messages, max_tokens=600)
    assert next(it)
    [gen] = [t for t in threading.enumerate()
             if t.name == "llm-stream" and t.ident not in before]
    it.close()
    gen.join(timeout=3.0)  # the whole story takes about 14 s on 2 cores
    assert not gen.is_alive()
