"""Limits where a peer can hold the server's resources (issue 13, docs/security.md): slow
request heads and bodies, connection caps, capacity, clients that do not read. Real
sockets on loopback; waits are bounded generously (a busy 2-core machine), never timed."""

from __future__ import annotations

import asyncio
import json
import logging
import time

from raw_websocket import OP_TEXT, RawWebSocket, frame
from websockets.exceptions import ConnectionClosed

from live_client import LIVE_PATH, open_live, reply_text, setup, turn
from openlive.engines.emulator import EmulatorEngine
from openlive.server.app import LIFETIME_GRACE, ServerConfig
from openlive.server.overload import OVERLOADED
from openlive.server.run import start_server
from openlive.session.limits import Limits
from openlive.websocket_edge import CLOSE_TIMEOUT
from openlive.wire import errors

# openlive's own model, which answers TEXT (Google's Live models answer AUDIO)
EMULATOR_MODEL = "models/openlive-emulator"
WAIT = 20.0  # the longest any test waits for the server to act


async def raw_connect(server) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", server.port)


async def read_until_closed(reader: asyncio.StreamReader, within: float = WAIT) -> bytes:
    """Everything the server sends until it closes the connection (TimeoutError if it is
    still open after ``within`` seconds)."""
    got = b""
    async with asyncio.timeout(within):
        while chunk := await reader.read(65536):
            got += chunk
    return got


def http_status(raw: bytes) -> int:
    return int(raw.split(b" ", 2)[1])


def json_body(raw: bytes) -> dict:
    return json.loads(raw.split(b"\r\n\r\n", 1)[1])


# ------------------------------------------------------------------ slow peers (item 1)

