"""Bad input closes only the session that sent it, with Google's code and reason; other
sessions carry on and the server keeps accepting new ones."""

from __future__ import annotations

import asyncio
import base64
import os

from live_client import (
    MODEL,
    check_normal_turn,
    closed_with,
    open_live,
    recv,
    reply_text,
    say,
    send,
    setup,
    until_turn_complete,
)
from openlive.wire import errors

MAX_BYTES = 64 * 1024
SLOW_REPLY = "one two three four five six seven eight"
SCRIPT = [
    {"match": "^slow$", "say": SLOW_REPLY, "chunk_chars": 5, "chunk_delay": 0.15},
    {"say": "You said: {text}"},
]
UNEXPECTED_TOKEN = errors.INVALID_JSON + "Unexpected token."


async def bad_malformed_json(ws):
    await ws.send('{"setup": {"model": ')
    return 1007, UNEXPECTED_TOKEN


async def bad_binary_garbage(ws):
    await ws.send(b"\xff\xfe\x80\x00garbage\xc3")
    return 1007, UNEXPECTED_TOKEN


async def bad_empty_frame(ws):
    await ws.send("")
    return 1007, UNEXPECTED_TOKEN


async def bad_root(ws):
    await ws.send('[{"setup": {}}]')
    return 1007, errors.INVALID_JSON + 'Unknown name "": Root element must be a message.'


async def bad_unknown_field(ws):
    await send(ws, {"setup": {"model": MODEL, "speechConfig": {}}})
    return 1007, (errors.INVALID_JSON
                  + 'Unknown name "speechConfig" at \'setup\': Cannot find field.')


async def bad_non_setup_first(ws):
    await say(ws, "hello")
    # Google's exact text, checked literally here only (elsewhere: errors.SETUP_ORDER)
    return 1007, "setup must be the first message and only the first"


async def bad_second_setup(ws):
    await setup(ws)
    await send(ws, {"setup": {"model": MODEL}})
    return 1007, errors.SETUP_ORDER


async def bad_unknown_model(ws):
    await send(ws, {"setup": {"model": "models/gpt-4o-realtime"}})
    return 1008, errors.cut_reason(errors.model_not_found("models/gpt-4o-realtime", "v1beta"))


async def bad_both_modalities(ws):
    await send(ws, {"setup": {"model": MODEL,
                              "generationConfig": {"responseModalities": ["AUDIO", "TEXT"]}}})
    return 1007, errors.INVALID_ARGUMENT


async def bad_two_kinds(ws):
    await setup(ws)
    await send(ws, {"clientContent": {"turns": []}, "realtimeInput": {"text": "x"}})
    return 1007, errors.INVALID_ARGUMENT


async def bad_activity_with_vad(ws):
    await setup(ws)
    await send(ws, {"realtimeInput": {"activityStart": {}}})
    return 1007, errors.EXPLICIT_ACTIVITY_WITH_VAD


async def bad_tool_response_without_id(ws):
    await setup(ws)
    await send(ws, {"toolResponse": {"functionResponses": [{"name": "f", "response": {}}]}})
    return 1007, errors.INVALID_ARGUMENT


async def bad_huge_frame(ws):
    await setup(ws)
    # incompressible, so permessage-deflate cannot hide the size
    blob = base64.b64encode(os.urandom(MAX_BYTES)).decode()
    await send(ws, {"realtimeInput": {"text": blob}})
    return 1009, None


BAD = [bad_malformed_json, bad_binary_garbage, bad_empty_frame, bad_root, bad_unknown_field,
       bad_non_setup_first, bad_second_setup, bad_unknown_model, bad_both_modalities,
       bad_two_kinds, bad_activity_with_vad, bad_tool_response_without_id, bad_huge_frame]


async def run_bad(server, case):
    ws = await open_live(server)
    try:
        expected = await case(ws)
        got = await closed_with(ws)
        return case.__name__, expected, got
    finally:
        await ws.close()


async def test_bad_input_never_disturbs_other_sessions(serve):
    server = await serve(script=SCRIPT, max_message_bytes=MAX_BYTES)
    async with asyncio.timeout(20):
        a = await open_live(server)
        await setup(a)
        await say(a, "slow")
        first = await recv(a)  # A's reply has started streaming
        a_turn = asyncio.create_task(until_turn_complete(a, timeout=10))
        assert first["serverContent"]["modelTurn"]["parts"][0]["text"]

        results = await asyncio.gather(*(run_bad(server, case) for case in BAD))
        assert not a_turn.done(), "A's reply should still be streaming"
        for name, (code, reason), (got_code, got_reason) in results:
            assert got_code == code, (name, got_code, got_reason)
            if reason is not None:
                assert got_reason == reason, (name, got_reason)
            assert len(got_reason.encode()) <= 123

        rest = await a_turn
        check_normal_turn([first, *rest])
        assert reply_text([first, *rest]) == SLOW_REPLY

        # A is still usable for another turn
        await say(a, "again")
        assert reply_text(await until_turn_complete(a)) == "You said: again"
        await a.close()

        # and the server still accepts new sessions
        b = await open_live(server)
        await setup(b)
        await say(b, "after the storm")
        msgs = await until_turn_complete(b)
        check_normal_turn(msgs)
        assert reply_text(msgs) == "You said: after the storm"
        await b.close()


async def test_many_bad_sessions_in_a_row_leave_the_server_healthy(serve):
    server = await serve(max_message_bytes=MAX_BYTES)
    async with asyncio.timeout(20):
        for _ in range(3):
            results = await asyncio.gather(*(run_bad(server, case) for case in BAD))
            assert all(got[0] == expected[0] for _, expected, got in results), results
        ws = await open_live(server)
        await setup(ws)
        await say(ws, "still alive?")
        assert reply_text(await until_turn_complete(ws)) == "You said: still alive?"
        await ws.close()
        # every closed session has been let go
        for _ in range(50):
            if not server.live.active:
                break
            await asyncio.sleep(0.02)
        assert not server.live.active
