"""The LLM stage over HTTP (OpenAILLM) against a real OpenAI-compatible server: llama.cpp's
own HTTP server (xllamacpp.Server binds a loopback port) serving the shipped GGUF, in a
separate process."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
import urllib.request

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosedError

from live_client import free_port
from openlive.engines.audio.llm import Usage
from openlive.engines.audio.openai_llm import LLMEndpointError, OpenAILLM
from openlive.engines.audio.voice_models import VoiceModels
from openlive.engines.local import LocalEngine
from openlive.server.app import ServerConfig
from openlive.server.run import start_server

# These tests read the local engine's text answers: gemini models answer in AUDIO only (a TEXT
# setup is refused, session/models.py); openlive's own model still allows TEXT.
LOCAL_TEXT_MODEL = "models/openlive-local"

SERVE = """
import sys, xllamacpp as xlc
from openlive.engines.audio.models import llm_model_path
p = xlc.CommonParams(); p.model.path = str(llm_model_path(cache=sys.argv[2])); p.n_ctx = 4096
p.cpuparams.n_threads = p.cpuparams_batch.n_threads = 2; p.use_jinja = True
p.offline = True; p.verbosity = -1; p.port = int(sys.argv[1])
server = xlc.Server(p)
print(server.listening_address, flush=True)
sys.stdin.read()  # serve until the test closes stdin
"""
TOOLS = [{"name": "get_weather", "description": "Current weather for a city",
          "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                         "required": ["city"]}},
         {"name": "set_timer", "description": "Start a countdown timer",
          "parameters": {"type": "object", "properties": {"minutes": {"type": "integer"}},
                         "required": ["minutes"]}}]


@pytest.fixture(scope="module")
def llm_url(model_cache):
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-c", SERVE, str(port), str(model_cache)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        address = proc.stdout.readline().strip()
        assert address.startswith("http://127.0.0.1:"), address
        url = f"http://127.0.0.1:{port}/v1"
        deadline = time.monotonic() + 30
        while True:  # up once /health answers
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2)
                break
            except OSError:
                assert time.monotonic() < deadline, "llama.cpp server did not start"
                time.sleep(0.2)
        yield url
    finally:
        proc.stdin.close()
        proc.terminate()
        proc.wait(10)


def test_check_lists_models_and_refuses_unreachable(llm_url):
    assert OpenAILLM(llm_url).check()
    with pytest.raises(LLMEndpointError, match=r"cannot reach the LLM endpoint http://127"):
        OpenAILLM(f"http://127.0.0.1:{free_port()}/v1").check(timeout=2)


async def test_stream_and_tool_choice_over_http(llm_url):
    llm = OpenAILLM(llm_url)
    try:
        usage = Usage()
        deltas = [d async for d in llm.astream([{"role": "user", "content": "Say hello."}],
                                               usage=usage, max_tokens=12, temperature=0)]
        assert len(deltas) >= 2 and "".join(deltas).strip()
        assert usage.prompt_tokens > 5 and 2 <= usage.completion_tokens <= 12
        choice = await llm.achoose_tool(
            [{"role": "user", "content": "What is the weather in Paris?"}], TOOLS)
        assert choice.name == "get_weather" and choice.arguments == {"city": "Paris"}
        none = await llm.achoose_tool([{"role": "user", "content": "Hello there!"}], TOOLS)
        assert none.name is None
    finally:
        await llm.aclose()


async def test_unreachable_endpoint_at_turn_time_closes_1011(model_cache):
    engine = LocalEngine(voice=VoiceModels(),
                         llm=OpenAILLM(f"http://127.0.0.1:{free_port()}/v1"))
    server = await start_server(engine, ServerConfig(), host="127.0.0.1", port=0)
    try:
        ws = await connect(server.ws_url + "/ws/google.ai.generativelanguage.v1beta."
                           "GenerativeService.BidiGenerateContent")
        await ws.send(json.dumps({"setup": {
            "model": LOCAL_TEXT_MODEL,
            "generationConfig": {"responseModalities": ["TEXT"]}}}))
        await ws.recv()
        await ws.send(json.dumps({"realtimeInput": {"text": "Hi"}}))
        with pytest.raises(ConnectionClosedError):
            async with asyncio.timeout(20):
                async for _ in ws:
                    pass
        assert ws.close_code == 1011  # engine failure: Google's internal-error close
    finally:
        await server.stop()
        await engine.aclose()


async def test_engine_over_http_calls_tools_and_counts_tokens(llm_url):
    engine = LocalEngine(voice=VoiceModels(), llm=OpenAILLM(llm_url))
    server = await start_server(engine, ServerConfig(), host="127.0.0.1", port=0)
    try:
        ws = await connect(server.ws_url + "/ws/google.ai.generativelanguage.v1beta."
                           "GenerativeService.BidiGenerateContent")
        await ws.send(json.dumps({"setup": {
            "model": LOCAL_TEXT_MODEL,
            "generationConfig": {"responseModalities": ["TEXT"], "maxOutputTokens": 40,
                                 "temperature": 0},
            "tools": [{"functionDeclarations": [{
                "name": "get_weather", "description": "Current weather for a city",
                "parameters": {"type": "OBJECT", "properties": {"city": {"type": "STRING"}},
                               "required": ["city"]}}]}]}}))
        await ws.recv()
        await ws.send(json.dumps({"realtimeInput": {"text": "What is the weather in Paris?"}}))
        async with asyncio.timeout(60):
            while "toolCall" not in (msg := json.loads(await ws.recv())):
                pass
            (call,) = msg["toolCall"]["functionCalls"]
            assert call["name"] == "get_weather" and call["args"] == {"city": "Paris"}
            await ws.send(json.dumps({"toolResponse": {"functionResponses": [{
                "id": call["id"], "name": "get_weather",
                "response": {"output": "sunny, 21 degrees"}}]}}))
            text = ""
            while not (msg := json.loads(await ws.recv())).get("serverContent", {}).get(
                    "turnComplete"):
                for part in msg.get("serverContent", {}).get("modelTurn", {}).get("parts", []):
                    text += part.get("text", "")
        await ws.close()
        assert "21" in text or "sunny" in text.lower(), text
        usage = msg["usageMetadata"]
        assert usage["promptTokensDetails"][0]["modality"] == "TEXT"
        assert usage["promptTokenCount"] > 20 and usage["toolUsePromptTokenCount"] > 20
        assert usage["responseTokensDetails"][0]["tokenCount"] == usage["responseTokenCount"]
    finally:
        await server.stop()
        await engine.aclose()
