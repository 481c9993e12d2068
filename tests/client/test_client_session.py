"""The library against a real openlive server on loopback (emulator engine)."""

from __future__ import annotations

import asyncio

import pytest

from openlive.client import LiveConnectError, LiveSession, LiveSessionClosed, connect
from openlive.wire import ServerMessage, errors


async def until_turn_complete(session: LiveSession) -> list[ServerMessage]:
    got = []
    async for message in session:
        got.append(message)
        if message.server_content and message.server_content.turn_complete:
            return got
    raise AssertionError("session ended before turnComplete")


def text_of(messages: list[ServerMessage]) -> str:
    return "".join(m.server_content.model_turn.text() for m in messages
                   if m.server_content and m.server_content.model_turn)


async def test_text_turns_and_iteration_does_not_stop_at_turn_complete(serve) -> None:
    async with asyncio.timeout(10):
        server = await serve(api_keys=["k"])
        async with connect("gemini-2.0-flash-exp", base_url=server.http_url, api_key="k",
                           modality="TEXT") as session:
            first = await session.receive()
            assert first.setup_complete is not None
            await session.send_text("hello")
            assert text_of(await until_turn_complete(session)) == "You said: hello"
            # the same iterator keeps going after turnComplete (unlike google-genai receive())
            await session.send_realtime_text("again")
            assert text_of(await until_turn_complete(session)) == "You said: again"


async def test_text_frames_and_tls(serve, client_ssl) -> None:
    async with asyncio.timeout(10):
        server = await serve(tls=True, binary_frames=False)
        async with connect("gemini-2.0-flash-exp", base_url=server.http_url, ssl=client_ssl,
                           modality="TEXT") as session:
            await session.send_text("over tls")
            assert text_of(await until_turn_complete(session)) == "You said: over tls"


async def test_refusals_carry_googles_code_and_reason(serve) -> None:
    async with asyncio.timeout(10):
        server = await serve(api_keys=["good"])
        with pytest.raises(LiveConnectError) as bad_key:
            await connect("gemini-2.0-flash-exp", base_url=server.http_url, api_key="bad")
        assert bad_key.value.code == 1007
        assert bad_key.value.reason == errors.API_KEY_INVALID
        with pytest.raises(LiveConnectError) as no_key:
            await connect("gemini-2.0-flash-exp", base_url=server.http_url)
        assert no_key.value.code == 1008
        assert no_key.value.reason == errors.cut_reason(errors.UNREGISTERED_CALLER)
        with pytest.raises(LiveConnectError) as bad_model:
            await connect("no-such-model", base_url=server.http_url, api_key="good")
        assert bad_model.value.code == 1008
        assert "models/no-such-model is not found" in bad_model.value.reason


async def test_scripted_close_ends_iteration_with_code_and_reason(serve) -> None:
    script = [{"match": "crash", "say": "bye", "close": {"code": 1011,
                                                         "reason": "Internal error encountered."}}]
    async with asyncio.timeout(10):
        server = await serve(script=script)
        async with connect("gemini-2.0-flash-exp", base_url=server.http_url,
                           modality="TEXT") as session:
            await session.send_text("crash now")
            seen = []
            with pytest.raises(LiveSessionClosed) as info:
                async for message in session:
                    seen.append(message)
            assert info.value.code == 1011
            assert info.value.reason == "Internal error encountered."
            assert text_of(seen) == "bye"
            with pytest.raises(LiveSessionClosed):
                await session.send_text("too late")


async def test_go_away_is_delivered_and_the_session_goes_on(serve) -> None:
    script = [{"match": "first", "go_away": "10s", "say": "still here", "times": 1},
              {"say": "You said: {text}"}]
    async with asyncio.timeout(10):
        server = await serve(script=script)
        async with connect("gemini-2.0-flash-exp", base_url=server.http_url, modality="TEXT",
                           resumption=True) as session:
            await session.send_text("first")
            turn = await until_turn_complete(session)
            assert [m.go_away.time_left for m in turn if m.go_away] == ["10s"]
            assert text_of(turn) == "still here"
            # the server gave a resumption handle: the client resumes on a new connection
            await session.send_text("second")
            second = await until_turn_complete(session)
            assert text_of(second) == "You said: second"
            assert session.reconnects == 1
            # the resumed session kept its history: the prompt holds the first exchange
            # ("first", "still here") as well as "second" (2 tokens on its own)
            (usage,) = [m.usage_metadata for m in second if m.usage_metadata]
            assert usage.prompt_token_count >= 2 + 2 + 3


async def test_streamed_chunks_arrive_in_order(serve) -> None:
    script = [{"say": "one two three four five six", "chunk_chars": 5, "chunk_delay": 0.01}]
    async with asyncio.timeout(10):
        server = await serve(script=script)
        async with connect("gemini-2.0-flash-exp", base_url=server.http_url,
                           modality="TEXT") as session:
            await session.send_text("go")
            turn = await until_turn_complete(session)
            parts = [m for m in turn if m.server_content and m.server_content.model_turn]
            assert len(parts) > 3
            assert text_of(turn) == "one two three four five six"


async def test_manual_activity_and_media_helpers(serve) -> None:
    config = {"realtimeInputConfig": {"automaticActivityDetection": {"disabled": True}}}
    async with asyncio.timeout(10):
        server = await serve()
        async with connect("gemini-2.0-flash-exp", base_url=server.http_url, modality="TEXT",
                           config=config) as session:
            await session.send_activity_start()
            await session.send_audio(b"\x00\x00" * 1600)
            await session.send_video_frame(b"\xff\xd8\xff\xe0fakejpeg")
            await session.send_activity_end()
            await session.send_text("after media")
            assert text_of(await until_turn_complete(session)) == "You said: after media"


async def test_activity_start_with_vad_on_is_refused_by_the_server(serve) -> None:
    async with asyncio.timeout(10):
        server = await serve()
        async with connect("gemini-2.0-flash-exp", base_url=server.http_url) as session:
            await session.send_activity_start()
            with pytest.raises(LiveSessionClosed) as info:
                async for _ in session:
                    pass
            assert info.value.code == 1007
            assert "Explicit activity control" in info.value.reason


async def test_close_is_idempotent_and_ends_iteration(serve) -> None:
    async with asyncio.timeout(10):
        server = await serve()
        session = await connect("gemini-2.0-flash-exp", base_url=server.http_url)
        await session.close()
        await session.close()
        assert [m async for m in session][0].setup_complete is not None  # queued before close
