"""RFC 6455 protocol errors from a client close the connection with 1002: an unmasked
frame (§5.1), a close code no endpoint may send (§7.4). A raw socket sends what no
WebSocket library will."""

from __future__ import annotations

import json

import pytest
from raw_websocket import OP_TEXT, RawWebSocket, close_frame, frame

SETUP = json.dumps({"setup": {"model": "models/openlive-emulator", "generationConfig": {
    "responseModalities": ["TEXT"]}}}).encode()
TURN = json.dumps({"clientContent": {"turns": [{"role": "user", "parts": [{"text": "hi"}]}],
                                     "turnComplete": True}}).encode()


async def set_up(server) -> RawWebSocket:
    ws = await RawWebSocket.connect(server.port)
    await ws.send(frame(OP_TEXT, SETUP))
    opcode, payload = await ws.read_frame()
    assert json.loads(payload) == {"setupComplete": {}}
    return ws


@pytest.mark.parametrize("when", ["first frame", "after setup"])
async def test_an_unmasked_client_frame_closes_with_1002(serve, when):
    server = await serve()
    ws = await set_up(server) if when == "after setup" else await RawWebSocket.connect(
        server.port)
    await ws.send(frame(OP_TEXT, TURN if when == "after setup" else SETUP, masked=False))
    code, _ = await ws.close_received()
    assert code == 1002
    ws.close()


async def test_masked_frames_split_anywhere_are_fine(serve):
    """The mask check follows frame boundaries across reads: a frame sent a byte at a time,
    then several in one write, all pass."""
    server = await serve()
    ws = await RawWebSocket.connect(server.port)
    for byte in frame(OP_TEXT, SETUP):
        await ws.send(bytes([byte]))
    assert json.loads((await ws.read_frame())[1]) == {"setupComplete": {}}
    big = json.dumps({"clientContent": {"turns": [{"role": "user", "parts": [
        {"text": "y" * 70000}]}], "turnComplete": False}}).encode()  # a 64-bit length
    await ws.send(frame(OP_TEXT, big) + frame(OP_TEXT, TURN))
    texts = []
    while True:
        message = json.loads((await ws.read_frame())[1])
        for part in message.get("serverContent", {}).get("modelTurn", {}).get("parts", []):
            texts.append(part.get("text", ""))
        if message.get("serverContent", {}).get("turnComplete"):
            break
    assert "".join(texts).endswith("hi")
    ws.close()


@pytest.mark.parametrize("code", [1005, 1006, 1015, 5000, 65535, 999, 1004, 2999])
async def test_a_close_code_no_endpoint_may_send_is_a_protocol_error(serve, code):
    server = await serve()
    ws = await set_up(server)
    await ws.send(close_frame(code, b"bye"))
    got, _ = await ws.close_received()
    assert got == 1002
    ws.close()


@pytest.mark.parametrize("code", [1000, 1001, 1011, 1013, 3000, 4999])
async def test_a_valid_close_code_gets_a_normal_close(serve, code):
    server = await serve()
    ws = await set_up(server)
    await ws.send(close_frame(code, b"bye"))
    got, _ = await ws.close_received()
    assert got == 1000
    ws.close()


def test_the_mask_scanner_follows_frames_split_at_random_points():
    """The scanner alone (no socket): frames of every length encoding, cut anywhere."""
    import random

    from openlive.server.rfc6455 import _MaskScanner

    rng = random.Random(13)
    sizes = [0, 1, 125, 126, 127, 65535, 65536, 70000]
    for _ in range(30):
        stream = b"".join(frame(OP_TEXT, b"x" * rng.choice(sizes)) for _ in range(6))
        bad_at = len(stream)
        stream += frame(OP_TEXT, b"unmasked", masked=False) + frame(OP_TEXT, b"later")
        scanner, fed, verdict = _MaskScanner(), 0, True
        while fed < len(stream) and verdict:
            step = rng.choice([1, 2, 3, 7, 14, 100, 5000, 100000])
            verdict = scanner.masked(stream[fed:fed + step])
            fed += step
        assert not verdict  # found...
        assert bad_at < fed <= bad_at + 100000  # ...in the read holding the bad header