async def test_partial_request_head_is_closed_after_the_handshake_timeout(serve):
    server = await serve(handshake_timeout=1.0)
    reader, writer = await raw_connect(server)
    started = time.monotonic()
    writer.write(b"GET " + LIVE_PATH.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    await writer.drain()
    for _ in range(3):  # a slowloris trickles a header now and then
        await asyncio.sleep(0.2)
        writer.write(b"X-Slow: 1\r\n")
        await writer.drain()
    assert await read_until_closed(reader) == b""  # closed, nothing answered
    assert time.monotonic() - started >= 1.0  # not before its time
    writer.close()


async def test_an_idle_connection_that_sends_nothing_is_closed(serve):
    server = await serve(handshake_timeout=1.0)
    reader, writer = await raw_connect(server)
    assert await read_until_closed(reader) == b""
    writer.close()


async def test_a_trickled_request_body_gets_408_and_a_close(serve):
    server = await serve(handshake_timeout=1.0)
    reader, writer = await raw_connect(server)
    writer.write(b"POST /v1alpha/auth_tokens HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                 b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{")
    await writer.drain()

    async def trickle() -> None:
        try:
            for _ in range(200):
                await asyncio.sleep(0.2)
                writer.write(b" ")
                await writer.drain()
        except (ConnectionError, RuntimeError):
            pass

    trickler = asyncio.create_task(trickle())
    try:
        raw = await read_until_closed(reader)
    finally:
        trickler.cancel()
    assert http_status(raw) == 408
    assert json_body(raw)["error"]["status"] == "DEADLINE_EXCEEDED"
    writer.close()


async def test_a_websocket_session_outlives_the_handshake_timeout(serve):
    """The head timeout ends with the handshake: a session idle for longer stays open."""
    server = await serve(handshake_timeout=0.5)
    async with await open_live(server) as ws:
        await setup(ws, EMULATOR_MODEL, generationConfig={"responseModalities": ["TEXT"]})
        await asyncio.sleep(1.5)
        assert reply_text(await turn(ws, "still here")) == "You said: still here"


# ------------------------------------------------------------- connection caps (item 2)

async def refused_websocket(server) -> tuple[int, str]:
    """Open a Live WebSocket that the server refuses: (close code, reason)."""
    async with asyncio.timeout(WAIT):
        ws = await open_live(server)
        try:
            await ws.recv()
        except ConnectionClosed as closed:
            assert closed.rcvd is not None
            return closed.rcvd.code, closed.rcvd.reason
    raise AssertionError("the server did not close the refused WebSocket")


async def test_connections_past_the_total_cap_get_503_or_a_1011_close(serve):
    server = await serve(max_connections=2, handshake_timeout=60)
    held = [await raw_connect(server) for _ in range(2)]  # half-open: no byte sent
    reader, writer = await raw_connect(server)
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    raw = await read_until_closed(reader)
    assert http_status(raw) == 503
    assert json_body(raw)["error"] == {"code": 503, "status": "UNAVAILABLE",
                                       "message": OVERLOADED}
    writer.close()
    assert await refused_websocket(server) == (1011, errors.UNAVAILABLE)
    assert server.live.caps.log.counts == {"connection cap --max-connections": 2}
    for _, w in held:  # a freed slot is taken again
        w.close()
    async with asyncio.timeout(WAIT):
        while server.live.caps.open:
            await asyncio.sleep(0.05)
    async with await open_live(server) as ws:
        await setup(ws, EMULATOR_MODEL, generationConfig={"responseModalities": ["TEXT"]})


async def test_connections_past_the_per_address_cap_are_refused(serve):
    server = await serve(max_connections_per_ip=1, handshake_timeout=60)
    async with await open_live(server) as ws:
        await setup(ws, EMULATOR_MODEL, generationConfig={"responseModalities": ["TEXT"]})
        assert await refused_websocket(server) == (1011, errors.UNAVAILABLE)
        # the admitted session goes on
        assert reply_text(await turn(ws, "still here")) == "You said: still here"
    assert server.live.caps.log.counts == {"connection cap --max-connections-per-ip": 1}


async def test_refused_connections_waiting_for_a_head_are_bounded(serve):
    """Past ANSWERED refused connections waiting for their head, more are dropped at once
    (a flood of half-open sockets cannot hold the descriptors the caps protect)."""
    from openlive.server import connection_caps
    server = await serve(max_connections=1, handshake_timeout=60)
    held = [await raw_connect(server) for _ in range(1 + connection_caps.ANSWERED)]
    reader, writer = await raw_connect(server)
    assert await read_until_closed(reader) == b""  # dropped before it sent a byte
    writer.close()
    for _, w in held:
        w.close()


# ------------------------------------------------------------------- capacity (item 3)

async def open_text_session(server):
    ws = await open_live(server)
    await setup(ws, EMULATOR_MODEL, generationConfig={"responseModalities": ["TEXT"]})
    return ws


def refused_total(cause: str) -> float:
    """``openlive_refused_total{cause}`` as /metrics reports it (one registry a process)."""
    from openlive.server.metrics import REGISTRY
    return REGISTRY.get_sample_value("openlive_refused_total", {"cause": cause}) or 0.0


async def test_sessions_past_max_sessions_are_refused_and_the_admitted_go_on(serve):
    cause = "session capacity --max-sessions"
    before = refused_total(cause)
    server = await serve(max_sessions=2)
    first, second = await open_text_session(server), await open_text_session(server)
    assert await refused_websocket(server) == (1011, errors.UNAVAILABLE)
    assert reply_text(await turn(first, "one")) == "You said: one"
    assert reply_text(await turn(second, "two")) == "You said: two"
    await first.close()
    async with asyncio.timeout(WAIT):  # its slot is free once the server has seen the close
        while server.live.capacity.sessions > 1:
            await asyncio.sleep(0.05)
    third = await open_text_session(server)
    assert reply_text(await turn(third, "three")) == "You said: three"
    await second.close()
    await third.close()
    assert server.live.capacity.log.counts == {cause: 1}
    assert refused_total(cause) == before + 1


async def hog_the_loop(block: float, every: float) -> None:
    """Block the event loop (the server's too: it runs in this process) ``block`` seconds
    every ``every`` seconds: a server past its CPU capacity."""
    while True:
        time.sleep(block)
        await asyncio.sleep(every)


async def http_get(server, path: str) -> bytes:
    reader, writer = await raw_connect(server)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
                 .encode())
    try:
        return await read_until_closed(reader)
    finally:
        writer.close()


