"""Access: several keys (flags, env var, keys file), per-key session limits refused with
RESOURCE_EXHAUSTED, the Origin allowlist and CORS on the REST routes; and google-genai's
session resumption end to end."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest
from websockets.exceptions import InvalidStatus

from live_client import (
    MODEL,
    MODEL_NAME,
    ServeProcess,
    closed_with,
    open_live,
    reply_text,
    send,
    setup,
    turn,
)
from openlive.session.limits import Limits
from openlive.wire import errors

EXHAUSTED = (1011, "Resource has been exhausted (e.g. check quota).")


async def refused(server: Any, query: str) -> tuple[int, str]:
    ws = await open_live(server, query=query)
    await send(ws, {"setup": {"model": MODEL}})
    return await closed_with(ws)


async def test_keys_from_flag_env_and_file(tmp_path) -> None:
    keys = tmp_path / "keys.txt"
    keys.write_text("# team keys\nfile-key-1\n\nfile-key-2  # ci\n")
    async with asyncio.timeout(30):
        async with ServeProcess("--api-key", "flag-key", "--keys-file", str(keys),
                                env={"OPENLIVE_API_KEYS": "env-a,env-b"}) as server:
            for key in ("flag-key", "env-b", "file-key-1", "file-key-2"):
                ws = await open_live(server, query=f"key={key}")
                await setup(ws)
                await ws.close()
            assert await refused(server, "key=file-key-3") == (1007, errors.API_KEY_INVALID)
        log = "".join(server.log)
        for secret in ("flag-key", "env-b", "file-key-1", "file-key-3"):
            assert secret not in log  # keys are never logged


async def test_per_key_concurrent_sessions(serve) -> None:
    server = await serve(api_keys=["a", "b"], max_sessions_per_key=2, limits=Limits.none())
    async with asyncio.timeout(10):
        open_a = [await open_live(server, query="key=a") for _ in range(2)]
        for ws in open_a:
            await setup(ws)
        assert await refused(server, "key=a") == EXHAUSTED
        other = await open_live(server, query="key=b")  # another key is not affected
        await setup(other)
        await open_a[0].close()
        await asyncio.sleep(0.1)
        again = await open_live(server, query="key=a")
        await setup(again)  # a slot was freed
        for ws in (open_a[1], other, again):
            await ws.close()


async def test_per_key_starts_per_minute(serve) -> None:
    server = await serve(api_keys=["a"], max_starts_per_minute=2, limits=Limits.none())
    async with asyncio.timeout(10):
        for _ in range(2):
            ws = await open_live(server, query="key=a")
            await setup(ws)
            await ws.close()
        assert await refused(server, "key=a") == EXHAUSTED


async def test_origin_allowlist_and_cors(serve) -> None:
    server = await serve(allow_origins=["https://app.example"])
    async with asyncio.timeout(10):
        ws = await open_live(server, origin="https://app.example")
        await setup(ws)
        assert reply_text(await turn(ws, "from the browser")) == "You said: from the browser"
        await ws.close()
        ws = await open_live(server)  # no Origin: not a browser, allowed
        await ws.close()
        with pytest.raises(InvalidStatus) as info:
            await open_live(server, origin="https://evil.example")
        assert info.value.response.status_code == 403
        async with aiohttp.ClientSession() as http:
            async with http.options(f"{server.http_url}/v1alpha/auth_tokens", headers={
                    "Origin": "https://app.example",
                    "Access-Control-Request-Method": "POST",
                    "Access-Control-Request-Headers": "content-type,x-goog-api-key"}) as r:
                assert r.status == 204
                assert r.headers["Access-Control-Allow-Origin"] == "https://app.example"
                assert "POST" in r.headers["Access-Control-Allow-Methods"]
                assert "x-goog-api-key" in r.headers["Access-Control-Allow-Headers"]
            async with http.post(f"{server.http_url}/v1alpha/auth_tokens",
                                 headers={"Origin": "https://app.example"}) as r:
                assert r.status == 200
                assert r.headers["Access-Control-Allow-Origin"] == "https://app.example"
            async with http.get(f"{server.http_url}/v1beta/models",
                                headers={"Origin": "https://evil.example"}) as r:
                assert "Access-Control-Allow-Origin" not in r.headers
            async with http.options(f"{server.http_url}/v1beta/models",
                                    headers={"Origin": "https://evil.example"}) as r:
                assert r.status == 403


async def test_cors_open_by_default(serve) -> None:
    server = await serve()
    async with asyncio.timeout(10), aiohttp.ClientSession() as http:
        async with http.get(f"{server.http_url}/v1beta/models",
                            headers={"Origin": "http://localhost:5173"}) as r:
            assert r.status == 200 and r.headers["Access-Control-Allow-Origin"] == "*"


@pytest.mark.interop
async def test_python_sdk_session_resumption(serve, client_ssl) -> None:
    from google import genai
    from google.genai import errors as genai_errors
    from google.genai import types
    server = await serve(tls=True, limits=Limits.none())
    client = genai.Client(api_key="k", http_options={
        "base_url": server.http_url, "api_version": "v1beta",
        "async_client_args": {"ssl": client_ssl}})

    async def turn_and_handle(session: Any, text: str) -> tuple[str, str | None]:
        await session.send_client_content(turns=types.Content(
            role="user", parts=[types.Part(text=text)]))
        reply, audio, handle = "", b"", None
        async for msg in session.receive():  # AUDIO: the words are its transcript
            content = msg.server_content
            if content and content.output_transcription:
                reply += content.output_transcription.text or ""
            if content and content.model_turn:
                audio += b"".join(p.inline_data.data for p in content.model_turn.parts
                                  if p.inline_data and p.inline_data.data)
        assert audio
        async for msg in session.receive():
            update = msg.session_resumption_update
            if update and update.resumable:
                handle = update.new_handle
                break
        return reply, handle

    async with asyncio.timeout(20):
        # Live models answer in AUDIO only (issue 12): AUDIO with its transcript
        config = types.LiveConnectConfig(response_modalities=["AUDIO"],
                                         output_audio_transcription={},
                                         session_resumption=types.SessionResumptionConfig())
        async with client.aio.live.connect(model=MODEL_NAME, config=config) as session:
            reply, handle = await turn_and_handle(session, "first connection")
        assert reply == "You said: first connection" and handle
        config = types.LiveConnectConfig(
            response_modalities=["AUDIO"], output_audio_transcription={},
            session_resumption=types.SessionResumptionConfig(handle=handle))
        async with client.aio.live.connect(model=MODEL_NAME, config=config) as session:
            reply, _ = await turn_and_handle(session, "second connection")
        assert reply == "You said: second connection"
        config = types.LiveConnectConfig(
            response_modalities=["AUDIO"], output_audio_transcription={},
            session_resumption=types.SessionResumptionConfig(handle="stale-handle"))
        with pytest.raises(genai_errors.APIError) as info:
            async with client.aio.live.connect(model=MODEL_NAME, config=config):
                pass
        assert info.value.code == 1008
        assert errors.SESSION_NOT_FOUND in str(info.value)
