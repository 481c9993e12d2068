"""--engine replay: a session recorded against the emulator with google-genai, replayed to the
same SDK code: the same server messages with the recorded timing (or faster), fresh
resumption handles, and a clear close when the app does something else."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import time

import pytest
from google.genai import errors, types

from openlive.engines.options import EngineOptionError, add_engine_arguments, build_engine
from openlive.engines.replay import DIVERGED, ReplayEngine
from openlive.recording import Recorder, read_recording
from openlive.testing import LiveTestServer, start_live_server

# openlive's own model, where TEXT replies stay allowed: these tests are about mechanics,
# not Google fidelity (gemini Live models answer in AUDIO only)
MODEL = "models/openlive-emulator"

CONFIG = {"response_modalities": ["TEXT"], "session_resumption": {},
          "tools": [{"function_declarations": [{"name": "get_weather"}]}]}
SCRIPT = [{"match": r"weather in (?P<city>\w+)", "delay": 0.2,
           "call": {"name": "get_weather", "args": {"city": "{city}"}},
           "say": "It is {result[summary]} in {city}.", "chunk_chars": 6, "chunk_delay": 0.05},
          {"say": "You said: {text}", "delay": 0.1}]
TIMEOUT = 15


async def weather_app(server: LiveTestServer, *questions: str) -> list[str]:
    """A small Live app: asks its questions, answers weather lookups, returns the replies."""
    client = server.genai_client()
    answers = []
    async with client.aio.live.connect(model=MODEL, config=CONFIG) as session:
        for question in questions:
            await session.send_client_content(
                turns=types.Content(role="user", parts=[types.Part(text=question)]))
            answer = []
            while not answer:
                async for message in session.receive():
                    if message.text:
                        answer.append(message.text)
                    if message.tool_call:
                        await session.send_tool_response(function_responses=[
                            types.FunctionResponse(id=c.id, name=c.name,
                                                   response={"summary": "sunny"})
                            for c in message.tool_call.function_calls])
            answers.append("".join(answer))
    return answers


def run_app(server: LiveTestServer, *questions: str) -> list[str]:
    async def go() -> list[str]:
        async with asyncio.timeout(TIMEOUT):
            answers = await weather_app(server, *questions)
            await server.await_closed()
            return answers
    return asyncio.run(go())


def server_lines(directory) -> list[dict]:
    [path] = directory.glob("*.jsonl")
    return [r for r in read_recording(path) if r["direction"] == "server"]


def reply_delays(directory) -> list[float]:
    """Each server message's delay after the client message before it: the timing a replay
    keeps (when the client sends is the client's own pace: a cold SDK in the recording
    run, a warm one in the replay)."""
    [path] = directory.glob("*.jsonl")
    delays, last = [], 0.0
    for r in read_recording(path):
        if r["direction"] == "client":
            last = r["t"]
        elif r["direction"] == "server":
            delays.append(r["t"] - last)
    return delays


def without_handles(lines: list[dict]) -> list[dict]:
    out = []
    for r in lines:
        message = json.loads(json.dumps(r["message"]))
        update = message.get("sessionResumptionUpdate")
        if update and "newHandle" in update:
            update["newHandle"] = "*"
        out.append(message)
    return out


@pytest.fixture(scope="module")
def recorded(tmp_path_factory) -> tuple:
    """One session of the app against the emulator, recorded."""
    directory = tmp_path_factory.mktemp("recorded")
    server = start_live_server(script=SCRIPT, observer=Recorder(directory))
    try:
        answers = run_app(server, "What is the weather in Paris?", "thanks")
    finally:
        server.stop()
    assert answers == ["It is sunny in Paris.", "You said: thanks"]
    return directory, answers


def replay(directory, tmp_path, *args: str) -> LiveTestServer:
    """`serve --engine replay --recordings DIR ARGS` as the serve parser reads it."""
    parser = argparse.ArgumentParser()
    add_engine_arguments(parser)
    engine = build_engine(parser.parse_args(
        ["--engine", "replay", "--recordings", str(directory), *args]))
    return start_live_server(engine=engine, observer=Recorder(tmp_path))


def test_a_replay_sends_the_recorded_messages_with_the_recorded_timing(recorded, tmp_path):
    directory, answers = recorded
    server = replay(directory, tmp_path)
    try:
        assert run_app(server, "What is the weather in Paris?", "thanks") == answers
        [session] = server.sessions
        assert session.close_code == 1000
    finally:
        server.stop()
    before, after = server_lines(directory), server_lines(tmp_path)
    assert without_handles(after) == without_handles(before)
    assert [next(iter(r["message"])) for r in after][:2] == ["setupComplete",
                                                            "sessionResumptionUpdate"]
    assert any("toolCall" in r["message"] for r in after)
    for a, b, message in zip(reply_delays(directory), reply_delays(tmp_path), after,
                             strict=True):  # same timing, within scheduling noise
        assert abs(a - b) < 0.2, (a, b, message)
    assert after[-1]["t"] > 0.4  # the recorded delays (0.2 s + 3 x 0.05 s + 0.1 s) were kept
    # handles are this server's own: not the recorded digests, and each one fresh
    handles = [r["message"]["sessionResumptionUpdate"]["newHandle"] for r in before + after
               if r["message"].get("sessionResumptionUpdate", {}).get("newHandle")]
    assert handles and all(h.startswith("sha256:") for h in handles)  # as recorded, hidden
    sent = [m["sessionResumptionUpdate"]["newHandle"] for m in session.server
            if m.get("sessionResumptionUpdate", {}).get("newHandle")]
    assert sent and not any(h.startswith("sha256:") for h in sent)
    assert len(set(sent)) == len(sent)


@pytest.mark.parametrize(("speed", "longest"), [("max", 0.15), ("4", 0.3)])
def test_speed(recorded, tmp_path, speed, longest):
    directory, answers = recorded
    server = replay(directory, tmp_path, "--speed", speed)
    try:
        t0 = time.monotonic()
        assert run_app(server, "What is the weather in Paris?", "thanks") == answers
        took = time.monotonic() - t0
    finally:
        server.stop()
    recorded_t = server_lines(directory)[-1]["t"]
    replayed_t = server_lines(tmp_path)[-1]["t"]
    assert replayed_t < longest < recorded_t, (replayed_t, recorded_t, took)


def test_a_divergent_app_is_closed_with_what_was_expected_and_what_came(recorded, tmp_path,
                                                                         caplog):
    directory, _ = recorded
    server = replay(directory, tmp_path, "--speed", "max")
    caplog.set_level(logging.WARNING, "openlive.replay")
    try:
        with pytest.raises(errors.APIError) as caught:
            run_app(server, "What is the weather in Paris?", "no thanks")
        [session] = server.wait_closed()
    finally:
        server.stop()
    assert session.close_code == DIVERGED == caught.value.code == 4409
    reason = str(caught.value).split(". ", 1)[1]  # "4409 None. <reason>"
    assert reason == ('replay: clientContent.turns[0].parts[0].text: expected "thanks", '
                      'got "no thanks"'), reason
    assert len(reason.encode()) <= 123
    [line] = [r.getMessage() for r in caplog.records if "diverged" in r.getMessage()]
    assert "client message 3 after the setup" in line  # clientContent, toolResponse, this
    assert '"text": "thanks"' in line and '"text": "no thanks"' in line  # the whole of both


def test_a_setup_no_recording_has_is_refused_naming_the_difference(recorded, tmp_path):
    directory, _ = recorded
    server = replay(directory, tmp_path, "--speed", "max")

    async def other_setup() -> None:
        client = server.genai_client()
        async with client.aio.live.connect(model=MODEL, config={
                **CONFIG, "response_modalities": ["AUDIO"]}) as session:
            async for _ in session.receive():
                pass
    try:
        with pytest.raises(errors.APIError) as caught:
            asyncio.run(asyncio.wait_for(other_setup(), TIMEOUT))
    finally:
        server.stop()
    assert caught.value.code == DIVERGED
    assert str(caught.value).split(". ", 1)[1] == (
        'replay: setup generationConfig.responseModalities[0]: expected "TEXT", got "AUDIO"')


def test_a_resumption_handle_of_the_replay_resumes_the_recorded_resumed_session(tmp_path):
    """Record a session and its resumption; replay: the replay's own handle picks the
    recording of the resumed session."""
    record_dir = tmp_path / "rec"
    server = start_live_server(observer=Recorder(record_dir))

    async def first_then_resume(server: LiveTestServer) -> list[str]:
        client = server.genai_client()
        replies = []
        handle = None
        async with client.aio.live.connect(model=MODEL, config=CONFIG) as session:
            await session.send_realtime_input(text="one")
            async for message in session.receive():
                if message.text:
                    replies.append(message.text)
                update = message.session_resumption_update
                if update and update.new_handle:
                    handle = update.new_handle
        resumed = {**CONFIG, "session_resumption": {"handle": handle}}
        async with client.aio.live.connect(model=MODEL, config=resumed) as session:
            await session.send_realtime_input(text="two")
            async for message in session.receive():
                if message.text:
                    replies.append(message.text)
        await server.await_closed()
        return replies

    try:
        recorded_replies = asyncio.run(asyncio.wait_for(first_then_resume(server), TIMEOUT))
    finally:
        server.stop()
    assert recorded_replies == ["You said: one", "You said: two"]
    assert len(list(record_dir.glob("*.jsonl"))) == 2
    engine = ReplayEngine(record_dir, speed=0)
    assert [r.handle is None for r in engine.recordings] == [True, False]
    server = start_live_server(engine=engine)
    try:
        assert asyncio.run(asyncio.wait_for(first_then_resume(server), TIMEOUT)) == [
            "You said: one", "You said: two"]
        assert [s.close_code for s in server.sessions] == [1000, 1000]
    finally:
        server.stop()


def test_bad_options_are_clear(tmp_path):
    parser = argparse.ArgumentParser()
    add_engine_arguments(parser)
    with pytest.raises(EngineOptionError, match="needs --recordings DIR"):
        build_engine(parser.parse_args(["--engine", "replay"]))
    with pytest.raises(EngineOptionError, match="no recordings"):
        build_engine(parser.parse_args(["--engine", "replay", "--recordings", str(tmp_path)]))
    with pytest.raises(SystemExit):
        parser.parse_args(["--engine", "replay", "--speed", "fast"])


def test_the_openlive_client_does_not_resume_after_a_divergence(recorded, tmp_path):
    """4409 is a deliberate close: a resuming client reports it instead of reconnecting."""
    from openlive.client import LiveSessionClosed, connect

    directory, _ = recorded
    server = replay(directory, tmp_path, "--speed", "max")

    async def app() -> None:
        async with asyncio.timeout(TIMEOUT):
            async with connect(MODEL, base_url=server.url, ssl=server.ssl_context,
                               config={"generation_config": {"response_modalities": ["TEXT"]},
                                       "tools": CONFIG["tools"]},
                               resumption=True) as session:
                await session.send_text("something else")
                async for _ in session:
                    pass

    try:
        with pytest.raises(LiveSessionClosed) as caught:
            asyncio.run(app())
        sessions = server.wait_closed()
    finally:
        server.stop()
    assert caught.value.code == DIVERGED
    assert 'expected "What is the weather in Paris?"' in caught.value.reason
    assert len(sessions) == 1  # no resume attempt
