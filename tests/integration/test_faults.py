"""The emulator's scripted behaviour on a real socket: goAway, close, delay, chunk cadence,
tool calls and barge-in during a pending call."""

from __future__ import annotations

import asyncio
import time

from live_client import (
    check_normal_turn,
    closed_with,
    open_live,
    recv,
    reply_audio,
    reply_text,
    say,
    send,
    setup,
    transcript,
    until_turn_complete,
)
from openlive.engines.emulator.placeholder import placeholder_pcm

#: The emulator's audio replies (gemini models answer in AUDIO only; without a speech
#: synthesiser the emulator speaks its placeholder voice, engines/emulator/placeholder.py).
AUDIO_MIME = "audio/pcm;rate=24000"


def audio_only(msg: dict) -> bool:
    """A modelTurn message of one placeholder audio part, and nothing else."""
    parts = msg.get("serverContent", {}).get("modelTurn", {}).get("parts", [])
    return (set(msg) == {"serverContent"} and set(msg["serverContent"]) == {"modelTurn"}
            and len(parts) == 1 and set(parts[0]) == {"inlineData"}
            and parts[0]["inlineData"]["mimeType"] == AUDIO_MIME)

SCRIPT = [
    {"match": "bye", "go_away": "10s", "say": "Goodbye soon."},
    {"match": "crash", "close": {"code": 1011, "reason": "Internal error encountered."}},
    {"match": "last words", "say": "Closing now.",
     "close": {"code": 1008, "reason": "Requested entity was not found."}},
    {"match": "slow", "delay": 0.4, "say": "Finally."},
    {"match": "stream", "say": "alpha beta gamma delta epsilon zeta eta theta",
     "chunk_chars": 11, "chunk_delay": 0.05},
    {"match": r"weather in (?P<city>\w+)", "call": {"name": "get_weather",
                                                   "args": {"city": "{city}"}},
     "say": "It is {result[summary]} in {city}."},
    {"match": "two tools", "call": [{"name": "a"}, {"name": "b"}],
     "say": "{results[a][v]}+{results[b][v]}"},
    {"match": "once", "say": "first answer", "times": 1},
    {"say": "You said: {text}"},
]


async def live_session(serve):
    server = await serve(script=SCRIPT)
    ws = await open_live(server)
    await setup(ws)
    return server, ws


async def test_go_away_comes_before_the_reply(serve):
    async with asyncio.timeout(10):
        _, ws = await live_session(serve)
        await say(ws, "bye for now")
        msgs = await until_turn_complete(ws)
        assert msgs[0] == {"goAway": {"timeLeft": "10s"}}
        check_normal_turn(msgs[1:])
        assert reply_text(msgs) == "Goodbye soon."
        # goAway is a warning, not a close: the session goes on
        await say(ws, "still here")
        assert reply_text(await until_turn_complete(ws)) == "You said: still here"
        await ws.close()


async def test_close_rule_closes_with_its_code_and_reason(serve):
    async with asyncio.timeout(10):
        _, ws = await live_session(serve)
        await say(ws, "please crash")
        assert await closed_with(ws) == (1011, "Internal error encountered.")


async def test_close_rule_after_a_reply(serve):
    async with asyncio.timeout(10):
        _, ws = await live_session(serve)
        await say(ws, "last words")
        # the reply's audio (one part an event on 2.5 models), then its transcript
        msgs = [await recv(ws)]
        while "outputTranscription" not in msgs[-1]["serverContent"]:
            msgs.append(await recv(ws))
        *audio, said = msgs
        assert audio and all(audio_only(m) for m in audio), msgs
        assert reply_audio(audio) == placeholder_pcm("Closing now.")
        assert said == {"serverContent": {"outputTranscription": {"text": "Closing now."}}}
        assert await closed_with(ws) == (1008, "Requested entity was not found.")


async def test_close_rule_affects_only_its_session(serve):
    async with asyncio.timeout(10):
        server, doomed = await live_session(serve)
        other = await open_live(server)
        await setup(other)
        await say(doomed, "crash")
        assert (await closed_with(doomed))[0] == 1011
        await say(other, "fine?")
        assert reply_text(await until_turn_complete(other)) == "You said: fine?"
        await other.close()


async def test_delay_holds_back_the_first_output(serve):
    async with asyncio.timeout(10):
        _, ws = await live_session(serve)
        started = time.monotonic()
        await say(ws, "slow one")
        first = await recv(ws)
        elapsed = time.monotonic() - started
        assert elapsed >= 0.35, elapsed
        assert first["serverContent"]["modelTurn"]["parts"][0]["inlineData"]["mimeType"] == (
            AUDIO_MIME)
        msgs = [first, *await until_turn_complete(ws)]
        check_normal_turn(msgs)
        assert transcript(msgs) == "Finally."
        await ws.close()


