#!/usr/bin/env python
"""Huge messages on one session, timed from another: does anyone else wait?

Issue 13's goal: while one session sends a 15 MiB text turn (under the 16 MiB frame limit,
refused by the model's input token limit with 1007) or a frame of 1,000,000 parts (refused
with 1009 by openlive's shape limits, wire/codec.py), another session's text turns and
``GET /healthz`` keep answering within 100 ms. The test suite checks this with a bound
loose enough for a busy CI machine (tests/integration/test_isolation.py); this benchmark
measures it.

For each ``--rounds`` round, and each kind of huge frame: a fresh session sends the frame;
from that moment until its close arrives (and ``--tail`` seconds more), a "talker" session
sends a text turn every ``--every`` seconds (send -> first modelTurn) and a poller asks
``/healthz`` as often. A baseline window with no huge frame comes first. Prints p50, p99
and max for each window.

    .venv/bin/python bench/isolation.py
    .venv/bin/python bench/isolation.py --rounds 5 --json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))
import sessions as sb  # noqa: E402  (bench/sessions.py: server start and stop)

SETUP = {"setup": {"model": sb.MODEL, "generationConfig": {"responseModalities": ["TEXT"]}}}


def huge_frames() -> dict[str, str]:
    text = json.dumps({"clientContent": {"turns": [{"role": "user", "parts": [
        {"text": "x" * (15 * 1024 * 1024 - 200)}]}], "turnComplete": True}})
    parts = json.dumps({"clientContent": {"turns": [{"role": "user", "parts": [
        {"text": "a"}] * 1_000_000}], "turnComplete": True}})
    return {"15 MiB text turn": text, "1M-part frame": parts}


async def open_session(http: aiohttp.ClientSession, url: str) -> aiohttp.ClientWebSocketResponse:
    ws = await http.ws_connect(url, max_msg_size=0, heartbeat=None)
    await ws.send_str(json.dumps(SETUP))
    msg = await ws.receive(timeout=30)
    if "setupComplete" not in str(msg.data):
        raise SystemExit(f"setup failed: {msg.type.name} {str(msg.data)[:80]}")
    return ws


async def one_turn(ws: aiohttp.ClientWebSocketResponse, n: int) -> float:
    """Send a text turn; seconds to its first modelTurn (the rest is read to turnComplete)."""
    t0 = time.monotonic()
    await ws.send_str(json.dumps({"realtimeInput": {"text": f"isolation turn {n}"}}))
    first = None
    while True:
        msg = await ws.receive(timeout=120)
        if msg.type not in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
            raise SystemExit(f"talker closed: {msg.type.name} {msg.data} {msg.extra}")
        data = json.loads(msg.data)
        content = data.get("serverContent") or {}
        if first is None and "modelTurn" in content:
            first = time.monotonic() - t0
        if content.get("turnComplete"):
            return first if first is not None else time.monotonic() - t0


async def window(http: aiohttp.ClientSession, url: str, health: str,
                 talker: aiohttp.ClientWebSocketResponse, frame: str | None,
                 every: float, tail: float, counter: list[int]) -> dict:
    turns: list[float] = []
    checks: list[float] = []
    done = asyncio.Event()
    close = None

    async def talk() -> None:
        while not done.is_set():
            counter[0] += 1
            turns.append(await one_turn(talker, counter[0]))
            await asyncio.sleep(every)

    async def poll() -> None:
        while not done.is_set():
            t0 = time.monotonic()
            async with http.get(health, timeout=aiohttp.ClientTimeout(total=120)) as r:
                await r.read()
            checks.append(time.monotonic() - t0)
            await asyncio.sleep(every)

    workers = [asyncio.create_task(talk()), asyncio.create_task(poll())]
    t0 = time.monotonic()
    if frame is None:
        await asyncio.sleep(tail * 2)
    else:
        big = await open_session(http, url)
        await big.send_str(frame)
        msg = await big.receive(timeout=300)
        close = f"{big.close_code} {str(msg.extra or '')[:60]}"
        await asyncio.sleep(tail)
    busy = time.monotonic() - t0
    done.set()
    await asyncio.gather(*workers)
    return {"turns": turns, "healthz": checks, "seconds": busy, "close": close}


def summary(xs: list[float]) -> str:
    if not xs:
        return "none"
    xs = sorted(xs)
    p99 = xs[min(len(xs) - 1, round(0.99 * (len(xs) - 1)))]
    return (f"p50 {statistics.median(xs) * 1000:7.1f} ms  p99 {p99 * 1000:7.1f} ms  "
            f"max {xs[-1] * 1000:7.1f} ms  (n={len(xs)})")


async def main_async(args) -> dict:
    proc, base, log = sb.start_server(args)
    url = base + sb.LIVE_PATH
    health = base.replace("ws://", "http://") + "/healthz"
    out: dict = {"windows": []}
    try:
        frames = huge_frames()
        async with aiohttp.ClientSession() as http:
            talker = await open_session(http, url)
            counter = [0]
            plan = [("baseline (no huge frame)", None)]
            for _ in range(args.rounds):
                plan += list(frames.items())
            for name, frame in plan:
                w = await window(http, url, health, talker, frame, args.every, args.tail,
                                 counter)
                w["name"] = name
                out["windows"].append(w)
                if not args.json:
                    close = f", closed {w['close']}" if w["close"] else ""
                    print(f"{name} ({w['seconds']:.1f} s{close})\n"
                          f"  other session's turns  {summary(w['turns'])}\n"
                          f"  /healthz               {summary(w['healthz'])}")
            await talker.close()
    finally:
        sb.stop_server(proc)
    huge = [w for w in out["windows"] if w["close"] is not None]
    out["huge_turns_max_ms"] = round(max(x for w in huge for x in w["turns"]) * 1000, 1)
    out["huge_healthz_max_ms"] = round(max(x for w in huge for x in w["healthz"]) * 1000, 1)
    out["server_log"] = str(log)
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rounds", type=int, default=3, help="rounds of both huge frames (3)")
    p.add_argument("--every", type=float, default=0.05,
                   help="seconds between the talker's turns, and between /healthz (0.05)")
    p.add_argument("--tail", type=float, default=1.0,
                   help="seconds timed after each huge frame's close (1)")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--server-arg", action="append", default=[], metavar="ARG")
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    args.compression, args.server_wrapper = False, None
    out = asyncio.run(main_async(args))
    if args.json:
        print(json.dumps(out))
    else:
        print(f"during huge frames: other session's first reply max {out['huge_turns_max_ms']}"
              f" ms, /healthz max {out['huge_healthz_max_ms']} ms (goal: 100 ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
