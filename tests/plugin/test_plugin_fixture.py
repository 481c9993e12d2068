"""The ``live_server`` fixture used directly in this suite (the plugin is installed)."""

from __future__ import annotations

import asyncio
import json
import ssl
import subprocess
import sys
import urllib.error
import urllib.request

import pytest
import websockets
from google.genai import errors, types

from openlive.engines.emulator import EmulatorEngine
from openlive.testing import LiveTestServer, running_live_server, start_live_server

# openlive's own model, where TEXT replies stay allowed: these tests are about mechanics,
# not Google fidelity (gemini Live models answer in AUDIO only)
MODEL_NAME = "openlive-emulator"
MODEL = "models/" + MODEL_NAME
TEXT = {"response_modalities": ["TEXT"]}
TIMEOUT = 10


async def converse(server: LiveTestServer, *texts: str, api_key: str = "test") -> list[str]:
    replies = []
    client = server.genai_client(api_key=api_key)
    async with client.aio.live.connect(model=MODEL_NAME, config=TEXT) as session:
        for text in texts:
            await session.send_client_content(
                turns=types.Content(role="user", parts=[types.Part(text=text)]))
            replies.append("".join([m.text or "" async for m in session.receive()]))
    return replies


def test_a_sync_test_gets_a_running_tls_server(live_server):
    assert live_server.url.startswith("https://127.0.0.1:")
    assert live_server.ws_url == "wss" + live_server.url[len("https"):]
    with urllib.request.urlopen(live_server.url + "/healthz",
                                context=live_server.ssl_context) as resp:
        assert json.load(resp)["engine"] == "emulator"
    assert live_server.sessions == []


async def test_the_default_engine_is_the_emulator(live_server):
    async with asyncio.timeout(TIMEOUT):
        assert await converse(live_server, "hello") == ["You said: hello"]
        [session] = await live_server.await_closed()
    assert session.kinds() == ["setup", "clientContent"]
    assert session.setup == {"model": MODEL,
                             "generationConfig": {"responseModalities": ["TEXT"]}}
    assert session.texts() == ["hello"]
    assert session.replies() == ["You said: hello"]
    assert session.close_code == 1000
    assert session.info["auth"] == "api_key"


@pytest.mark.openlive(script=[{"match": "one", "say": "first"}, {"say": "other"}])
async def test_the_marker_sets_the_script(live_server):
    async with asyncio.timeout(TIMEOUT):
        assert await converse(live_server, "one", "two") == ["first", "other"]
        assert await converse(live_server, "one") == ["first"]
        sessions = await live_server.await_closed()
    assert [s.texts() for s in sessions] == [["one", "two"], ["one"]]


@pytest.mark.parametrize("live_server", [{"script": [{"say": "A"}]},
                                         {"script": [{"say": "B"}]}], indirect=True)
@pytest.mark.openlive(script=[{"say": "from the marker"}])
async def test_a_parameter_wins_over_the_marker(live_server, request):
    expected = request.node.callspec.params["live_server"]["script"][0]["say"]
    async with asyncio.timeout(TIMEOUT):
        assert await converse(live_server, "x") == [expected]


@pytest.mark.openlive(engine=EmulatorEngine)
async def test_any_engine_or_engine_factory(live_server):
    assert isinstance(live_server.engine, EmulatorEngine)
    async with asyncio.timeout(TIMEOUT):
        assert await converse(live_server, "hi") == ["You said: hi"]


@pytest.mark.openlive(script=[{"match": "weather", "call": {"name": "get_weather",
                                                            "args": {"city": "Paris"}},
                               "say": "{result[summary]}"}])
async def test_tool_responses_are_observed(live_server):
    client = live_server.genai_client()
    config = {"response_modalities": ["TEXT"], "tools": [{"function_declarations": [
        {"name": "get_weather", "parameters": {"type": "OBJECT"}}]}]}
    async with asyncio.timeout(TIMEOUT):
        async with client.aio.live.connect(model=MODEL_NAME, config=config) as session:
            await session.send_realtime_input(text="weather?")
            text = ""
            async for message in session.receive():  # the tool call, then the reply
                text += message.text or ""
                if message.tool_call:
                    call = message.tool_call.function_calls[0]
                    await session.send_tool_response(function_responses=[
                        types.FunctionResponse(id=call.id, name=call.name,
                                               response={"summary": "sunny"})])
        [observed] = await live_server.await_closed()
    assert text == "sunny"
    [response] = observed.tool_responses()
    assert response["name"] == "get_weather" and response["response"] == {"summary": "sunny"}
    assert observed.kinds() == ["setup", "realtimeInput", "toolResponse"]


