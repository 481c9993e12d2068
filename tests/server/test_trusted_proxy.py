"""``serve --trusted-proxy CIDR``: the client address behind a reverse proxy (issue 15).

The rule (server/client_address.py, no I/O) first; then a real `openlive serve` process on
loopback, reached by raw aiohttp WebSockets that play the proxy: the TCP peer 127.0.0.1
sends ``X-Forwarded-For`` for made-up clients (documentation addresses, RFC 5737)."""

from __future__ import annotations

import asyncio
import ipaddress
import json
import os
import subprocess
import sys

import aiohttp
import pytest

from live_client import LIVE_PATH, ServeProcess
from openlive.server.client_address import (
    ClientAddress,
    forwarded_for,
    parse_address,
    parse_networks,
    resolve,
)

LOOPBACK = parse_networks(["127.0.0.1/32"])
INNER = parse_networks(["127.0.0.0/8", "10.0.0.0/8", "fd00::/8"])
EMULATOR = "models/openlive-emulator"
WAIT = 20.0  # the longest a test waits for the server (a busy 2-core machine)


# ------------------------------------------------------------------------------ the rule

def test_an_untrusted_peer_is_the_client_whatever_it_forwards():
    assert resolve("198.51.100.7", ["127.0.0.1"], LOOPBACK) == ClientAddress(
        "198.51.100.7", "198.51.100.7")
    assert resolve("127.0.0.1", ["203.0.113.5"], ()) == ClientAddress("127.0.0.1", "127.0.0.1")
    assert resolve(None, ["203.0.113.5"], LOOPBACK).address == "?"


def test_the_right_most_untrusted_address_is_the_client():
    # a client's own (spoofed) entries stand left of the address the proxy appended
    got = resolve("127.0.0.1", ["127.0.0.1, 203.0.113.9, 198.51.100.2"], LOOPBACK)
    assert got == ClientAddress("198.51.100.2", "127.0.0.1", proxied=True, forwarded=True)
    # recursive: trusted hops (an inner proxy at 10.0.0.5) are walked past
    assert resolve("127.0.0.1", ["203.0.113.9, 198.51.100.2, 10.0.0.5"],
                   INNER).address == "198.51.100.2"
    # every header line, in order, is one list
    assert resolve("10.1.2.3", ["203.0.113.9", "198.51.100.2, 10.0.0.5"],
                   INNER).address == "198.51.100.2"
    # all trusted: the left-most
    assert resolve("127.0.0.1", ["10.0.0.9, 10.0.0.5"], INNER).address == "10.0.0.9"


def test_no_or_broken_forwarded_for_leaves_the_proxy_as_the_client():
    assert resolve("127.0.0.1", [], LOOPBACK) == ClientAddress("127.0.0.1", "127.0.0.1",
                                                               proxied=True)
    for junk in (["unknown"], ["203.0.113.9, not-an-address"], ["  ,  "], [""]):
        got = resolve("127.0.0.1", junk, LOOPBACK)
        assert (got.address, got.forwarded) == ("127.0.0.1", False), junk


def test_address_forms():
    assert str(parse_address("203.0.113.9:4711")) == "203.0.113.9"
    assert str(parse_address("[2001:db8::1]:443")) == "2001:db8::1"
    assert str(parse_address("[2001:db8::1]")) == "2001:db8::1"
    assert str(parse_address("2001:db8::1")) == "2001:db8::1"
    assert str(parse_address("fe80::1%eth0")) == "fe80::1"
    assert str(parse_address("::ffff:127.0.0.1")) == "127.0.0.1"  # a dual-stack socket
    assert parse_address("unknown") is None and parse_address("") is None
    assert forwarded_for([" a , b", "", "c"]) == ["a", "b", "c"]
    # IPv6 proxies and clients, and an IPv4-mapped peer inside an IPv4 network
    assert resolve("fd00::2", ["2001:db8::7, fd00::1"], INNER).address == "2001:db8::7"
    assert resolve("::ffff:127.0.0.1", ["198.51.100.2"], LOOPBACK).address == "198.51.100.2"
    assert resolve("::1", ["198.51.100.2"], LOOPBACK).address == "::1"  # not in 127.0.0.1/32


