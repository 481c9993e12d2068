"""Function calling in the local engine with the real shipped LLM, over a real socket:
valid arguments, call -> response -> another call, NON_BLOCKING scheduling, token counts."""

from __future__ import annotations

import asyncio
import json

import pytest
from websockets.asyncio.client import connect

from live_client import LIVE_PATH
from openlive.engines.local import LocalEngine
from openlive.engines.local.tools import invalid_arguments
from openlive.server.app import ServerConfig
from openlive.server.run import start_server

# The local engine's text answers are the point here: gemini models answer in AUDIO only
# (a TEXT setup is refused, session/models.py); openlive's own model still allows TEXT.
MODEL = "models/openlive-local"
TEXT = {"responseModalities": ["TEXT"], "maxOutputTokens": 40, "temperature": 0}
WEATHER = {"name": "get_weather", "description": "Current weather for a city",
           "parameters": {"type": "OBJECT", "properties": {"city": {"type": "STRING"}},
                          "required": ["city"]}}
TIMER = {"name": "set_timer", "description": "Start a countdown timer",
         "parameters": {"type": "OBJECT", "properties": {"minutes": {"type": "INTEGER"}},
                        "required": ["minutes"]}}
SEARCH = {"name": "search_flights", "description": "Search flights to a city (slow)",
          "behavior": "NON_BLOCKING",
          "parameters": {"type": "OBJECT", "properties": {"city": {"type": "STRING"}},
                         "required": ["city"]}}


@pytest.fixture(scope="module")
def engine(model_cache):
    from openlive.engines.audio.voice_models import VoiceModels

    e = LocalEngine(voice=VoiceModels())  # TEXT replies: no speech model is loaded
    e.llm()
    return e


@pytest.fixture
async def server(engine):
    running = await start_server(engine, ServerConfig(), host="127.0.0.1", port=0)
    yield running
    await running.stop()


async def open_session(server, **setup):
    ws = await connect(server.ws_url + LIVE_PATH, max_size=None)
    await ws.send(json.dumps({"setup": {"model": MODEL, "generationConfig": TEXT, **setup}}))
    assert "setupComplete" in json.loads(await ws.recv())
    return ws


async def until(ws, predicate, timeout: float = 60) -> list[dict]:
    got: list[dict] = []
    async with asyncio.timeout(timeout):
        while True:
            got.append(json.loads(await ws.recv()))
            if predicate(got[-1]):
                return got


def turn_complete(m: dict) -> bool:
    return bool(m.get("serverContent", {}).get("turnComplete"))


def text_of(msgs: list[dict]) -> str:
    return "".join(p.get("text", "") for m in msgs
                   for p in m.get("serverContent", {}).get("modelTurn", {}).get("parts", []))


async def silent_for(ws, seconds: float) -> bool:
    try:
        async with asyncio.timeout(seconds):
            await ws.recv()
    except TimeoutError:
        return True
    return False


def test_invalid_arguments_are_named():
    schema = {"type": "object", "properties": {"minutes": {"type": "integer", "minimum": 1}},
              "required": ["minutes"]}
    assert invalid_arguments({"minutes": 5}, schema) is None
    assert "required" in invalid_arguments({}, schema)
    assert invalid_arguments({"minutes": "five"}, schema).startswith("minutes:")
    assert invalid_arguments({"minutes": 0}, schema).startswith("minutes:")


async def test_calls_have_unique_ids_and_are_not_repeated(server):
    ws = await open_session(server, tools=[{"functionDeclarations": [WEATHER, TIMER]}])
    ids = []
    for ask, name, arg, result in (
            ("What is the weather in Paris?", "get_weather", ("city", "Paris"),
             {"output": {"weather": "sunny, 21 degrees"}}),
            ("Set a timer for 5 minutes.", "set_timer", ("minutes", 5),
             {"output": "timer started"})):
        await ws.send(json.dumps({"realtimeInput": {"text": ask}}))
        msgs = await until(ws, lambda m: "toolCall" in m or turn_complete(m))
        (call,) = msgs[-1]["toolCall"]["functionCalls"]
        assert call["name"] == name and call["args"] == dict([arg])
        ids.append(call["id"])
        await ws.send(json.dumps({"toolResponse": {"functionResponses": [
            {"id": call["id"], "name": name, "response": result}]}}))
        msgs = await until(ws, lambda m: "toolCall" in m or turn_complete(m))
        assert turn_complete(msgs[-1])  # answered: the same call is not made again
        assert text_of(msgs).strip()
    await ws.close()
    assert len(set(ids)) == 2


