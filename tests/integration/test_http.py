"""Plain HTTP on the Live port (routing, model listing, health), TLS, and API keys."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidHandshake

from live_client import (
    LIVE_PATH,
    closed_with,
    open_live,
    reply_text,
    say,
    send,
    setup,
    until_turn_complete,
)
from openlive.wire import errors


async def get(url: str, **kw) -> tuple[int, object]:
    async with asyncio.timeout(5), aiohttp.ClientSession() as http:
        async with http.get(url, **kw) as resp:
            ctype = resp.headers.get("Content-Type", "")
            body = await resp.json() if "json" in ctype else await resp.text()
            return resp.status, body


@pytest.mark.parametrize("path", ["/nope", "/v1beta", "/v2/models", "/ws/",
                                  "/v1beta/modelsx", "/favicon.ico"])
async def test_unknown_paths_are_404(serve, path):
    server = await serve()
    status, body = await get(server.http_url + path)
    assert status == 404
    assert body["error"]["code"] == 404 and body["error"]["status"] == "NOT_FOUND"


@pytest.mark.parametrize("version", ["v1", "v1beta", "v1alpha"])
async def test_models_are_listed(serve, version):
    server = await serve()
    status, body = await get(f"{server.http_url}/{version}/models")
    assert status == 200
    names = [m["name"] for m in body["models"]]
    assert "models/gemini-2.5-flash-native-audio-preview-12-2025" in names
    assert "models/openlive-emulator" in names
    assert len(names) == len(set(names))
    for m in body["models"]:
        assert m["name"].startswith("models/")
        assert "bidiGenerateContent" in m["supportedGenerationMethods"]


@pytest.mark.parametrize("name", ["gemini-3.1-flash-live-preview", "gemini-2.0-flash-exp",
                                  "openlive-emulator"])
async def test_one_model(serve, name):
    server = await serve()
    status, body = await get(f"{server.http_url}/v1beta/models/{name}")
    assert status == 200
    assert body["name"] == f"models/{name}"


async def test_the_listing_is_the_model_table_with_paging(serve):
    """ListModels (ai.google.dev/api/models#method:-models.list): no shut-down model, each
    model's own token limits, pageSize/pageToken/nextPageToken."""
    server = await serve()
    status, body = await get(f"{server.http_url}/v1beta/models")
    everything = [m["name"] for m in body["models"]]
    assert status == 200 and "nextPageToken" not in body
    assert "models/gemini-live-2.5-flash-preview" not in everything  # shut down 2025-12-09
    live = next(m for m in body["models"] if m["name"] == "models/gemini-3.8-live")
    assert (live["inputTokenLimit"], live["outputTokenLimit"]) == (131072, 65536)
    pages, token = [], None
    while True:
        query = "?pageSize=3" + (f"&pageToken={token}" if token else "")
        status, body = await get(f"{server.http_url}/v1beta/models{query}")
        assert status == 200 and len(body["models"]) <= 3
        pages += [m["name"] for m in body["models"]]
        token = body.get("nextPageToken")
        if token is None:
            break
    assert pages == everything
    status, body = await get(f"{server.http_url}/v1beta/models?pageSize=-1")
    assert status == 400 and body["error"]["status"] == "INVALID_ARGUMENT"
    status, _ = await get(f"{server.http_url}/v1beta/models/gemini-2.0-flash-live-001")
    assert status == 404


async def test_listing_models_needs_a_key_of_a_keyed_server(serve):
    """Google's ListModels refuses callers without a key (issue 13: openlive's did not):
    no key 403 PERMISSION_DENIED, a wrong one 400 INVALID_ARGUMENT (API_KEY_INVALID)."""
    server = await serve(api_keys=["k"])
    for path in ("/v1beta/models", "/v1beta/models/gemini-3.8-live"):
        status, body = await get(server.http_url + path)
        assert (status, body["error"]["status"]) == (403, "PERMISSION_DENIED")
        assert body["error"]["message"] == errors.UNREGISTERED_CALLER
        status, body = await get(server.http_url + path + "?key=wrong")
        assert (status, body["error"]["status"]) == (400, "INVALID_ARGUMENT")
        assert body["error"]["details"][0]["reason"] == "API_KEY_INVALID"
        status, _ = await get(server.http_url + path + "?key=k")
        assert status == 200
    status, body = await get(server.http_url + "/console/models")  # the console's list
    assert status == 200 and "gemini-3.8-live" in body["models"]


async def test_unknown_model_is_404(serve):
    server = await serve()
    status, body = await get(f"{server.http_url}/v1beta/models/gpt-4o")
    assert status == 404
    assert body["error"]["message"] == "models/gpt-4o is not found for API version v1beta"


@pytest.mark.parametrize("path", ["/healthz", "/health"])
async def test_health(serve, path):
    server = await serve()
    status, body = await get(server.http_url + path)
    assert status == 200
    assert body["status"] == "ok" and body["engine"] == "emulator"
    assert body["sessions"] == 0


async def test_health_counts_open_sessions(serve):
    server = await serve()
    async with asyncio.timeout(10):
        ws = await open_live(server)
        await setup(ws)
        _, body = await get(server.http_url + "/healthz")
        assert body["sessions"] == 1
        await ws.close()


@pytest.mark.parametrize("path", [LIVE_PATH, "/" + LIVE_PATH])
async def test_plain_get_on_the_live_path_is_400(serve, path):
    server = await serve()
    status, body = await get(server.http_url + path)
    assert status == 400
    assert "WebSocket" in body["error"]["message"]


async def test_post_on_the_live_path_is_405(serve):
    server = await serve()
    async with asyncio.timeout(5), aiohttp.ClientSession() as http:
        async with http.post(server.http_url + LIVE_PATH, json={}) as resp:
            assert resp.status == 405


# --------------------------------------------------------------------------- TLS

async def test_tls_serves_wss(serve, client_ssl):
    server = await serve(tls=True)
    assert server.ws_url.startswith("wss://")
    async with asyncio.timeout(10):
        ws = await open_live(server, ssl_context=client_ssl)
        await setup(ws)
        await say(ws, "over tls")
        assert reply_text(await until_turn_complete(ws)) == "You said: over tls"
        await ws.close()
        status, body = await get(server.http_url + "/healthz", ssl=client_ssl)
        assert server.http_url.startswith("https://")
        assert (status, body["status"]) == (200, "ok")


async def test_tls_server_refuses_plain_websocket(serve):
    server = await serve(tls=True)
    plain = "ws://" + server.ws_url[len("wss://"):]
    async with asyncio.timeout(10):
        with pytest.raises(InvalidHandshake):
            await connect(plain + LIVE_PATH, open_timeout=3)


# ----------------------------------------------------------------------- API keys

@pytest.mark.parametrize("query,headers", [
    ("key=k-right", None),
    ("", {"x-goog-api-key": "k-right"}),
    ("key=k-other", None),  # a second configured key
])
async def test_right_api_key_is_let_in(serve, query, headers):
    server = await serve(api_keys=["k-right", "k-other"])
    async with asyncio.timeout(10):
        ws = await open_live(server, query=query, headers=headers)
        await setup(ws)
        await say(ws, "authorised")
        assert reply_text(await until_turn_complete(ws)) == "You said: authorised"
        await ws.close()


@pytest.mark.parametrize("query,headers,code,reason", [
    ("key=k-wrong", None, 1007, errors.API_KEY_INVALID),
    ("", {"x-goog-api-key": "k-wrong"}, 1007, errors.API_KEY_INVALID),
    ("access_token=auth_tokens/unknown", None, 1007, errors.API_KEY_INVALID),
    ("", None, 1008, errors.cut_reason(errors.UNREGISTERED_CALLER)),
])
async def test_bad_credentials_close_after_the_first_frame(serve, query, headers, code, reason):
    server = await serve(api_keys=["k-right"])
    async with asyncio.timeout(10):
        ws = await open_live(server, query=query, headers=headers)  # the handshake succeeds
        await send(ws, {"setup": {"model": "gemini-2.0-flash-exp"}})
        assert await closed_with(ws) == (code, reason)
