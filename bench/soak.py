#!/usr/bin/env python
"""Soak: Live sessions with speech and text for a long time; the server's memory and latency
minute by minute, to show both stay flat.

``--sessions`` sessions (100) stream 16 kHz microphone audio in real time, 20 ms chunks, as
``bench/sessions.py`` does: idle microphones (digital silence or faint noise, half each)
sending a text turn every ``--turn-every`` seconds, and ``--speakers`` of them (5) speaking
a real sentence made by Piper every few seconds instead. Every minute one line: the server's
RSS, first-reply p50/p99 of that minute's text turns (each reply matched to its turn by the
emulator's echo), turns sent and answered, speech turns answered, sessions alive. Sessions
are reopened when the server ends them (its connection lifetime, or a goAway), so a long
soak keeps its load; each reopening is counted.

    .venv/bin/python bench/soak.py                 # 30 minutes
    .venv/bin/python bench/soak.py --minutes 5 --json

The server runs as a separate process (``openlive serve``; ``--server-arg`` passes flags).
One client process; at 100 sessions it uses a few percent of a core. Exit status 0 if no
turn went unanswered and the server's RSS in the last minute is within ``--rss-slack`` MiB
(default 100) of the first full minute's, else 1.
"""

from __future__ import annotations

import argparse
import array
import asyncio
import json
import random
import re
import sys
import time
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))
import sessions as sb  # noqa: E402  (bench/sessions.py: frames, server start, /proc readers)

TURN_NO = re.compile(r"soak session \d+, turn (\d+)")  # the emulator echoes the turn's text


class Soak:
    def __init__(self, args: argparse.Namespace, url: str, server_pid: int) -> None:
        self.args = args
        self.url = url
        self.pid = server_pid
        speech = sb.speech_pcm(args.speech_wav) if args.speakers else b""
        cfg = {"seed": args.seed, "speech": speech, "speakers": args.speakers, "audio": "idle"}
        self.mics = sb.microphones(cfg)
        self.cfg = cfg
        self.setup = sb.setup_frame(args.model)
        self.rng = random.Random(args.seed)
        self.minute = self._new_minute()
        self.reopened = 0
        self.unanswered = 0  # turns never answered on a connection that ended
        self.turns_open = True  # False for the grace period at the end

    def _new_minute(self) -> dict:
        return {"latency": array.array("d"), "turns": 0, "answered": 0, "speech": 0,
                "errors": 0}

    async def session(self, http: aiohttp.ClientSession, idx: int, stop: asyncio.Event) -> None:
        speaker = idx < self.args.speakers
        frames = self.mics[sb.microphone(idx, self.cfg)]
        first = True
        while not stop.is_set():
            if not first:
                self.reopened += 1
            first = False
            try:
                await self._one_connection(http, idx, speaker, frames, stop)
            except (TimeoutError, aiohttp.ClientError, OSError):
                self.minute["errors"] += 1
                await asyncio.sleep(1)

    async def _one_connection(self, http, idx, speaker, frames, stop) -> None:
        async with http.ws_connect(self.url, max_msg_size=0, heartbeat=None) as ws:
            await ws.send_str(self.setup)
            msg = await asyncio.wait_for(ws.receive(), 30)
            if msg.type is not aiohttp.WSMsgType.TEXT and msg.type is not aiohttp.WSMsgType.BINARY:
                raise aiohttp.ClientError(f"setup: {msg.type.name} {msg.data}")
            pending: dict[int, float] = {}  # turn number -> send time, until its reply
            reader = asyncio.create_task(self._read(ws, speaker, pending))
            try:
                frame_no = 0 if speaker else self.rng.randrange(len(frames))
                next_turn = time.monotonic() + self.rng.uniform(0, self.args.turn_every)
                tick = time.monotonic()
                turn_no = 0
                while not stop.is_set() and not reader.done():
                    await ws.send_str(frames[frame_no])
                    frame_no = (frame_no + 1) % len(frames)
                    now = time.monotonic()
                    if not speaker and now >= next_turn and self.turns_open:
                        turn_no += 1
                        await ws.send_str(sb.turn_frame(
                            "client-content", f"soak session {idx}, turn {turn_no}"))
                        pending[turn_no] = time.monotonic()
                        self.minute["turns"] += 1
                        next_turn += self.args.turn_every
                    tick += sb.CHUNK_S
                    await asyncio.sleep(max(0.0, tick - time.monotonic()))
            finally:
                reader.cancel()
                await asyncio.gather(reader, return_exceptions=True)
                self.unanswered += len(pending)

    async def _read(self, ws, speaker: bool, pending: dict[int, float]) -> None:
        async for msg in ws:
            if msg.type is not aiohttp.WSMsgType.TEXT and msg.type is not aiohttp.WSMsgType.BINARY:
                break
            data = msg.data if isinstance(msg.data, str) else msg.data.decode("utf-8", "replace")
            if "modelTurn" in data and (m := TURN_NO.search(data)):
                sent = pending.pop(int(m.group(1)), None)
                if sent is not None:  # the reply's first message (a long echo has more)
                    self.minute["latency"].append(time.monotonic() - sent)
                    self.minute["answered"] += 1
            elif speaker and "turnComplete" in data:
                self.minute["speech"] += 1

    def report(self, n: int, alive: int) -> dict:
        m, self.minute = self.minute, self._new_minute()
        lat = sorted(m["latency"])
        row = {"minute": n, "server_rss_mib": round(sb.rss_mib(self.pid) or 0, 1),
               "p50_ms": round((sb.percentile(lat, 50) or 0) * 1000, 1),
               "p99_ms": round((sb.percentile(lat, 99) or 0) * 1000, 1),
               "max_ms": round((lat[-1] if lat else 0) * 1000, 1),
               "turns": m["turns"], "answered": m["answered"], "speech_turns": m["speech"],
               "errors": m["errors"], "reopened": self.reopened, "alive": alive}
        return row