async def test_chunk_cadence_gives_several_model_turn_messages(serve):
    async with asyncio.timeout(10):
        _, ws = await live_session(serve)
        await say(ws, "stream it")
        arrivals: list[float] = []
        msgs: list[dict] = []
        while True:
            msg = await recv(ws)
            arrivals.append(time.monotonic())
            msgs.append(msg)
            if msg.get("serverContent", {}).get("turnComplete"):
                break
        check_normal_turn(msgs)
        # each chunk is spoken: its audio (modelTurn messages, one part each on 2.5 models),
        # then its text as an outputTranscription message
        said = [i for i, m in enumerate(msgs) if "outputTranscription" in m["serverContent"]]
        chunks = [msgs[i]["serverContent"]["outputTranscription"]["text"] for i in said]
        assert len(chunks) >= 4
        assert all(len(c) <= 11 for c in chunks)
        assert "".join(chunks) == "alpha beta gamma delta epsilon zeta eta theta"
        for start, end, chunk in zip([-1, *said[:-1]], said, chunks, strict=True):
            audio = msgs[start + 1:end]
            assert audio and all(audio_only(m) for m in audio), msgs
            assert reply_audio(audio) == placeholder_pcm(chunk)
        # the chunks are spread out in time, not sent in one burst
        spread = arrivals[said[-1]] - arrivals[said[0]]
        assert spread >= 0.05 * (len(chunks) - 1) * 0.8, spread
        await ws.close()


async def test_tool_call_waits_for_the_matching_tool_response(serve):
    async with asyncio.timeout(10):
        _, ws = await live_session(serve)
        await say(ws, "what's the weather in Paris?")
        call_msg = await recv(ws)
        (call,) = call_msg["toolCall"]["functionCalls"]
        assert call["name"] == "get_weather" and call["args"] == {"city": "Paris"}
        assert call["id"]

        # a response for another id is not an answer: nothing is said yet
        await send(ws, {"toolResponse": {"functionResponses": [
            {"id": call["id"] + "-other", "name": "get_weather",
             "response": {"summary": "wrong"}}]}})
        try:
            async with asyncio.timeout(0.3):
                unexpected = await recv(ws)
            raise AssertionError(f"reply before the tool response: {unexpected}")
        except TimeoutError:
            pass

        await send(ws, {"tool_response": {"function_responses": [
            {"id": call["id"], "name": "get_weather", "response": {"summary": "sunny"}}]}})
        msgs = await until_turn_complete(ws)
        check_normal_turn(msgs)
        assert reply_text(msgs) == "It is sunny in Paris."
        await ws.close()


async def test_several_tool_calls_need_every_response(serve):
    async with asyncio.timeout(10):
        _, ws = await live_session(serve)
        await say(ws, "two tools please")
        calls = (await recv(ws))["toolCall"]["functionCalls"]
        assert [c["name"] for c in calls] == ["a", "b"]
        assert len({c["id"] for c in calls}) == 2
        await send(ws, {"toolResponse": {"functionResponses": [
            {"id": calls[1]["id"], "name": "b", "response": {"v": 2}}]}})
        try:
            async with asyncio.timeout(0.3):
                unexpected = await recv(ws)
            raise AssertionError(f"reply before every tool response: {unexpected}")
        except TimeoutError:
            pass
        await send(ws, {"toolResponse": {"functionResponses": [
            {"id": calls[0]["id"], "name": "a", "response": {"v": 1}}]}})
        assert reply_text(await until_turn_complete(ws)) == "1+2"
        await ws.close()


async def test_client_content_during_a_pending_tool_call_cancels_it(serve):
    async with asyncio.timeout(10):
        _, ws = await live_session(serve)
        await say(ws, "weather in Oslo")
        (call,) = (await recv(ws))["toolCall"]["functionCalls"]
        await say(ws, "actually, never mind")
        assert await recv(ws) == {"serverContent": {"interrupted": True}}
        assert await recv(ws) == {"toolCallCancellation": {"ids": [call["id"]]}}
        assert await recv(ws) == {"serverContent": {"turnComplete": True}}
        msgs = await until_turn_complete(ws)
        check_normal_turn(msgs)
        assert reply_text(msgs) == "You said: actually, never mind"
        # a late answer to the cancelled call is ignored
        await send(ws, {"toolResponse": {"functionResponses": [
            {"id": call["id"], "name": "get_weather", "response": {"summary": "late"}}]}})
        await say(ws, "next")
        assert reply_text(await until_turn_complete(ws)) == "You said: next"
        await ws.close()


