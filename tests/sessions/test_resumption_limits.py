"""Resumption, connection lifetime and session limits on a real server (raw WebSocket)."""

from __future__ import annotations

import asyncio

from live_client import (
    MODEL,
    OTHER_MODEL,
    WEATHER,
    closed_with,
    handles,
    open_live,
    recv,
    reply_text,
    resumable_turn,
    send,
    setup,
    turn,
    until,
    until_handle,
)
from openlive.session.limits import Limits
from openlive.wire import errors

NO_LIMITS = Limits.none()


async def test_resume_continues_the_conversation(serve) -> None:
    server = await serve(limits=NO_LIMITS)
    async with asyncio.timeout(15):
        ws = await open_live(server)
        first = await setup(ws, sessionResumption={})
        [h0] = handles(first)
        assert len(h0) == 36
        msgs = await resumable_turn(ws, "remember the word banana")
        upd = [m["sessionResumptionUpdate"] for m in msgs if "sessionResumptionUpdate" in m]
        assert upd[0] == {"resumable": False} and upd[-1]["resumable"] is True
        [h1] = handles(msgs)
        first_prompt = next(m for m in msgs if "usageMetadata" in m)["usageMetadata"]
        await ws.close()

        ws2 = await open_live(server)
        got = await setup(ws2, sessionResumption={"handle": h1})
        assert got[0] == {"setupComplete": {}} and handles(got)[0] not in (h0, h1)
        msgs = await resumable_turn(ws2, "what was the word")
        assert reply_text(msgs) == "You said: what was the word"
        usage = next(m for m in msgs if "usageMetadata" in m)["usageMetadata"]
        # the prompt holds the earlier turns: more tokens than the first turn's prompt
        assert usage["promptTokenCount"] > first_prompt["promptTokenCount"] + 5
        stored = await server.live.store.load_session(handles(msgs)[0], 0.0)
        assert [c["parts"][0]["text"] for c in stored["history"]][0] == "remember the word banana"
        await ws2.close()
        ws3 = await open_live(server)  # an older handle resumes the latest state too
        await setup(ws3, sessionResumption={"handle": h0})
        msgs = await resumable_turn(ws3, "third")
        usage3 = next(m for m in msgs if "usageMetadata" in m)["usageMetadata"]
        assert usage3["promptTokenCount"] > usage["promptTokenCount"]
        await ws3.close()


async def test_pending_tool_call_survives_a_dropped_connection(serve) -> None:
    server = await serve(script=WEATHER, limits=NO_LIMITS)
    async with asyncio.timeout(15):
        ws = await open_live(server)
        [h0] = handles(await setup(ws, sessionResumption={}))
        await send(ws, {"clientContent": {"turns": [{"role": "user", "parts": [
            {"text": "weather in Paris"}]}], "turnComplete": True}})
        msgs = await until(ws, "toolCall")
        call = msgs[-1]["toolCall"]["functionCalls"][0]
        await ws.close()  # the app restarts before answering
        await asyncio.sleep(0.1)

        ws2 = await open_live(server)
        got = await setup(ws2, sessionResumption={"handle": h0})
        assert got[1] == {"sessionResumptionUpdate": {"resumable": False}}
        await send(ws2, {"toolResponse": {"functionResponses": [
            {"id": call["id"], "name": call["name"], "response": {"summary": "sunny"}}]}})
        msgs = await until_handle(ws2)
        assert reply_text(msgs) == "It is sunny in Paris."
        assert handles(msgs)  # resumable again once the turn is over
        await ws2.close()


async def test_stale_expired_and_wrong_model_handles(serve) -> None:
    server = await serve(limits=Limits(connection_lifetime=None, session_audio=None,
                                       handle_ttl=0.3))
    async with asyncio.timeout(15):
        ws = await open_live(server)
        await send(ws, {"setup": {"model": MODEL,
                                  "sessionResumption": {"handle": "no-such-handle"}}})
        assert await closed_with(ws) == (1008, errors.SESSION_NOT_FOUND)

        ws = await open_live(server)
        [h] = handles(await setup(ws, sessionResumption={}))
        await ws.close()
        ws = await open_live(server)
        await send(ws, {"setup": {"model": OTHER_MODEL,
                                  "sessionResumption": {"handle": h}}})
        assert await closed_with(ws) == (1007, errors.INVALID_ARGUMENT)

        await asyncio.sleep(0.5)  # past the 0.3 s handle lifetime
        ws = await open_live(server)
        await send(ws, {"setup": {"model": MODEL,
                                  "sessionResumption": {"handle": h}}})
        assert await closed_with(ws) == (1008, errors.SESSION_NOT_FOUND)