async def soak(args: argparse.Namespace) -> list[dict]:
    proc = None
    if args.url:
        url, pid = args.url, args.server_pid
    else:
        proc, url, log = sb.start_server(args)
        pid = proc.pid
        print(f"server pid {pid}, log {log}", file=sys.stderr)
    if "/ws/" not in url:
        url = url.rstrip("/") + sb.LIVE_PATH
    runner = Soak(args, url, pid)
    stop = asyncio.Event()
    rows: list[dict] = []
    try:
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(connector=connector) as http:
            tasks = [asyncio.create_task(runner.session(http, i, stop))
                     for i in range(args.sessions)]
            for n in range(1, args.minutes + 1):
                await asyncio.sleep(args.minute_s)
                alive = sum(1 for t in tasks if not t.done())
                row = runner.report(n, alive)
                rows.append(row)
                print(json.dumps(row) if args.json else
                      f"minute {n:3d}  RSS {row['server_rss_mib']:7.1f} MiB  first reply p50 "
                      f"{row['p50_ms']:6.1f} ms  p99 {row['p99_ms']:7.1f} ms  max "
                      f"{row['max_ms']:7.1f} ms  turns sent {row['turns']} answered "
                      f"{row['answered']}  speech turns {row['speech_turns']}  "
                      f"errors {row['errors']}  reopened {row['reopened']}", flush=True)
            runner.turns_open = False
            await asyncio.sleep(args.grace)  # the last turns' replies
            stop.set()
            await asyncio.gather(*tasks, return_exceptions=True)
            rows[-1]["unanswered_at_end"] = runner.unanswered
    finally:
        if proc is not None:
            sb.stop_server(proc)
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--minutes", type=int, default=30, help="how long (30)")
    p.add_argument("--sessions", type=int, default=100, help="concurrent sessions (100)")
    p.add_argument("--speakers", type=int, default=5,
                   help="sessions speaking a real sentence (Piper) instead of text turns (5)")
    p.add_argument("--speech-wav", metavar="FILE", help="the sentence (mono 16-bit WAV)")
    p.add_argument("--turn-every", type=float, default=5.0,
                   help="seconds between a session's text turns (5)")
    p.add_argument("--model", default=sb.MODEL, help=f"({sb.MODEL}: TEXT replies)")
    p.add_argument("--url", help="a running server (ws://host:port) instead of starting one")
    p.add_argument("--server-pid", type=int, default=0, help="with --url: its pid, for RSS")
    p.add_argument("--server-arg", action="append", default=[], metavar="ARG",
                   help="extra argument for `openlive serve` (repeatable)")
    p.add_argument("--grace", type=float, default=5.0,
                   help="seconds at the end for the last turns' replies (5)")
    p.add_argument("--rss-slack", type=float, default=100.0,
                   help="MiB the last minute's RSS may exceed the first's (100)")
    p.add_argument("--minute-s", type=float, default=60.0, help=argparse.SUPPRESS)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--json", action="store_true", help="one JSON object a minute")
    args = p.parse_args(argv)
    # what sessions.start_server reads
    args.port, args.compression, args.server_wrapper = 0, False, None
    args.server_arg = ["--log-level=warning", *args.server_arg]
    sb.raise_nofile()
    rows = asyncio.run(soak(args))
    if not rows:
        return 1
    unanswered = rows[-1]["unanswered_at_end"]
    grew = rows[-1]["server_rss_mib"] - rows[0]["server_rss_mib"]
    print(f"soak: {len(rows)} minutes, {args.sessions} sessions ({args.speakers} speaking): "
          f"RSS {rows[0]['server_rss_mib']} -> {rows[-1]['server_rss_mib']} MiB "
          f"({grew:+.1f}), worst minute p99 {max(r['p99_ms'] for r in rows)} ms, "
          f"turns never answered {unanswered} (after a {args.grace:.0f} s grace)",
          file=sys.stderr)
    return 0 if unanswered == 0 and grew <= args.rss_slack else 1


if __name__ == "__main__":
    sys.exit(main())