async def test_a_sustained_event_loop_lag_refuses_new_sessions_and_rest(serve):
    server = await serve(max_loop_lag=0.1)
    admitted = await open_text_session(server)
    hog = asyncio.create_task(hog_the_loop(0.3, 0.02))
    try:
        async with asyncio.timeout(WAIT):
            while not server.live.capacity.overloaded():
                await asyncio.sleep(0.05)
        assert await refused_websocket(server) == (1011, errors.UNAVAILABLE)
        raw = await http_get(server, "/v1beta/models")
        assert http_status(raw) == 503
        assert json_body(raw)["error"]["message"] == OVERLOADED
        assert http_status(await http_get(server, "/healthz")) == 200  # health still answers
        # the session admitted before goes on
        assert reply_text(await turn(admitted, "slow")) == "You said: slow"
    finally:
        hog.cancel()
    async with asyncio.timeout(WAIT):  # the lag is gone: sessions are admitted again
        while server.live.capacity.overloaded():
            await asyncio.sleep(0.05)
    again = await open_text_session(server)
    assert reply_text(await turn(again, "fast")) == "You said: fast"
    await again.close()
    await admitted.close()


async def test_one_long_stall_refuses_nobody(serve):
    """A single late probe (a model loading, a GC pause) is not overload."""
    server = await serve(max_loop_lag=0.1)
    await asyncio.sleep(0.5)  # a few on-time probes
    time.sleep(1.0)
    ws = await open_text_session(server)
    assert reply_text(await turn(ws, "fine")) == "You said: fine"
    await ws.close()
    assert server.live.capacity.log.counts == {}


# ------------------------------------------------------- clients that do not read (item 4)

def text_setup() -> bytes:
    return json.dumps({"setup": {"model": EMULATOR_MODEL, "generationConfig": {
        "responseModalities": ["TEXT"]}}}).encode()


def long_turn(size: int) -> bytes:
    return json.dumps({"clientContent": {"turns": [{"role": "user", "parts": [
        {"text": "x" * size}]}], "turnComplete": True}}).encode()


# a 12 MiB reply in one message: more than loopback's socket buffers hold
LONG_REPLY = [{"say": "y" * (12 * 1024 * 1024), "chunk_chars": 0}]


async def flood_without_reading(ws: RawWebSocket) -> None:
    """Ask for a reply longer than the socket buffers hold, and never read it."""
    try:
        await ws.send(frame(OP_TEXT, text_setup()))
        await ws.send(frame(OP_TEXT, long_turn(10)))
    except ConnectionError:  # the server may drop it before the last byte is written
        pass


async def until_no_connection(server, within: float = WAIT) -> None:
    async with asyncio.timeout(within):
        while server.live.active:
            await asyncio.sleep(0.05)


async def test_a_client_that_reads_nothing_is_dropped_after_the_send_timeout(serve, caplog):
    caplog.set_level(logging.INFO, "openlive")
    server = await serve(send_timeout=1.0, limits=Limits.none(), script=LONG_REPLY)
    ws = await RawWebSocket.connect(server.port, receive_buffer=4096)
    await flood_without_reading(ws)
    await until_no_connection(server)
    assert "the client read nothing for 1 s (--send-timeout)" in caplog.text
    ws.close()


async def test_the_connection_lifetime_ends_a_client_that_reads_nothing(serve):
    """The session core closes at the lifetime; the close cannot wait on a client that
    reads nothing (before, the connection lived on past its lifetime)."""
    server = await serve(limits=Limits(connection_lifetime=2.0, go_away_before=1.0,
                                       session_audio=None, session_video=None),
                         script=LONG_REPLY)
    ws = await RawWebSocket.connect(server.port, receive_buffer=4096)
    await flood_without_reading(ws)
    await until_no_connection(server, within=2.0 + LIFETIME_GRACE + CLOSE_TIMEOUT + WAIT)
    ws.close()


class SilentPassThrough(EmulatorEngine):
    """An engine that answers whole connections (as the relay and replay do) and never
    closes one by itself."""

    def pass_through(self, edge, gate, **_):
        class Reader:
            async def run(self) -> None:
                async for _ in edge.frames():
                    pass

            async def close(self, code: int, reason: str) -> None:
                await edge.close(code, reason)

        return Reader()


async def test_the_connection_lifetime_ends_connections_no_session_core_runs():
    server = await start_server(SilentPassThrough(), ServerConfig(limits=Limits(
        connection_lifetime=0.5, go_away_before=0.2)), port=0)
    try:
        ws = await open_live(server)
        async with asyncio.timeout(0.5 + LIFETIME_GRACE + WAIT):
            await ws.wait_closed()
        assert (ws.close_code, ws.close_reason) == (1011, errors.DEADLINE_EXCEEDED)
    finally:
        await server.stop()
