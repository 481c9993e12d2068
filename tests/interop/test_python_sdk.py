"""The official Python SDK (google-genai) against a real openlive server on loopback.

google-genai always dials ``wss://`` (spec/sdk-wire.md §2), so every server here uses TLS
and the client trusts the test certificate through ``async_client_args={"ssl": ...}``.
"""

from __future__ import annotations

import asyncio
import ssl
from typing import Any

import pytest
from google import genai
from google.genai import errors, types

from live_client import MODEL, MODEL_NAME
from openlive.engines.emulator.placeholder import placeholder_pcm
from openlive.wire.errors import API_KEY_INVALID

pytestmark = pytest.mark.interop

# Google's Live models answer in AUDIO only (a TEXT setup is closed: issue 12): an app gets
# the reply's words as the transcript of that audio, the idiom Google documents for text
# from Live models (output_audio_transcription; message.server_content.output_transcription)
AUDIO_OUT: dict[str, Any] = {"response_modalities": ["AUDIO"], "output_audio_transcription": {}}
AUDIO_MIME = "audio/pcm;rate=24000"
TIMEOUT = 10  # seconds for any one test's conversation; a hang fails fast


def make_client(server: Any, client_ssl: ssl.SSLContext, *, api_key: str = "test-key",
                api_version: str | None = "v1beta") -> genai.Client:
    http_options: dict[str, Any] = {"base_url": server.http_url,
                                    "async_client_args": {"ssl": client_ssl}}
    if api_version is not None:
        http_options["api_version"] = api_version
    return genai.Client(api_key=api_key, http_options=http_options)


async def collect_turn(session: Any) -> list[types.LiveServerMessage]:
    """Every message of one model turn (receive() stops after turnComplete)."""
    return [msg async for msg in session.receive()]


async def next_message(session: Any) -> types.LiveServerMessage:
    """One message through the public receive() generator, which is then closed."""
    messages = session.receive()
    try:
        return await anext(messages)
    finally:
        await messages.aclose()


async def until_transcript(session: Any) -> list[types.LiveServerMessage]:
    """Messages through the public receive() generator up to the first transcript."""
    messages, out = session.receive(), []
    try:
        async for msg in messages:
            out.append(msg)
            if msg.server_content and msg.server_content.output_transcription:
                return out
    finally:
        await messages.aclose()
    raise AssertionError(f"the turn ended without a transcript: {out}")


def turn_text(messages: list[types.LiveServerMessage]) -> str:
    """What the model said: the transcript of its audio (output_transcription)."""
    return "".join(m.server_content.output_transcription.text or ""
                   for m in messages
                   if m.server_content and m.server_content.output_transcription)


def model_parts(messages: list[types.LiveServerMessage]) -> list[types.Part]:
    return [p for m in messages
            if m.server_content and m.server_content.model_turn
            for p in m.server_content.model_turn.parts or ()]


def turn_audio(messages: list[types.LiveServerMessage]) -> bytes:
    """The model's audio (every inline_data part), checked to be Live's 24 kHz PCM."""
    parts = model_parts(messages)
    assert all(p.inline_data is not None and p.text is None for p in parts), parts
    assert {p.inline_data.mime_type for p in parts if p.inline_data} <= {AUDIO_MIME}
    return b"".join(p.inline_data.data or b"" for p in parts if p.inline_data)