def test_loopback_is_never_taken_from_a_proxy_or_a_spoofer():
    assert resolve("127.0.0.1", [], ()).is_loopback  # a local client, no proxy configured
    assert resolve("::1", ["198.51.100.2"], ()).is_loopback  # its header ignored
    assert not resolve("198.51.100.2", ["127.0.0.1"], LOOPBACK).is_loopback  # a spoofer
    # through a trusted proxy on this machine: the forwarded client decides
    assert not resolve("127.0.0.1", ["198.51.100.2"], LOOPBACK).is_loopback
    assert not resolve("127.0.0.1", ["127.0.0.1, 198.51.100.2"], LOOPBACK).is_loopback
    assert resolve("127.0.0.1", ["127.0.0.1"], LOOPBACK).is_loopback
    # the proxy's own request (no or a broken header) is not a local client's
    assert not resolve("127.0.0.1", [], LOOPBACK).is_loopback
    assert not resolve("127.0.0.1", ["unknown"], LOOPBACK).is_loopback


def test_networks():
    assert parse_networks([" 10.0.0.0/8", "127.0.0.1", "::1/128"]) == (
        ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("127.0.0.1/32"),
        ipaddress.ip_network("::1/128"))
    for bad in ("10.0.0.1/8", "bogus", "10.0.0.0/33", ""):
        with pytest.raises(ValueError):
            parse_networks([bad])


def test_an_invalid_cidr_is_a_one_line_error_with_exit_2():
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OPENLIVE_")}
    for args, env in ((["--trusted-proxy", "10.0.0.1/8"], {}),
                      ([], {"OPENLIVE_TRUSTED_PROXY": "127.0.0.1/32,bogus"})):
        done = subprocess.run([sys.executable, "-m", "openlive.cli", "serve", "--port", "0",
                               *args], env={**clean, **env}, capture_output=True, text=True,
                              timeout=60)
        assert done.returncode == 2, done.stderr
        assert done.stderr.startswith("openlive: --trusted-proxy: "), done.stderr
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr


def test_print_config_shows_it_from_the_environment():
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OPENLIVE_")}
    done = subprocess.run([sys.executable, "-m", "openlive.cli", "serve", "--print-config"],
                          env={**clean, "OPENLIVE_TRUSTED_PROXY": "127.0.0.1/32, 10.0.0.0/8"},
                          capture_output=True, text=True, timeout=60)
    assert ('trusted-proxy = ["127.0.0.1/32", "10.0.0.0/8"]  # $OPENLIVE_TRUSTED_PROXY'
            in done.stdout.splitlines()), done.stdout


# -------------------------------------------------------------- a real server, a "proxy"

def serve(*args: str) -> ServeProcess:
    # the admin API without a key: loopback clients only
    return ServeProcess("--no-console", "--max-connections-per-ip", "1", *args,
                        env={"OPENLIVE_ADMIN_KEY": ""})


async def live(http: aiohttp.ClientSession, server: ServeProcess, client: str | None
               ) -> tuple[aiohttp.ClientWebSocketResponse, int | None]:
    """A Live session "forwarded" for ``client``: (the WebSocket, None) once set up, or
    (it, the close code) when the server closed it instead."""
    headers = {"X-Forwarded-For": client} if client else {}
    ws = await http.ws_connect(server.ws_url + LIVE_PATH, headers=headers)
    await ws.send_str(json.dumps({"setup": {
        "model": EMULATOR, "generationConfig": {"responseModalities": ["TEXT"]}}}))
    msg = await ws.receive(timeout=WAIT)
    if msg.type in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
        assert "setupComplete" in json.loads(msg.data), msg.data
        return ws, None
    assert msg.type == aiohttp.WSMsgType.CLOSE, msg
    return ws, msg.data


async def logged(server: ServeProcess, text: str) -> str:
    """The log line holding ``text`` (bounded wait: the server logs as it goes)."""
    for _ in range(int(WAIT / 0.05)):
        for line in server.log:
            if text in line:
                return line
        await asyncio.sleep(0.05)
    raise AssertionError(f"{text!r} not logged:\n{''.join(server.log)}")


