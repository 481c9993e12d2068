"""Bodies nested thousands deep are client mistakes, answered as such: the REST token
route's JSON parser and the replay's normaliser hit RecursionError on them (issue 13)."""

from __future__ import annotations

import asyncio

import aiohttp

from live_client import ServeProcess
from openlive.engines.replay.script import normalise
from openlive.wire import errors

DEEP = "[" * 100_000 + "]" * 100_000  # json.loads: RecursionError


async def test_a_token_request_nested_too_deep_is_400_invalid_json() -> None:
    async with asyncio.timeout(60):
        async with ServeProcess() as server, aiohttp.ClientSession() as http:
            async with http.post(f"{server.http_url}/v1alpha/auth_tokens", data=DEEP,
                                 headers={"content-type": "application/json"}) as resp:
                assert resp.status == 400
                body = await resp.json()
            assert body["error"]["status"] == "INVALID_ARGUMENT"
            assert body["error"]["message"].startswith(errors.INVALID_JSON)
            assert not any("Traceback" in line for line in server.log)


def test_the_replay_normalises_a_message_nested_too_deep() -> None:
    message: dict = {}
    inner = message
    for _ in range(5000):
        inner["a"] = {}
        inner = inner["a"]
    assert set(normalise(message)) == {"invalid"}
