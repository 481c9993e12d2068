"""The official Python SDK (google-genai) through the relay: client -> relay openlive (its
own key) -> upstream openlive (the server-held key). google-genai always dials wss://, so
the relay serves TLS here."""

from __future__ import annotations

import asyncio
import ssl
from typing import Any

import pytest
from google import genai
from google.genai import errors, types

from live_client import CLIENT_KEY, MODEL_NAME

pytestmark = pytest.mark.interop

# Live models answer in AUDIO only (issue 12): the app reads the words of the reply from
# its transcript, as Google documents
AUDIO_OUT: dict[str, Any] = {"response_modalities": ["AUDIO"], "output_audio_transcription": {}}
TIMEOUT = 15
WEATHER = [{"match": r"weather in (?P<city>\w+)",
            "call": {"name": "get_weather", "args": {"city": "{city}"}},
            "say": "It is {result[summary]} in {city}."},
           {"match": "bye", "go_away": "9s", "say": "bye"},
           {"match": "crash", "close": {"code": 1011, "reason": "upstream failed on purpose"}},
           {"say": "You said: {text}"}]


def sdk_client(chain: Any, *, api_key: str = CLIENT_KEY) -> genai.Client:
    ctx = ssl.create_default_context(cafile=chain.tls_cert)
    return genai.Client(api_key=api_key, http_options={
        "base_url": chain.relay.http_url, "api_version": "v1beta",
        "async_client_args": {"ssl": ctx}})


def said(msg: types.LiveServerMessage) -> str:
    """The transcript of the model's audio in one message."""
    content = msg.server_content
    if content is None or content.output_transcription is None:
        return ""
    return content.output_transcription.text or ""


def audio(msg: types.LiveServerMessage) -> bytes:
    """The model's audio in one message (24 kHz PCM parts only, no text parts)."""
    content = msg.server_content
    parts = content.model_turn.parts or [] if content and content.model_turn else []
    assert all(p.inline_data and p.inline_data.mime_type == "audio/pcm;rate=24000"
               for p in parts), parts
    return b"".join(p.inline_data.data or b"" for p in parts if p.inline_data)


async def turn_text(session: Any) -> str:
    """One turn: its transcript, once its audio has come."""
    messages = [m async for m in session.receive()]
    assert b"".join(map(audio, messages))
    return "".join(map(said, messages))


async def test_text_turn_and_tool_call(chain):
    c = await chain(script=WEATHER, relay_tls=True)
    async with asyncio.timeout(TIMEOUT):
        async with sdk_client(c).aio.live.connect(model=MODEL_NAME, config=AUDIO_OUT) as session:
            assert session.setup_complete is not None
            await session.send_client_content(
                turns=types.Content(role="user", parts=[types.Part(text="Hello relay")]))
            assert await turn_text(session) == "You said: Hello relay"
            await session.send_realtime_input(text="weather in Oslo")
            calls, text, heard = [], [], b""
            async for msg in session.receive():
                if msg.tool_call:
                    calls.extend(msg.tool_call.function_calls)
                    await session.send_tool_response(function_responses=[
                        {"id": fc.id, "name": fc.name, "response": {"summary": "snowing"}}
                        for fc in msg.tool_call.function_calls])
                text.append(said(msg))
                heard += audio(msg)
            assert [(fc.name, fc.args) for fc in calls] == [("get_weather", {"city": "Oslo"})]
            assert "".join(text) == "It is snowing in Oslo." and heard


async def test_go_away_and_close_codes(chain):
    c = await chain(script=WEATHER, relay_tls=True)
    client = sdk_client(c)
    async with asyncio.timeout(TIMEOUT):
        async with client.aio.live.connect(model=MODEL_NAME, config=AUDIO_OUT) as session:
            await session.send_realtime_input(text="bye")
            messages = [m async for m in session.receive()]
            assert messages[0].go_away is not None and messages[0].go_away.time_left == "9s"
            await session.send_realtime_input(text="crash")
            with pytest.raises(errors.APIError) as info:
                await turn_text(session)
        assert info.value.code == 1011 and "upstream failed on purpose" in str(info.value)
        with pytest.raises(errors.APIError) as info:
            async with client.aio.live.connect(model="no-such-model", config=AUDIO_OUT):
                pytest.fail("the upstream refuses an unknown model")
        assert info.value.code == 1008
        assert "models/no-such-model is not found for API version v1beta" in str(info.value)
        with pytest.raises(errors.APIError) as info:
            async with sdk_client(c, api_key="not-a-relay-key").aio.live.connect(
                    model=MODEL_NAME, config=AUDIO_OUT):
                pytest.fail("the relay refuses a key it does not know")
        assert info.value.code == 1007


async def test_resumption(chain):
    c = await chain(relay_tls=True)
    client = sdk_client(c)
    config = {**AUDIO_OUT, "session_resumption": {}}
    handle = None
    async with asyncio.timeout(TIMEOUT):
        async with client.aio.live.connect(model=MODEL_NAME, config=config) as session:
            await session.send_realtime_input(text="first")
            assert await turn_text(session) == "You said: first"
            async for msg in session.receive():
                update = msg.session_resumption_update
                if update and update.resumable and update.new_handle:
                    handle = update.new_handle
                    break
        assert handle
        resumed = {**AUDIO_OUT, "session_resumption": {"handle": handle}}
        async with client.aio.live.connect(model=MODEL_NAME, config=resumed) as session:
            await session.send_realtime_input(text="second")
            assert await turn_text(session) == "You said: second"
        stored = await c.upstream.live.store.load_session(handle, 0.0)
        assert stored is not None  # the upstream holds the session, not the relay
        assert await c.relay.live.store.load_session(handle, 0.0) is None