async def admin_status(http: aiohttp.ClientSession, server: ServeProcess,
                       forwarded: str | None) -> int:
    """GET /__openlive/sessions's status (503 while a closed session still holds its slot:
    asked again, bounded)."""
    headers = {"X-Forwarded-For": forwarded} if forwarded is not None else {}
    for _ in range(int(WAIT / 0.1)):
        async with http.get(server.http_url + "/__openlive/sessions", headers=headers) as r:
            if r.status != 503:
                return r.status
        await asyncio.sleep(0.1)
    return 503


async def test_behind_a_trusted_proxy_each_forwarded_client_has_its_own_cap():
    async with serve("--trusted-proxy", "127.0.0.1/32") as server, \
            aiohttp.ClientSession() as http:
        await logged(server, "trusted proxies (their X-Forwarded-For names the client): "
                             "127.0.0.1/32")
        first, closed = await live(http, server, "203.0.113.7")
        assert closed is None
        # a client's own (spoofed) entry left of the proxy's is not believed
        second, closed = await live(http, server, "127.0.0.1, 198.51.100.2")
        assert closed is None  # another client: admitted, though both come from 127.0.0.1
        again, closed = await live(http, server, "203.0.113.7")
        assert closed == 1011  # its second connection, past --max-connections-per-ip 1
        await again.close()
        assert "connected from 203.0.113.7 via proxy 127.0.0.1" in await logged(
            server, "connected from 203.0.113.7")
        await logged(server, "connected from 198.51.100.2 via proxy 127.0.0.1")
        await logged(server, "203.0.113.7 (through 127.0.0.1) has 1 open")
        assert not any("connected from 127.0.0.1" in line for line in server.log)
        await first.close()  # its slot is free again once its session has ended
        for _ in range(int(WAIT / 0.1)):
            third, closed = await live(http, server, "203.0.113.7")
            if closed is None:
                break
            await third.close()
            await asyncio.sleep(0.1)
        assert closed is None
        await third.close()
        await second.close()
        # the admin API (emulator, no admin key): a remote client through the proxy is not
        # loopback, nor is the proxy's own request; a loopback client through it is
        assert await admin_status(http, server, "198.51.100.2") == 403
        assert await admin_status(http, server, "127.0.0.1, 198.51.100.2") == 403
        assert await admin_status(http, server, None) == 403
        assert await admin_status(http, server, "127.0.0.1") == 200
        await logged(server, "from 198.51.100.2 via proxy 127.0.0.1 refused")


async def test_without_trusted_proxy_x_forwarded_for_is_ignored():
    async with serve() as server, aiohttp.ClientSession() as http:
        first, closed = await live(http, server, "203.0.113.7")
        assert closed is None
        other, closed = await live(http, server, "198.51.100.2")
        assert closed == 1011  # the same peer, 127.0.0.1, whatever it forwards
        await other.close()
        await first.close()
        await logged(server, "connected from 127.0.0.1 (")
        assert not any("203.0.113.7" in line or "198.51.100.2" in line for line in server.log)
        assert await admin_status(http, server, "198.51.100.2") == 200  # a loopback peer


async def test_a_proxy_on_this_machine_does_not_make_console_pages_local():
    """Console tokens go to loopback pages only (console/tokens.py). Behind a trusted proxy
    on the same machine every request's socket peer is loopback: the forwarded client
    decides, and the proxy's own request (nothing forwarded) is not local."""
    async def token_status(http: aiohttp.ClientSession, server: ServeProcess,
                           forwarded: str | None) -> int:
        headers = {"Host": "localhost"}
        if forwarded is not None:
            headers["X-Forwarded-For"] = forwarded
        async with http.post(server.http_url + "/console/token", headers=headers) as r:
            return r.status

    async with aiohttp.ClientSession() as http:
        async with ServeProcess("--api-key", "k-console-proxy",
                                "--trusted-proxy", "127.0.0.1/32") as server:
            assert await token_status(http, server, "203.0.113.7") == 403
            assert await token_status(http, server, None) == 403
            assert await token_status(http, server, "127.0.0.1") == 200
        async with ServeProcess("--api-key", "k-console-direct") as server:
            # no trusted proxy: the header is ignored, the loopback socket decides
            assert await token_status(http, server, "203.0.113.7") == 200
