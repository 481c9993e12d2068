"""What the client sends on the wire, checked by a local listener standing in for Google's
endpoint (path, query, headers, setup frame), and how it reports refusals."""

from __future__ import annotations

import asyncio

import pytest
from client_listener import Listener, ListenerConnection

from openlive.client import LiveConnectError, connect
from openlive.wire import Setup
from openlive.wire.endpoints import live_path

PATH = live_path("v1beta")  # the literal paths are checked once, in test_client_url.py
CONSTRAINED = live_path("v1alpha", constrained=True)


async def test_google_style_handshake_with_key(listen) -> None:
    async def handler(conn: ListenerConnection) -> None:
        await conn.setup_complete()

    async with asyncio.timeout(10):
        listener: Listener = await listen(handler)
        async with connect("gemini-2.5-flash-native-audio-preview-12-2025", api_key="KEY-1",
                           base_url=listener.http_url, modality="TEXT",
                           system_instruction="be brief", headers={"x-test": "yes"}):
            pass
    conn = listener.connections[0]
    assert conn.path == PATH
    assert conn.raw_query == "key=KEY-1"
    assert conn.headers["x-test"] == "yes"
    assert conn.headers["user-agent"].startswith("openlive-client/")
    assert "x-goog-api-key" not in conn.headers
    assert conn.frames[0].data == {"setup": {
        "model": "models/gemini-2.5-flash-native-audio-preview-12-2025",
        "generationConfig": {"responseModalities": ["TEXT"]},
        "systemInstruction": {"role": "user", "parts": [{"text": "be brief"}]},
    }}


async def test_ephemeral_token_handshake(listen) -> None:
    async def handler(conn: ListenerConnection) -> None:
        await conn.setup_complete()

    async with asyncio.timeout(10):
        listener = await listen(handler)
        async with connect("gemini-2.0-flash-exp", token="auth_tokens/t-1",
                           base_url=listener.http_url):
            pass
    conn = listener.connections[0]
    assert conn.path == CONSTRAINED
    assert conn.raw_query == "access_token=auth_tokens/t-1"
    assert conn.frames[0].data == {"setup": {"model": "models/gemini-2.0-flash-exp"}}


async def test_typed_config_and_prefix_path(listen) -> None:
    async def handler(conn: ListenerConnection) -> None:
        await conn.setup_complete()

    config = Setup.model_validate({
        "generation_config": {"response_modalities": ["AUDIO"],
                              "speech_config": {"voice_config": {
                                  "prebuilt_voice_config": {"voice_name": "Kore"}}}},
        "realtimeInputConfig": {"automaticActivityDetection": {"disabled": True}},
    })
    async with asyncio.timeout(10):
        listener = await listen(handler)
        async with connect("models/gemini-2.0-flash-exp", base_url=listener.http_url + "/proxy/",
                           config=config, input_transcription=True, resumption=True,
                           key_in_header=True, api_key="K"):
            pass
    conn = listener.connections[0]
    assert conn.path == "/proxy" + PATH
    assert conn.headers["x-goog-api-key"] == "K"
    assert conn.raw_query == ""
    assert conn.frames[0].data == {"setup": {
        "model": "models/gemini-2.0-flash-exp",
        "generationConfig": {"responseModalities": ["AUDIO"], "speechConfig": {
            "voiceConfig": {"prebuiltVoiceConfig": {"voiceName": "Kore"}}}},
        "realtimeInputConfig": {"automaticActivityDetection": {"disabled": True}},
        "sessionResumption": {},
        "inputAudioTranscription": {},
    }}


async def test_close_before_setup_complete_raises_code_and_reason(listen) -> None:
    async def handler(conn: ListenerConnection) -> None:
        await conn.recv()
        await conn.close(1008, "models/gemini-2.0-flash-exp is not found for API version v1beta")

    async with asyncio.timeout(10):
        listener = await listen(handler)
        with pytest.raises(LiveConnectError) as info:
            await connect("gemini-2.0-flash-exp", base_url=listener.http_url)
    assert info.value.code == 1008
    assert info.value.reason == "models/gemini-2.0-flash-exp is not found for API version v1beta"
    assert "1008 models/gemini-2.0-flash-exp is not found" in str(info.value)


async def test_http_refusal_is_a_connect_error(listen) -> None:
    async def handler(conn: ListenerConnection) -> None:
        raise AssertionError("not reached")

    async with asyncio.timeout(10):
        listener = await listen(handler)
        with pytest.raises(LiveConnectError) as info:
            await connect("gemini-2.0-flash-exp", base_url=listener.http_url + "/not-a-live-path",
                          api_key="SECRET")
    # the prefix is kept, so the path ends in the live path: the listener refuses by prefix
    assert info.value.status == 404
    assert "SECRET" not in str(info.value)


async def test_nothing_listening_is_a_connect_error() -> None:
    async with asyncio.timeout(10):
        with pytest.raises(LiveConnectError, match="cannot connect"):
            await connect("gemini-2.0-flash-exp", base_url="http://127.0.0.1:9", connect_timeout=3)


async def test_no_setup_complete_times_out(listen) -> None:
    async def handler(conn: ListenerConnection) -> None:
        await conn.recv()
        await asyncio.sleep(5)

    async with asyncio.timeout(10):
        listener = await listen(handler)
        with pytest.raises(LiveConnectError, match="no setupComplete"):
            await connect("gemini-2.0-flash-exp", base_url=listener.http_url, connect_timeout=0.5)