async def test_barge_in_during_a_streaming_reply(serve):
    async with asyncio.timeout(10):
        _, ws = await live_session(serve)
        await say(ws, "stream it")
        first = await recv(ws)
        assert "modelTurn" in first["serverContent"]
        await send(ws, {"realtimeInput": {"text": "stop"}})
        msgs = await until_turn_complete(ws)
        # everything up to the interruption may still be model output, then exactly:
        cut = msgs.index({"serverContent": {"interrupted": True}})
        assert all(set(m["serverContent"]) <= {"modelTurn", "outputTranscription"}
                   and len(m["serverContent"]) == 1 for m in msgs[:cut])
        assert msgs[cut + 1:] == [{"serverContent": {"turnComplete": True}}]
        assert {"serverContent": {"generationComplete": True}} not in msgs
        # the next turn answers the barge-in, and no stale chunk leaks into it
        msgs = await until_turn_complete(ws)
        check_normal_turn(msgs)
        assert reply_text(msgs) == "You said: stop"
        await ws.close()


async def test_times_is_counted_per_session(serve):
    async with asyncio.timeout(10):
        server, ws = await live_session(serve)
        await say(ws, "once")
        assert reply_text(await until_turn_complete(ws)) == "first answer"
        await say(ws, "once")
        assert reply_text(await until_turn_complete(ws)) == "You said: once"
        await ws.close()
        fresh = await open_live(server)
        await setup(fresh)
        await say(fresh, "once")
        assert reply_text(await until_turn_complete(fresh)) == "first answer"
        await fresh.close()


async def test_close_reason_longer_than_a_close_frame_is_cut(serve):
    # a close frame holds 123 bytes of reason; a longer one would break the client's socket
    # (1002 "control frame too long") instead of reporting the script's close code
    long_reason = "é" * 100  # 200 bytes, cut on a character boundary
    server = await serve(script=[{"close": {"code": 1011, "reason": long_reason}}])
    async with asyncio.timeout(10):
        ws = await open_live(server)
        await setup(ws)
        await say(ws, "anything")
        code, reason = await closed_with(ws)
        assert code == 1011
        assert reason == "é" * 61 and len(reason.encode()) == 122


async def test_no_interruption_answers_the_next_turn_after_the_current_one(serve):
    server = await serve(script=SCRIPT)
    async with asyncio.timeout(10):
        ws = await open_live(server)
        await setup(ws, realtimeInputConfig={"activityHandling": "NO_INTERRUPTION"})
        await send(ws, {"realtimeInput": {"text": "stream it"}})
        first = await recv(ws)
        assert "modelTurn" in first["serverContent"]
        await send(ws, {"realtimeInput": {"text": "queued question"}})
        msgs = [first, *await until_turn_complete(ws)]
        check_normal_turn(msgs)  # not interrupted
        assert reply_text(msgs) == "alpha beta gamma delta epsilon zeta eta theta"
        nxt = await until_turn_complete(ws)
        check_normal_turn(nxt)
        assert reply_text(nxt) == "You said: queued question"
        # and nothing else follows (no empty extra turn)
        try:
            async with asyncio.timeout(0.3):
                extra = await recv(ws)
            raise AssertionError(f"unexpected message: {extra}")
        except TimeoutError:
            pass
        await ws.close()


async def test_go_away_deadline_closes_with_1011_when_time_runs_out(serve):
    server = await serve(script=[{"match": "leave", "go_away": 0.5, "say": "ok"},
                                 {"say": "You said: {text}"}])
    async with asyncio.timeout(10):
        ws = await open_live(server)
        await setup(ws)
        started = time.monotonic()
        await say(ws, "leave")
        msgs = await until_turn_complete(ws)
        assert msgs[0] == {"goAway": {"timeLeft": "0.5s"}}
        assert reply_text(msgs) == "ok"
        # the session is still usable until the deadline
        await say(ws, "quick one")
        assert reply_text(await until_turn_complete(ws)) == "You said: quick one"
        code, reason = await closed_with(ws)
        # Google's exact text, checked literally here only (elsewhere: errors.DEADLINE_EXCEEDED)
        assert (code, reason) == (1011, "Deadline expired before operation could complete.")
        assert time.monotonic() - started >= 0.45


async def test_a_closed_connection_leaves_no_go_away_timer_behind(serve):
    """An engine's goAway schedules the close when timeLeft runs out; a connection that
    closes first (here: a malformed frame, 1007) leaves nothing waiting for that deadline
    (issue 11, bug 4: the close task held the connection for the whole timeLeft)."""
    server = await serve(script=[{"match": "leave", "go_away": "600s", "say": "ok"},
                                 {"say": "You said: {text}"}])
    before = asyncio.all_tasks()
    async with asyncio.timeout(10):
        ws = await open_live(server)
        await setup(ws)
        await say(ws, "leave")
        msgs = await until_turn_complete(ws)
        assert msgs[0] == {"goAway": {"timeLeft": "600s"}}
        await ws.send("{not json")
        code, _ = await closed_with(ws)
        assert code == 1007
        while server.live.active:
            await asyncio.sleep(0.01)
        for _ in range(250):  # the handler's own task winds down (the bug's: 600 s)
            left = [t for t in asyncio.all_tasks() - before if not t.done()
                    and t is not asyncio.current_task()]
            if not left:
                break
            await asyncio.sleep(0.02)
    assert not left, [t.get_coro() for t in left]