async def test_non_blocking_call_and_scheduling(server):
    ws = await open_session(server, tools=[{"functionDeclarations": [SEARCH]}])
    await ws.send(json.dumps({"realtimeInput": {"text": "Find me flights to Rome."}}))
    msgs = await until(ws, turn_complete)
    (call,) = [c for m in msgs if "toolCall" in m for c in m["toolCall"]["functionCalls"]]
    assert call["name"] == "search_flights" and "rome" in call["args"]["city"].lower()
    assert text_of(msgs).strip()  # the turn went on without waiting for the result

    def answer(output: str, **fields) -> str:
        return json.dumps({"toolResponse": {"functionResponses": [{
            "id": call["id"], "name": "search_flights", "response": {"output": output},
            **fields}]}})

    await ws.send(answer("searching 3 airlines", scheduling="SILENT", willContinue=True))
    assert await silent_for(ws, 2.0)  # SILENT: into the context only
    await ws.send(answer("Cheapest flight: 89 euros on Friday", scheduling="WHEN_IDLE",
                         willContinue=False))
    msgs = await until(ws, turn_complete)
    spoken = text_of(msgs)
    assert "89" in spoken, spoken
    await ws.send(answer("late"))  # the generator has ended: ignored
    assert await silent_for(ws, 1.5)
    await ws.close()


async def test_interrupt_scheduling_cuts_in(server):
    ws = await open_session(server, tools=[{"functionDeclarations": [SEARCH]}],
                            generationConfig={**TEXT, "maxOutputTokens": 200})
    await ws.send(json.dumps({"realtimeInput": {"text": "Find me flights to Rome."}}))
    msgs = await until(ws, turn_complete)
    (call,) = [c for m in msgs if "toolCall" in m for c in m["toolCall"]["functionCalls"]]
    await ws.send(json.dumps({"realtimeInput": {
        "text": "Meanwhile, write a long poem about the sea."}}))
    await until(ws, lambda m: "modelTurn" in m.get("serverContent", {}))
    await ws.send(json.dumps({"toolResponse": {"functionResponses": [{
        "id": call["id"], "name": "search_flights", "scheduling": "INTERRUPT",
        "response": {"output": "Cheapest flight: 89 euros on Friday"}}]}}))
    msgs = await until(ws, lambda m: m.get("serverContent", {}).get("interrupted"))
    msgs = await until(ws, turn_complete)  # the interrupted turn ends...
    assert msgs[-1]["serverContent"] == {"turnComplete": True}
    msgs = await until(ws, turn_complete)  # ...and a new one speaks about the result
    await ws.close()
    assert "89" in text_of(msgs), text_of(msgs)


async def test_usage_metadata_counts_tokens_per_modality(server, engine):
    from openlive.engines.audio.llm import Usage

    ws = await open_session(server, systemInstruction={"parts": [{"text": "Be brief."}]})
    await ws.send(json.dumps({"realtimeInput": {"audio": {
        "data": "AAAA" * 8000, "mimeType": "audio/pcm;rate=16000"}}}))  # 0.75 s of silence
    await ws.send(json.dumps({"realtimeInput": {"text": "Say hello."}}))
    msgs = await until(ws, turn_complete)
    await ws.close()
    usage = msgs[-1]["usageMetadata"]
    # the same prompt, counted by llama.cpp itself
    counted = Usage()
    reply = "".join([d async for d in engine.llm().astream(
        [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Say hello."}],
        usage=counted, max_tokens=40, temperature=0)])
    assert reply.strip() == text_of(msgs).strip()
    assert usage["promptTokensDetails"] == [
        {"modality": "TEXT", "tokenCount": counted.prompt_tokens},
        {"modality": "AUDIO", "tokenCount": 24}]  # 0.75 s at 32 tokens a second
    assert usage["responseTokensDetails"] == [
        {"modality": "TEXT", "tokenCount": counted.completion_tokens}]
    assert usage["promptTokenCount"] == counted.prompt_tokens + 24
    assert usage["totalTokenCount"] == usage["promptTokenCount"] + usage["responseTokenCount"]