def assert_completed_turn(messages: list[types.LiveServerMessage], expected_text: str) -> None:
    assert turn_text(messages) == expected_text
    assert turn_audio(messages)  # the reply is audio; the text is its transcript
    flags = [(bool(m.server_content and m.server_content.generation_complete),
              bool(m.server_content and m.server_content.turn_complete)) for m in messages]
    # generationComplete comes once, right before the final turnComplete
    assert flags[-1] == (False, True), flags
    assert flags[-2] == (True, False), flags
    assert sum(g for g, _ in flags) == 1
    last = messages[-1]
    assert last.usage_metadata is not None
    usage = last.usage_metadata
    # about 4 characters a token (tool-call arguments count too)
    assert usage.response_token_count >= -(-len(expected_text) // 4) > 0
    assert usage.total_token_count == usage.prompt_token_count + usage.response_token_count
    assert usage.response_tokens_details[0].modality == types.MediaModality.AUDIO


# ------------------------------------------------------------------------- happy paths


async def test_text_turn_with_send_client_content(serve, client_ssl):
    server = await serve(tls=True)
    client = make_client(server, client_ssl)
    async with asyncio.timeout(TIMEOUT):
        async with client.aio.live.connect(model=MODEL_NAME, config=AUDIO_OUT) as session:
            assert session.setup_complete is not None  # connect() consumed setupComplete
            await session.send_client_content(
                turns=types.Content(role="user", parts=[types.Part(text="Hello there")]),
                turn_complete=True)
            messages = await collect_turn(session)
            assert_completed_turn(messages, "You said: Hello there")
            assert all(m.setup_complete is None for m in messages)
            # the session stays usable for a second turn
            await session.send_client_content(turns={"role": "user",
                                                     "parts": [{"text": "again"}]})
            assert turn_text(await collect_turn(session)) == "You said: again"


async def test_realtime_text_input(serve, client_ssl):
    server = await serve(tls=True)
    client = make_client(server, client_ssl)
    async with asyncio.timeout(TIMEOUT):
        async with client.aio.live.connect(model=MODEL_NAME, config=AUDIO_OUT) as session:
            await session.send_realtime_input(text="realtime hello")
            assert_completed_turn(await collect_turn(session), "You said: realtime hello")


async def test_default_api_version_v1(serve, client_ssl):
    """With no api_version, google-genai 3.x dials .../v1.GenerativeService...; the server
    must accept it."""
    server = await serve(tls=True)
    client = make_client(server, client_ssl, api_version=None)
    async with asyncio.timeout(TIMEOUT):
        async with client.aio.live.connect(model=MODEL_NAME, config=AUDIO_OUT) as session:
            await session.send_client_content(turns={"role": "user", "parts": [{"text": "v1"}]})
            assert_completed_turn(await collect_turn(session), "You said: v1")


async def test_no_config_and_models_prefix(serve, client_ssl):
    """No config at all (no generationConfig on the wire) and a ``models/``-prefixed name:
    AUDIO replies (the default), with no transcript since none was asked for. The
    emulator's placeholder voice is deterministic (engines/emulator/placeholder.py), so the
    audio is exactly that of "You said: hi"."""
    server = await serve(tls=True)
    client = make_client(server, client_ssl)
    async with asyncio.timeout(TIMEOUT):
        async with client.aio.live.connect(model=MODEL) as session:
            await session.send_client_content(turns={"role": "user", "parts": [{"text": "hi"}]})
            messages = await collect_turn(session)
            assert turn_audio(messages) == placeholder_pcm("You said: hi")
            assert turn_text(messages) == ""


async def test_tool_call_round_trip(serve, client_ssl):
    server = await serve(tls=True, script=[{
        "match": r"weather in (?P<city>\w+)",
        "call": {"name": "get_weather", "args": {"city": "{city}"}},
        "say": "It is {result[summary]} in {city}.",
    }])
    client = make_client(server, client_ssl)
    config = {**AUDIO_OUT, "tools": [{"function_declarations": [{
        "name": "get_weather", "description": "Get the weather",
        "parameters": {"type": "OBJECT", "properties": {"city": {"type": "STRING"}},
                       "required": ["city"]}}]}]}
    async with asyncio.timeout(TIMEOUT):
        async with client.aio.live.connect(model=MODEL_NAME, config=config) as session:
            await session.send_client_content(
                turns={"role": "user", "parts": [{"text": "What is the weather in Paris?"}]})
            first = await next_message(session)  # a toolCall does not end receive()'s turn
            assert first.tool_call is not None
            (call,) = first.tool_call.function_calls
            assert call.name == "get_weather"
            assert call.args == {"city": "Paris"}
            assert call.id
            await session.send_tool_response(function_responses=types.FunctionResponse(
                id=call.id, name=call.name, response={"summary": "sunny", "temp_c": 21}))
            assert_completed_turn(await collect_turn(session), "It is sunny in Paris.")


async def test_tool_call_seen_through_receive(serve, client_ssl):
    """The usual app loop: the toolCall arrives inside receive(), the app answers it there
    and keeps iterating until turnComplete."""
    server = await serve(tls=True, script=[{
        "match": r"weather in (?P<city>\w+)",
        "call": {"name": "get_weather", "args": {"city": "{city}"}},
        "say": "It is {result[summary]} in {city}.",
    }])
    client = make_client(server, client_ssl)
    async with asyncio.timeout(TIMEOUT):
        async with client.aio.live.connect(model=MODEL_NAME, config=AUDIO_OUT) as session:
            await session.send_realtime_input(text="weather in Oslo")
            calls, text = [], []
            async for msg in session.receive():
                if msg.tool_call:
                    calls.extend(msg.tool_call.function_calls)
                    await session.send_tool_response(function_responses=[
                        {"id": fc.id, "name": fc.name, "response": {"summary": "snowing"}}
                        for fc in msg.tool_call.function_calls])
                text.append(turn_text([msg]))
            assert [(c.name, c.args) for c in calls] == [("get_weather", {"city": "Oslo"})]
            assert "".join(text) == "It is snowing in Oslo."


async def test_client_content_turn_complete_false_then_true(serve, client_ssl):
    server = await serve(tls=True)
    client = make_client(server, client_ssl)
    async with asyncio.timeout(TIMEOUT):
        async with client.aio.live.connect(model=MODEL_NAME, config=AUDIO_OUT) as session:
            await session.send_client_content(
                turns={"role": "user", "parts": [{"text": "first part"}]}, turn_complete=False)
            # nothing may be answered for an incomplete turn
            with pytest.raises(TimeoutError):
                async with asyncio.timeout(0.3):
                    await next_message(session)
            await session.send_client_content(
                turns={"role": "user", "parts": [{"text": "second part"}]}, turn_complete=True)
            messages = await collect_turn(session)
            text = turn_text(messages)
            assert text.startswith("You said: ")
            assert "first part" in text and "second part" in text
            assert text.index("first part") < text.index("second part")
            # answered once: one turnComplete, and nothing else queued afterwards
            assert sum(bool(m.server_content and m.server_content.turn_complete)
                       for m in messages) == 1
            with pytest.raises(TimeoutError):
                async with asyncio.timeout(0.3):
                    await next_message(session)


async def test_client_content_history_then_empty_turn_complete(serve, client_ssl):
    """The SDK doc's pattern: history with turn_complete=False, then
    send_client_content(turn_complete=True) with no turns at all."""
    server = await serve(tls=True)
    client = make_client(server, client_ssl)
    async with asyncio.timeout(TIMEOUT):
        async with client.aio.live.connect(model=MODEL_NAME, config=AUDIO_OUT) as session:
            await session.send_client_content(turns=[
                {"role": "user", "parts": [{"text": "What is the capital of France?"}]},
                {"role": "model", "parts": [{"text": "Paris"}]},
                {"role": "user", "parts": [{"text": "And of Germany?"}]},
            ], turn_complete=False)
            await session.send_client_content(turn_complete=True)
            text = turn_text(await collect_turn(session))
            # the question the model already answered ("Paris") is history, not the new
            # question: only "And of Germany?" is unanswered
            assert text == "You said: And of Germany?"


async def test_interruption_by_new_client_content(serve, client_ssl):
    server = await serve(tls=True, script=[
        {"match": "^story$", "say": "one two three four five six seven eight nine ten",
         "chunk_chars": 4, "chunk_delay": 0.2},
        {"match": ".*", "say": "You said: {text}"},
    ])
    client = make_client(server, client_ssl)
    async with asyncio.timeout(TIMEOUT):
        async with client.aio.live.connect(model=MODEL_NAME, config=AUDIO_OUT) as session:
            await session.send_client_content(turns={"role": "user", "parts": [{"text": "story"}]})
            first = await until_transcript(session)  # the first chunk's audio, its transcript
            assert turn_audio(first) and turn_text(first) == "one "
            await session.send_client_content(turns={"role": "user", "parts": [{"text": "stop"}]})
            interrupted = await collect_turn(session)
            # maybe a chunk already in flight, then interrupted, then turnComplete
            assert interrupted[-1].server_content.turn_complete is True
            assert interrupted[-2].server_content.interrupted is True
            assert all(not (m.server_content and m.server_content.generation_complete)
                       for m in interrupted)
            partial = turn_text(first) + turn_text(interrupted)
            assert len(partial) < len("one two three four five six seven eight nine ten")
            # the new turn is then answered in full
            assert_completed_turn(await collect_turn(session), "You said: stop")


async def test_deprecated_session_send(serve, client_ssl):
    server = await serve(tls=True)
    client = make_client(server, client_ssl)
    async with asyncio.timeout(TIMEOUT):
        async with client.aio.live.connect(model=MODEL_NAME, config=AUDIO_OUT) as session:
            # google-genai 3.4 still has it: the wire is
            # {"client_content":{"turns":[...],"turn_complete":true}} (snake_case inside)
            assert hasattr(session, "send"), "google-genai removed the deprecated send()"
            with pytest.warns(DeprecationWarning):
                await session.send(input="old style", end_of_turn=True)
            assert_completed_turn(await collect_turn(session), "You said: old style")


@pytest.mark.parametrize("binary_frames", [True, False], ids=["binary", "text"])
async def test_binary_and_text_server_frames(serve, client_ssl, binary_frames):
    server = await serve(tls=True, binary_frames=binary_frames)
    client = make_client(server, client_ssl)
    async with asyncio.timeout(TIMEOUT):
        async with client.aio.live.connect(model=MODEL_NAME, config=AUDIO_OUT) as session:
            assert session.setup_complete is not None
            await session.send_client_content(
                turns={"role": "user", "parts": [{"text": "frames ünïcödé ✓"}]})
            assert_completed_turn(await collect_turn(session), "You said: frames ünïcödé ✓")


async def test_go_away_is_parsed(serve, client_ssl):
    server = await serve(tls=True, script=[{"match": ".*", "go_away": "10s", "say": "bye"}])
    client = make_client(server, client_ssl)
    async with asyncio.timeout(TIMEOUT):
        async with client.aio.live.connect(model=MODEL_NAME, config=AUDIO_OUT) as session:
            await session.send_realtime_input(text="hi")
            messages = await collect_turn(session)
            assert messages[0].go_away is not None
            assert messages[0].go_away.time_left == "10s"
            assert turn_text(messages) == "bye"


# ---------------------------------------------------------------------------- errors


async def test_scripted_close_1011_raises_api_error(serve, client_ssl):
    server = await serve(tls=True, script=[
        {"match": "crash", "close": {"code": 1011, "reason": "Internal error encountered."}},
    ])
    client = make_client(server, client_ssl)
    async with asyncio.timeout(TIMEOUT):
        async with client.aio.live.connect(model=MODEL_NAME, config=AUDIO_OUT) as session:
            await session.send_client_content(turns={"role": "user", "parts": [{"text": "crash"}]})
            with pytest.raises(errors.APIError) as info:
                await collect_turn(session)
    assert info.value.code == 1011
    assert "Internal error encountered." in str(info.value)


async def test_reply_then_close(serve, client_ssl):
    """A rule with say and close: the reply arrives, then the close."""
    server = await serve(tls=True, script=[
        {"match": ".*", "say": "last words",
         "close": {"code": 1011, "reason": "Internal error encountered."}},
    ])
    client = make_client(server, client_ssl)
    received: list[types.LiveServerMessage] = []
    async with asyncio.timeout(TIMEOUT):
        async with client.aio.live.connect(model=MODEL_NAME, config=AUDIO_OUT) as session:
            await session.send_realtime_input(text="x")
            with pytest.raises(errors.APIError) as info:
                async for msg in session.receive():
                    received.append(msg)
    assert turn_text(received) == "last words"
    assert info.value.code == 1011


async def test_unknown_model_raises_1008_at_connect(serve, client_ssl):
    server = await serve(tls=True)
    client = make_client(server, client_ssl)
    async with asyncio.timeout(TIMEOUT):
        with pytest.raises(errors.APIError) as info:
            async with client.aio.live.connect(model="no-such-model", config=AUDIO_OUT):
                pytest.fail("connect() must not succeed for an unknown model")
    assert info.value.code == 1008
    assert "models/no-such-model is not found for API version v1beta" in str(info.value)


async def test_text_setup_on_gemini_3_8_live_raises_googles_1007(serve, client_ssl):
    """A TEXT setup on a Live model closes as Google closes it (1007 "Cannot extract voices
    from a non-audio request."), which google-genai raises from connect() as an APIError;
    the same app asking for AUDIO with a transcript is answered, on 3.x with the audio and
    its transcript in one message."""
    server = await serve(tls=True)
    client = make_client(server, client_ssl)
    async with asyncio.timeout(TIMEOUT):
        with pytest.raises(errors.APIError) as info:
            async with client.aio.live.connect(model="gemini-3.8-live",
                                               config={"response_modalities": ["TEXT"]}):
                pytest.fail("connect() must not succeed for TEXT replies")
        assert info.value.code == 1007
        assert "Cannot extract voices from a non-audio request." in str(info.value)
        async with client.aio.live.connect(model="gemini-3.8-live", config=AUDIO_OUT) as session:
            await session.send_realtime_input(text="in audio")
            messages = await collect_turn(session)
            assert_completed_turn(messages, "You said: in audio")
            assert all(m.server_content.output_transcription is not None
                       for m in messages if m.server_content and m.server_content.model_turn)


async def test_wrong_api_key_raises_1007(serve, client_ssl):
    server = await serve(tls=True, api_keys=["right-key"])
    client = make_client(server, client_ssl, api_key="wrong-key")
    async with asyncio.timeout(TIMEOUT):
        with pytest.raises(errors.APIError) as info:
            async with client.aio.live.connect(model=MODEL_NAME, config=AUDIO_OUT):
                pytest.fail("connect() must not succeed with a wrong key")
    assert info.value.code == 1007
    assert API_KEY_INVALID in str(info.value)


async def test_right_api_key_is_accepted(serve, client_ssl):
    server = await serve(tls=True, api_keys=["right-key", "other-key"])
    client = make_client(server, client_ssl, api_key="other-key")
    async with asyncio.timeout(TIMEOUT):
        async with client.aio.live.connect(model=MODEL_NAME, config=AUDIO_OUT) as session:
            await session.send_realtime_input(text="authorised")
            assert turn_text(await collect_turn(session)) == "You said: authorised"
