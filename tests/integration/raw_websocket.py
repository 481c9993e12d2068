"""A deliberately bare WebSocket client over a raw socket, for what no library client will
send: unmasked frames, reserved close codes, a client that never reads (RFC 6455)."""

from __future__ import annotations

import asyncio
import base64
import os
import socket
import struct

from live_client import LIVE_PATH

OP_TEXT, OP_BINARY, OP_CLOSE = 0x1, 0x2, 0x8


def frame(opcode: int, payload: bytes, *, masked: bool = True, fin: bool = True,
          rsv: int = 0) -> bytes:
    """One frame as RFC 6455 §5.2 lays it out (a client must mask: ``masked=False`` breaks
    that rule on purpose)."""
    head = bytes([(0x80 if fin else 0) | (rsv << 4) | opcode])
    n = len(payload)
    mask_bit = 0x80 if masked else 0
    if n < 126:
        head += bytes([mask_bit | n])
    elif n < 1 << 16:
        head += bytes([mask_bit | 126]) + struct.pack("!H", n)
    else:
        head += bytes([mask_bit | 127]) + struct.pack("!Q", n)
    if not masked:
        return head + payload
    key = os.urandom(4)
    return head + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


def close_frame(code: int, reason: bytes = b"", *, masked: bool = True) -> bytes:
    return frame(OP_CLOSE, struct.pack("!H", code) + reason, masked=masked)


class RawWebSocket:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def connect(cls, port: int, *, receive_buffer: int | None = None) -> RawWebSocket:
        """Upgrade a fresh loopback connection to the Live endpoint (``receive_buffer``:
        SO_RCVBUF, small for a client that is not going to read)."""
        sock = socket.socket()
        if receive_buffer is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
        reader, writer = await asyncio.open_connection(sock=sock)
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write((f"GET {LIVE_PATH} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                      "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                      f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        await writer.drain()
        async with asyncio.timeout(10):
            head = await reader.readuntil(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 101"), head
        return cls(reader, writer)

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def read_frame(self) -> tuple[int, bytes]:
        """(opcode, payload) of the server's next frame (servers never mask)."""
        b0, b1 = await self.reader.readexactly(2)
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack("!H", await self.reader.readexactly(2))[0]
        elif n == 127:
            n = struct.unpack("!Q", await self.reader.readexactly(8))[0]
        return b0 & 0x0F, await self.reader.readexactly(n)

    async def close_received(self, timeout: float = 20.0) -> tuple[int, str]:
        """Skip data frames until the server's close: (code, reason)."""
        async with asyncio.timeout(timeout):
            while True:
                opcode, payload = await self.read_frame()
                if opcode == OP_CLOSE:
                    code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
                    return code, payload[2:].decode("utf-8", "replace")

    def close(self) -> None:
        self.writer.close()
