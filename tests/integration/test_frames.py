"""Frames on a real socket: binary by default (like Google), text on request, both accepted
from clients; only SDK-known top-level keys; pings answered; the SDKs' URL shapes."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from live_client import (
    MODEL,
    SDK_KEYS,
    TIMEOUT,
    check_normal_turn,
    closed_with,
    open_live,
    recv,
    reply_audio,
    reply_text,
    say,
    send,
    setup,
    until_turn_complete,
)

# Live models answer in AUDIO only: a raw setup asks for the transcript of that audio, which
# reply_text reads (as live_client.setup does).
SETUP = {"setup": {"model": MODEL, "outputAudioTranscription": {}}}


async def raw_turn(ws, text: str) -> list[str | bytes]:
    """The raw frames of one turn (setup already done)."""
    await say(ws, text)
    frames: list[str | bytes] = []
    async with asyncio.timeout(TIMEOUT):
        while True:
            frame = await ws.recv()
            frames.append(frame)
            if json.loads(frame).get("serverContent", {}).get("turnComplete"):
                return frames


async def test_server_frames_are_binary_by_default(serve):
    server = await serve()
    async with asyncio.timeout(10):
        ws = await open_live(server)
        await send(ws, SETUP)
        first = await asyncio.wait_for(ws.recv(), TIMEOUT)
        assert isinstance(first, bytes)
        assert json.loads(first.decode("utf-8")) == {"setupComplete": {}}
        frames = await raw_turn(ws, "binary please")
        assert len(frames) >= 3
        assert all(isinstance(f, bytes) for f in frames)
        msgs = [json.loads(f) for f in frames]
        check_normal_turn(msgs)
        assert reply_text(msgs) == "You said: binary please"
        assert reply_audio(msgs)
        await ws.close()


async def test_server_frames_are_text_when_asked(serve):
    server = await serve(binary_frames=False)
    async with asyncio.timeout(10):
        ws = await open_live(server)
        await send(ws, SETUP)
        first = await asyncio.wait_for(ws.recv(), TIMEOUT)
        assert isinstance(first, str) and json.loads(first) == {"setupComplete": {}}
        frames = await raw_turn(ws, "text please")
        assert all(isinstance(f, str) for f in frames)
        msgs = [json.loads(f) for f in frames]
        assert reply_text(msgs) == "You said: text please"
        assert reply_audio(msgs)
        await ws.close()


@pytest.mark.parametrize("binary", [False, True])
async def test_client_text_and_binary_frames_are_both_accepted(serve, binary):
    server = await serve()
    async with asyncio.timeout(10):
        ws = await open_live(server)
        await send(ws, SETUP, binary=binary)
        assert await recv(ws) == {"setupComplete": {}}
        await say(ws, "ünïcode ✓", binary=binary)
        msgs = await until_turn_complete(ws)
        assert reply_text(msgs) == "You said: ünïcode ✓"
        assert reply_audio(msgs)
        # mixing both kinds in one session works too
        await send(ws, {"realtimeInput": {"text": "mixed"}}, binary=not binary)
        assert reply_text(await until_turn_complete(ws)) == "You said: mixed"
        await ws.close()


async def test_every_server_message_uses_only_sdk_known_top_level_keys(serve):
    server = await serve(script=[
        {"match": "tool", "call": {"name": "lookup", "args": {"q": "{text}"}},
         "say": "found {result[answer]}"},
        {"match": "leave", "go_away": "30s", "say": "bye"},
        {"say": "You said: {text}"},
    ])
    seen: set[str] = set()
    async with asyncio.timeout(10):
        ws = await open_live(server)
        await send(ws, SETUP)
        seen |= set(json.loads(await ws.recv()))
        for text in ("hello", "leave now"):
            await say(ws, text)
            async with asyncio.timeout(TIMEOUT):
                while True:
                    msg = json.loads(await ws.recv())
                    seen |= set(msg)
                    if msg.get("serverContent", {}).get("turnComplete"):
                        break
        await say(ws, "tool time")
        call = json.loads(await ws.recv())
        seen |= set(call)
        await say(ws, "interrupting")  # interrupted + toolCallCancellation + turnComplete
        async with asyncio.timeout(TIMEOUT):
            turn_completes = 0
            while turn_completes < 2:
                msg = json.loads(await ws.recv())
                seen |= set(msg)
                turn_completes += bool(msg.get("serverContent", {}).get("turnComplete"))
        await ws.close()
    assert seen <= SDK_KEYS
    assert {"setupComplete", "serverContent", "toolCall", "toolCallCancellation", "goAway",
            "usageMetadata"} <= seen


async def test_pings_are_answered_promptly(serve):
    server = await serve(script=[
        {"match": "slow", "say": "a b c d e f g h", "chunk_chars": 2, "chunk_delay": 0.1},
    ])
    async with asyncio.timeout(10):
        ws = await open_live(server)
        # before setup
        started = time.monotonic()
        pong = await ws.ping(b"before-setup")
        async with asyncio.timeout(1):
            await pong
        assert time.monotonic() - started < 1
        await setup(ws)
        # while the model is generating
        await say(ws, "slow")
        turn = asyncio.create_task(until_turn_complete(ws))
        for i in range(3):
            pong = await ws.ping(f"during-{i}".encode())
            async with asyncio.timeout(1):
                latency = await pong
            assert latency < 1
            await asyncio.sleep(0.05)
        assert not turn.done()
        check_normal_turn(await turn)
        await ws.close()


@pytest.mark.parametrize("path", [
    "//ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent",
    "/ws/google.ai.generativelanguage.v1.GenerativeService.BidiGenerateContent",
    "//ws/google.ai.generativelanguage.v1alpha.GenerativeService.BidiGenerateContent",
    "/prefix/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent",
    "/ws/google.ai.generativelanguage.v1alpha.GenerativeService."
    "BidiGenerateContentConstrained",
])
async def test_sdk_url_shapes_reach_the_live_endpoint(serve, path):
    server = await serve()
    async with asyncio.timeout(10):
        ws = await open_live(server, path=path, query="key=anything")
        await setup(ws)
        await say(ws, "shape")
        assert reply_text(await until_turn_complete(ws)) == "You said: shape"
        await ws.close()


async def test_api_version_is_echoed_in_not_found_reasons(serve):
    server = await serve()
    async with asyncio.timeout(10):
        ws = await open_live(
            server, path="//ws/google.ai.generativelanguage.v1alpha.GenerativeService."
                         "BidiGenerateContent")
        await send(ws, {"setup": {"model": "claude-3"}})
        code, reason = await closed_with(ws)
        assert code == 1008
        assert reason.startswith("models/claude-3 is not found for API version v1alpha")


@pytest.mark.parametrize("path", [
    "/ws/google.ai.generativelanguage.v2.GenerativeService.BidiGenerateContent",
    "/ws/somewhere/else",
    "/v1beta/modelz",
])
async def test_websocket_on_other_paths_is_refused(serve, path):
    server = await serve()
    async with asyncio.timeout(10):
        with pytest.raises(InvalidStatus) as info:
            await connect(server.ws_url + path, open_timeout=TIMEOUT)
        assert info.value.response.status_code == 404


async def test_setup_fields_the_emulator_ignores_are_still_accepted(serve):
    server = await serve()
    async with asyncio.timeout(10):
        ws = await open_live(server)
        # AUDIO: gemini models refuse TEXT replies (session/models.py)
        await setup(ws, generation_config={"response_modalities": ["AUDIO"], "top_k": 40.0,
                                           "speech_config": {"voice_config": {
                                               "prebuilt_voice_config": {"voice_name": "Puck"}}}},
                    realtimeInputConfig={"automatic_activity_detection": {
                        "prefix_padding_ms": 20, "silence_duration_ms": 100}},
                    contextWindowCompression={"trigger_tokens": "25600",
                                              "sliding_window": {}},
                    inputAudioTranscription={}, outputAudioTranscription={})
        # realtime audio is accepted (the emulator does not listen to it)
        await send(ws, {"realtime_input": {"audio": {"mime_type": "audio/pcm;rate=16000",
                                                     "data": "AAAAAA_-"}}})
        await send(ws, {"realtimeInput": {"text": "typed"}})
        msgs = await until_turn_complete(ws)
        assert reply_text(msgs) == "You said: typed"
        assert reply_audio(msgs)
        await ws.close()


@pytest.mark.parametrize("compression", [True, False])
async def test_permessage_deflate_on_and_off(serve, compression):
    server = await serve(compression=compression)
    async with asyncio.timeout(10):
        ws = await open_live(server)  # the websockets client offers permessage-deflate
        names = [ext.name for ext in ws.protocol.extensions]
        assert names == (["permessage-deflate"] if compression else [])
        await setup(ws)
        await say(ws, "x" * 5000)
        assert reply_text(await until_turn_complete(ws)) == "You said: " + "x" * 5000
        await ws.close()
