#!/usr/bin/env python
"""Latency the relay engine adds: the same Live turns straight to an openlive, and through
an openlive relay in front of it, on loopback.

Two servers run as their own processes: an upstream (``openlive serve``, emulator engine,
its own API key) and a relay (``openlive serve --engine relay --upstream …`` with the
upstream key in an environment variable and another key for clients). ``--clients``
sessions are opened to each; every sample is one text turn (``clientContent`` with
``turnComplete``) timed from the send to the first ``serverContent`` received (one message
through the relay each way), then drained to ``turnComplete``. Direct and relayed samples
alternate, so machine noise hits both alike. It prints p50/p90/p99 for both and the
added latency (relay - direct) at p50/p90/p99, plus session start (connect + setup ->
setupComplete, where the relay also dials the upstream).

    .venv/bin/python bench/relay_latency.py                        # 2000 samples, 1 client
    .venv/bin/python bench/relay_latency.py --samples 500 --clients 4
    .venv/bin/python bench/relay_latency.py --compress --json      # SDK-like deflate

Exit status: 0 if the added p50 is under ``--target-ms`` (default 1 ms), 1 if not,
2 for a start-up error.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import aiohttp

LIVE_PATH = "/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent"
# openlive's own emulator model, which still answers in TEXT: Google's Live models answer
# in AUDIO only (a TEXT setup is closed with 1007, issue 12), and the upstream would speak
# an AUDIO reply with its speech models when the local extra is installed, timing the
# synthesiser rather than the relay. The relay passes any model name upstream.
MODEL = "models/openlive-emulator"
UPSTREAM_KEY = "bench-upstream-key"
CLIENT_KEY = "bench-client-key"
KEY_ENV = "OPENLIVE_BENCH_UPSTREAM_KEY"
ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(name: str, port: int, args: list[str], env: dict[str, str]) -> tuple:
    log = Path(tempfile.gettempdir()) / f"openlive-bench-{name}-{port}.log"
    out = open(log, "w")  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen(
        [sys.executable, "-m", "openlive.cli", "serve", "--port", str(port),
         "--log-level", "warning", *args],
        stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=ROOT,
        env={**os.environ, **env})
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise SystemExit(f"{name} server did not start; see {log}") from None
            time.sleep(0.1)
    return proc, out, log


def stop_server(proc: subprocess.Popen, out) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    out.close()


async def open_session(http: aiohttp.ClientSession, url: str, key: str,
                       compress: bool) -> tuple[aiohttp.ClientWebSocketResponse, float]:
    start = time.perf_counter()
    ws = await http.ws_connect(url, headers={"x-goog-api-key": key},
                               compress=15 if compress else 0, max_msg_size=0)
    await ws.send_str(json.dumps({"setup": {
        "model": MODEL, "generationConfig": {"responseModalities": ["TEXT"]}}}))
    first = await ws.receive()
    if first.type not in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY) \
            or b"setupComplete" not in _bytes(first.data):
        raise SystemExit(f"setup failed at {url}: {first.type.name} {first.data!r} "
                         f"{first.extra!r}")
    return ws, time.perf_counter() - start


def _bytes(data: str | bytes) -> bytes:
    return data.encode() if isinstance(data, str) else data


async def one_turn(ws: aiohttp.ClientWebSocketResponse, text: str) -> float:
    """Seconds from sending a text turn to the first serverContent; then to turnComplete."""
    frame = json.dumps({"clientContent": {"turns": [{"role": "user", "parts": [
        {"text": text}]}], "turnComplete": True}}, separators=(",", ":"))
    start = time.perf_counter()
    await ws.send_str(frame)
    first = None
    while True:
        msg = await ws.receive()
        if msg.type not in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
            raise RuntimeError(f"session ended: {msg.type.name} {msg.data!r} {msg.extra!r}")
        data = _bytes(msg.data)
        if first is None and b"serverContent" in data:
            first = time.perf_counter() - start
        if b'"turnComplete"' in data:
            assert first is not None
            return first


def percentiles(values: list[float]) -> dict[str, float]:
    q = statistics.quantiles(values, n=100, method="inclusive")
    return {"p50": statistics.median(values), "p90": q[89], "p99": q[98], "max": max(values)}


async def client(http: aiohttp.ClientSession, urls: dict[str, str], keys: dict[str, str],
                 samples: int, warmup: int, compress: bool, out: dict[str, list[float]],
                 starts: dict[str, list[float]], index: int) -> None:
    sockets = {}
    for name, url in urls.items():
        sockets[name], took = await open_session(http, url, keys[name], compress)
        starts[name].append(took)
    order = list(urls)
    for i in range(warmup + samples):
        if index % 2:  # half the clients go relay first, half direct first
            order.reverse()
        for name in order:
            took = await one_turn(sockets[name], f"ping {i}")
            if i >= warmup:
                out[name].append(took)
    for ws in sockets.values():
        await ws.close()


async def measure(args: argparse.Namespace, urls: dict[str, str]) -> dict:
    keys = {"direct": UPSTREAM_KEY, "relay": CLIENT_KEY}
    out: dict[str, list[float]] = {name: [] for name in urls}
    starts: dict[str, list[float]] = {name: [] for name in urls}
    per_client = max(1, args.samples // args.clients)
    async with aiohttp.ClientSession() as http:
        # session starts: a few fresh connections each, alternated
        for _ in range(args.session_starts):
            for name, url in urls.items():
                ws, took = await open_session(http, url, keys[name], args.compress)
                starts[name].append(took)
                await ws.close()
        await asyncio.gather(*(client(http, urls, keys, per_client, args.warmup,
                                      args.compress, out, starts, i)
                               for i in range(args.clients)))
    ms = {name: [v * 1000 for v in values] for name, values in out.items()}
    result = {name: percentiles(values) for name, values in ms.items()}
    added = {k: result["relay"][k] - result["direct"][k] for k in ("p50", "p90", "p99")}
    start_ms = {name: statistics.median(v) * 1000 for name, v in starts.items()}
    return {"samples": {name: len(v) for name, v in ms.items()}, "turn_ms": result,
            "added_ms": added, "session_start_ms_p50": start_ms}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--samples", type=int, default=2000, help="turns per target (default 2000)")
    p.add_argument("--warmup", type=int, default=50, help="turns per client not counted")
    p.add_argument("--clients", type=int, default=1, help="concurrent sessions per target")
    p.add_argument("--session-starts", type=int, default=20,
                   help="fresh sessions opened per target to time session start")
    p.add_argument("--compress", action="store_true",
                   help="client and servers use permessage-deflate (as the SDKs offer); the "
                        "relay's upstream hop too")
    p.add_argument("--target-ms", type=float, default=1.0, help="added p50 target (1 ms)")
    p.add_argument("--json", action="store_true", help="also print one JSON line")
    args = p.parse_args()

    compression = [] if args.compress else ["--no-compression"]
    up_port, relay_port = free_port(), free_port()
    upstream = start_server("upstream", up_port, ["--api-key", UPSTREAM_KEY, *compression], {})
    relay = None
    try:
        relay = start_server("relay", relay_port, [
            "--engine", "relay", "--upstream", f"http://127.0.0.1:{up_port}",
            "--upstream-api-key-env", KEY_ENV, "--api-key", CLIENT_KEY, *compression,
            *(["--upstream-compression"] if args.compress else [])], {KEY_ENV: UPSTREAM_KEY})
        urls = {"direct": f"ws://127.0.0.1:{up_port}{LIVE_PATH}",
                "relay": f"ws://127.0.0.1:{relay_port}{LIVE_PATH}"}
        result = asyncio.run(measure(args, urls))
    finally:
        if relay is not None:
            stop_server(relay[0], relay[1])
        stop_server(upstream[0], upstream[1])

    turn, added = result["turn_ms"], result["added_ms"]
    print(f"relay latency, loopback, {args.clients} client(s), "
          f"{result['samples']['direct']} turns per target"
          f"{', permessage-deflate' if args.compress else ''}")
    print("text turn -> first serverContent (ms):")
    for name in ("direct", "relay"):
        t = turn[name]
        print(f"  {name:7s} p50 {t['p50']:7.3f}  p90 {t['p90']:7.3f}  p99 {t['p99']:7.3f}  "
              f"max {t['max']:7.3f}")
    print(f"  added   p50 {added['p50']:7.3f}  p90 {added['p90']:7.3f}  p99 {added['p99']:7.3f}"
          f"   (two relayed messages: the turn up, the reply down)")
    s = result["session_start_ms_p50"]
    print(f"session start (connect + setup -> setupComplete) p50: direct {s['direct']:.2f} ms, "
          f"relay {s['relay']:.2f} ms")
    met = added["p50"] < args.target_ms
    print(f"target: added p50 < {args.target_ms} ms: {'met' if met else 'NOT met'}")
    if args.json:
        print(json.dumps(result))
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