async def test_connection_lifetime_go_away_then_close(serve) -> None:
    server = await serve(limits=Limits(connection_lifetime=1.5, go_away_before=1.0,
                                       session_audio=None))
    async with asyncio.timeout(10):
        ws = await open_live(server)
        await setup(ws)
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        msg = await recv(ws, timeout=3)
        assert msg == {"goAway": {"timeLeft": "1s"}}
        assert await closed_with(ws, timeout=3) == (1011, errors.DEADLINE_EXCEEDED)
        assert 0.7 < loop.time() - t0 < 2.5


async def test_session_limits_audio_video_and_compression(serve) -> None:
    server = await serve(limits=Limits(connection_lifetime=None, go_away_before=0.2,
                                       session_audio=1.2, session_video=0.5))
    async with asyncio.timeout(15):
        loop = asyncio.get_running_loop()
        audio = await open_live(server)
        await setup(audio)
        video = await open_live(server)
        await setup(video)
        compressed = await open_live(server)
        await setup(compressed, contextWindowCompression={"slidingWindow": {}})
        t0 = loop.time()
        await send(video, {"realtimeInput": {"video": {"mimeType": "image/jpeg",
                                                       "data": "/9j/4AAQ"}}})
        assert (await recv(video))["goAway"] == {"timeLeft": "0s"}
        assert await closed_with(video) == (1011, errors.DEADLINE_EXCEEDED)
        t_video = loop.time() - t0
        assert "goAway" in await recv(audio, timeout=3)
        assert await closed_with(audio) == (1011, errors.DEADLINE_EXCEEDED)
        t_audio = loop.time() - t0
        assert t_video < 0.9 < t_audio < 2.5
        # with contextWindowCompression there is no session limit: still serving
        msgs = await turn(compressed, "still here?")
        assert reply_text(msgs) == "You said: still here?"
        await compressed.close()


async def test_context_window_compression_bounds_the_prompt(serve) -> None:
    server = await serve(limits=NO_LIMITS)
    async with asyncio.timeout(15):
        ws = await open_live(server)
        await setup(ws, contextWindowCompression={"triggerTokens": 60,
                                                  "slidingWindow": {"targetTokens": 30}})
        prompts = []
        for i in range(8):
            msgs = await turn(ws, f"turn {i} " + "words " * 8)
            prompts.append(next(m for m in msgs if "usageMetadata" in m)
                           ["usageMetadata"]["promptTokenCount"])
        assert max(prompts) <= 60 + 30  # never far past the trigger
        assert prompts[-1] < prompts[3] + 20
        await ws.close()


async def test_a_handle_resumes_only_under_the_key_that_opened_it(serve) -> None:
    """Issue 13: key two resumed key one's session and answered its pending tool call."""
    server = await serve(api_keys=["key-one", "key-two"], limits=NO_LIMITS)
    async with asyncio.timeout(15):
        ws = await open_live(server, key="key-one")
        [h] = handles(await setup(ws, sessionResumption={}))
        await ws.close()
        ws = await open_live(server, key="key-two")
        await send(ws, {"setup": {"model": MODEL, "sessionResumption": {"handle": h}}})
        assert await closed_with(ws) == (1008, errors.SESSION_NOT_FOUND)
        ws = await open_live(server, key="key-one")
        got = await setup(ws, sessionResumption={"handle": h})
        assert got[0] == {"setupComplete": {}}
        await ws.close()


async def test_a_socket_that_sends_no_setup_is_closed(serve) -> None:
    """Issue 13: WebSockets that never sent setup lived until the connection lifetime
    (forever with --connection-lifetime 0)."""
    server = await serve(limits=Limits(connection_lifetime=None, session_audio=None,
                                       setup_timeout=1.0))
    async with asyncio.timeout(15):
        ws = await open_live(server)
        assert await closed_with(ws) == (1011, errors.DEADLINE_EXCEEDED)
        ws = await open_live(server)  # a setup in time: the session lives on
        await setup(ws)
        await asyncio.sleep(1.2)  # past the setup timeout: no deadline once set up
        assert reply_text(await turn(ws, "still here")) == "You said: still here"
        await ws.close()
