"""The console's routes on a real server: the page and its files, and console tokens given
only to loopback pages (peer address from the socket, never from headers)."""

from __future__ import annotations

import asyncio
import fcntl
import json
import socket
import struct

import aiohttp
import pytest

from openlive.console import STATIC_DIR
from openlive.console.tokens import is_loopback_host, is_loopback_peer, same_origin

KEY = "server-key-never-in-the-page"
TOKEN = "/console/token"
LIVE = "/ws/google.ai.generativelanguage.v1alpha.GenerativeService.BidiGenerateContentConstrained"


def non_loopback_ipv4() -> str:
    """An IPv4 address of this machine that is not loopback (from the interfaces)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for _, name in socket.if_nameindex():
            try:
                packed = fcntl.ioctl(s.fileno(), 0x8915,  # SIOCGIFADDR
                                     struct.pack("256s", name.encode()[:15]))
            except OSError:
                continue
            address = socket.inet_ntoa(packed[20:24])
            if not address.startswith("127."):
                return address
    pytest.fail("this test needs a non-loopback network interface (none found)",
                pytrace=False)


async def post(url: str, **kw) -> tuple[int, dict]:
    async with asyncio.timeout(5), aiohttp.ClientSession() as http:
        async with http.post(url, **kw) as resp:
            return resp.status, await resp.json()


async def open_with_token(base: str, token: str) -> tuple[str, int | None, str]:
    """Open a Constrained session with the token: ('setupComplete', …) or the close."""
    url = base.replace("http", "ws", 1) + LIVE + "?access_token=" + token
    async with asyncio.timeout(5), aiohttp.ClientSession() as http:
        async with http.ws_connect(url) as ws:
            await ws.send_json(
                {"setup": {"model": "models/gemini-2.5-flash-native-audio-preview-12-2025"}})
            msg = await ws.receive()
            if msg.type in (aiohttp.WSMsgType.BINARY, aiohttp.WSMsgType.TEXT):
                return next(iter(json.loads(msg.data))), None, ""
            return "closed", ws.close_code, msg.extra or ""


async def test_page_and_files_are_served_without_the_key(serve):
    server = await serve(api_keys=[KEY])
    files = [p for p in STATIC_DIR.rglob("*") if p.is_file()]
    assert {p.name for p in files} >= {"index.html", "console.css", "app.js",
                                       "capture-worklet.js", "playback-worklet.js"}
    async with aiohttp.ClientSession() as http:
        async with http.get(server.http_url + "/") as resp:
            assert resp.status == 200
            assert resp.content_type == "text/html"
            assert "default-src 'self'" in resp.headers["Content-Security-Policy"]
            assert "openlive console" in await resp.text()
        for path in files:
            rel = path.relative_to(STATIC_DIR).as_posix()
            if rel == "index.html":
                continue
            async with http.get(f"{server.http_url}/console/{rel}") as resp:
                assert resp.status == 200, rel
                body = await resp.text()
                assert KEY not in body
                assert "http://" not in body and "https://" not in body, rel  # nothing remote
                if rel.endswith(".js"):
                    assert "javascript" in resp.content_type
        async with http.get(server.http_url + "/console/../__init__.py") as resp:
            assert resp.status in (403, 404)
        async with http.post(server.http_url + "/") as resp:
            assert resp.status in (404, 405)


async def test_loopback_page_gets_a_single_use_token(serve):
    server = await serve(api_keys=[KEY])
    status, body = await post(server.http_url + TOKEN,
                              headers={"Origin": server.http_url})
    assert status == 200 and body["name"].startswith("auth_tokens/") and body["uses"] == 1
    assert await open_with_token(server.http_url, body["name"]) == ("setupComplete", None, "")
    kind, code, _ = await open_with_token(server.http_url, body["name"])  # used up
    assert (kind, code) == ("closed", 1008)


async def test_open_server_needs_no_token(serve):
    server = await serve()
    assert await post(server.http_url + TOKEN) == (200, {"open": True})


@pytest.mark.parametrize("headers, reason", [
    ({"Origin": "http://evil.example"}, "Origin mismatch"),
    ({"Host": "evil.example:8080"}, "localhost"),  # a DNS-rebound name
])
async def test_cross_site_requests_are_refused(serve, headers, reason):
    server = await serve(api_keys=[KEY])
    status, body = await post(server.http_url + TOKEN, headers=headers)
    assert status == 403 and reason in body["error"]["message"]
    assert "name" not in body


async def test_non_loopback_peer_is_refused_whatever_its_headers_say(serve):
    address = non_loopback_ipv4()
    server = await serve(api_keys=[KEY], host="0.0.0.0")
    base = f"http://{address}:{server.port}"
    for headers in ({}, {"X-Forwarded-For": "127.0.0.1", "Forwarded": "for=127.0.0.1",
                         "X-Real-IP": "127.0.0.1", "Host": f"127.0.0.1:{server.port}"}):
        status, body = await post(base + TOKEN, headers=headers)
        assert status == 403, headers
        assert "loopback" in body["error"]["message"]
        assert "API key" in body["error"]["message"]
    # The same server still gives tokens to a loopback peer.
    status, body = await post(f"http://127.0.0.1:{server.port}{TOKEN}")
    assert status == 200 and body["name"].startswith("auth_tokens/")


def test_loopback_rules():
    assert is_loopback_peer(("127.0.0.1", 5))
    assert is_loopback_peer(("127.8.9.10", 5))
    assert is_loopback_peer(("::1", 5, 0, 0))
    assert is_loopback_peer(("::ffff:127.0.0.1", 5, 0, 0))
    assert not is_loopback_peer(("192.0.2.7", 5))
    assert not is_loopback_peer(("::ffff:192.0.2.7", 5, 0, 0))
    assert not is_loopback_peer("")  # a Unix socket
    assert not is_loopback_peer(None)
    assert is_loopback_host("localhost:8080") and is_loopback_host("[::1]:80")
    assert is_loopback_host("127.0.0.1") and is_loopback_host("app.localhost")
    assert not is_loopback_host("evil.example") and not is_loopback_host(None)
    assert not is_loopback_host("localhost.evil.example")
    assert same_origin(None, "http", "127.0.0.1:1")
    assert same_origin("http://127.0.0.1:1", "http", "127.0.0.1:1")
    assert not same_origin("http://127.0.0.1:2", "http", "127.0.0.1:1")
    assert not same_origin("null", "http", "127.0.0.1:1")



async def test_no_console_serves_neither_the_page_nor_tokens(serve):
    server = await serve(api_keys=[KEY], console=False)
    async with aiohttp.ClientSession() as http:
        for method, path in (("GET", "/"), ("GET", "/console/js/app.js"),
                             ("GET", "/console/console.css"), ("POST", TOKEN)):
            async with http.request(method, server.http_url + path,
                                    headers={"Origin": server.http_url}) as resp:
                assert resp.status == 404, (method, path)
                body = await resp.json()  # the server's usual 404 JSON, not the page
                assert body["error"]["code"] == 404, (method, path)
                assert "openlive console" not in json.dumps(body)
        # The Live endpoint is unaffected.
        async with http.get(server.http_url + "/v1beta/models?key=" + KEY) as resp:
            assert resp.status == 200


async def test_no_console_tokens_serves_the_page_but_refuses_tokens(serve):
    server = await serve(api_keys=[KEY], console_tokens=False)
    async with aiohttp.ClientSession() as http:
        async with http.get(server.http_url + "/") as resp:
            assert resp.status == 200 and "openlive console" in await resp.text()
    # A request that would get a token otherwise (loopback peer, Host, own Origin): 403.
    status, body = await post(server.http_url + TOKEN, headers={"Origin": server.http_url})
    assert status == 403 and "name" not in body
    assert body["error"]["status"] == "PERMISSION_DENIED"
    message = body["error"]["message"]
    assert "--no-console-tokens" in message
    assert "enter an API key or an ephemeral token" in message
    # An open server has nothing to protect: the page still connects without a credential.
    open_server = await serve(console_tokens=False)
    assert await post(open_server.http_url + TOKEN) == (200, {"open": True})