async def test_messages_are_normalised_and_bad_frames_kept(live_server):
    async with asyncio.timeout(TIMEOUT):
        async with websockets.connect(live_server.live_url, ssl=live_server.ssl_context) as ws:
            await ws.send(json.dumps({"setup": {
                "model": "models/gemini-2.5-flash-native-audio-preview-12-2025",
                "generation_config": {"temperature": 0.5}}}))
            await ws.recv()
            await ws.send(json.dumps({"realtime_input": {"audio": {
                "mime_type": "audio/pcm;rate=16000", "data": "AA-_AA-_"}}}))  # URL-safe base64
            await ws.send("{not json")
            with pytest.raises(websockets.ConnectionClosed):
                while True:
                    await ws.recv()
        [session] = await live_server.await_closed()
    assert session.client == [
        {"setup": {"model": "models/gemini-2.5-flash-native-audio-preview-12-2025",
                   "generationConfig": {"temperature": 0.5}}},
        {"realtimeInput": {"audio": {"mimeType": "audio/pcm;rate=16000", "data": "AA+/AA+/"}}},
        {"invalid": "{not json"},
    ]
    assert session.close_code == 1007
    assert session.server == [{"setupComplete": {}}]


@pytest.mark.openlive(api_keys=["right"])
async def test_server_config_fields_pass_through(live_server):
    async with asyncio.timeout(TIMEOUT):
        with pytest.raises(errors.APIError):
            await converse(live_server, "hi", api_key="wrong")
        assert await converse(live_server, "hi", api_key="right") == ["You said: hi"]


@pytest.mark.openlive(tls=False)
async def test_plain_websocket_without_tls(live_server):
    assert live_server.ws_url.startswith("ws://") and live_server.ssl_context is None
    async with asyncio.timeout(TIMEOUT):
        async with websockets.connect(live_server.live_url) as ws:
            await ws.send(json.dumps(
                {"setup": {"model": "models/gemini-2.5-flash-native-audio-preview-12-2025"}}))
            assert json.loads(await ws.recv()) == {"setupComplete": {}}


def test_outside_pytest_start_and_stop():
    with running_live_server(script=[{"say": "ok"}]) as server:
        url = server.url
        with urllib.request.urlopen(url + "/healthz", context=server.ssl_context):
            pass
    with pytest.raises(OSError):
        urllib.request.urlopen(url + "/healthz", context=server.ssl_context, timeout=2)
    server = start_live_server(tls=False)
    server.stop()
    server.stop()  # idempotent


def test_many_servers_are_cheap():
    import time
    t0 = time.perf_counter()
    for _ in range(20):
        start_live_server().stop()
    assert (time.perf_counter() - t0) / 20 < 0.1  # about 0.3 ms each when measured


def test_genai_client_without_the_sdk_says_what_to_install():
    code = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'google' or name.startswith('google.'):\n"
        "            raise ImportError('no ' + name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "from openlive.testing import start_live_server\n"
        "server = start_live_server()\n"
        "try:\n"
        "    server.genai_client()\n"
        "except RuntimeError as exc:\n"
        "    print('ERROR:', exc)\n"
        "finally:\n"
        "    server.stop()\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60)
    assert "ERROR: live_server.genai_client() needs the official SDK: pip install google-genai" \
        in out.stdout, out.stderr


def test_the_client_context_trusts_only_the_test_certificate(live_server):
    with pytest.raises(urllib.error.URLError) as failed:
        urllib.request.urlopen(live_server.url + "/healthz",
                               context=ssl.create_default_context(), timeout=5)
    assert isinstance(failed.value.reason, ssl.SSLCertVerificationError)


@pytest.mark.openlive(script=[{"say": "Hello there."}], voice=False)
async def test_the_transcript_of_each_audio_turn_is_observed(live_server):
    """gemini-3.8-live answers in AUDIO: ``transcripts()`` is what it said, per turn."""
    client = live_server.genai_client()
    config = {"response_modalities": ["AUDIO"], "output_audio_transcription": {}}
    async with asyncio.timeout(TIMEOUT):
        async with client.aio.live.connect(model="gemini-3.8-live", config=config) as session:
            for text in ("one", "two"):
                await session.send_realtime_input(text=text)
                [m async for m in session.receive()]
        [observed] = await live_server.await_closed()
    assert observed.transcripts() == ["Hello there.", "Hello there."]
    assert observed.replies() == ["", ""]  # no text parts: the reply is audio
