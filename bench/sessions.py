#!/usr/bin/env python
"""Concurrent Live sessions against an openlive server: how many hold, and at what cost.

Each session does what a voice app does: setup (``--model``, responseModalities TEXT:
openlive's own ``models/openlive-emulator`` by default, since Google's Live models answer
only in AUDIO), wait for setupComplete, then stream 16 kHz mono PCM16 microphone audio as
20 ms ``realtimeInput.audio`` chunks (640 bytes, base64; ``--chunk-ms``) at real-time pace,
plus a text turn (``clientContent`` with turnComplete, or ``realtimeInput.text``) every few
seconds.

The microphone (``--audio``) is by default what idle microphones send: digital silence on
half the sessions, faint noise (-65 dBFS RMS) on the other half; ``tone`` is a loud 440 Hz
tone. ``--speakers N`` makes N of the sessions speak instead: a real sentence synthesised
by Piper (the ``local`` extra's speech synthesiser; or ``--speech-wav FILE``), then a few
seconds of faint noise, over and over; they send no text turns, and the replies to what
they say are counted. With the ``local`` extra installed the server's emulator listens:
voice activity detection runs on every session's audio (an energy gate, then Silero), and
the speakers' utterances are transcribed by Whisper.

By default the server runs as a separate process (``python -m openlive.cli serve``), so
client and server never share an event loop; ``--url`` targets a server already running
(``--server-pid`` then lets the benchmark read its CPU time).

    .venv/bin/python bench/sessions.py --sessions 500 --duration 30
    .venv/bin/python bench/sessions.py --sessions 100 --client-procs 2 --json
    .venv/bin/python bench/sessions.py --url ws://127.0.0.1:8080 --server-pid 1234

The client is kept cheap so it is not the bottleneck: one asyncio loop per client
process (``--client-procs``) with aiohttp's C-accelerated WebSocket reader and masking,
audio frames JSON-encoded once, and one audio ticker per process (sessions are spread
over 20 one-millisecond phase slots; each slot fires every 20 ms against a monotonic
schedule, so lateness never accumulates). A session the server refuses at setup with 1011
(past its ``--max-sessions`` or event-loop-lag capacity) counts as refused, not dropped.
A turn counts as answered when the first modelTurn echoing its text arrives (each reply
matched to its turn), within ``--grace`` seconds after the window for its last turns.
Exit status: 0 if every session held or was refused, 1 if any was dropped (closed,
errored or never set up), 2 for a usage or start-up error.
"""

from __future__ import annotations

import argparse
import array
import asyncio
import base64
import json
import math
import multiprocessing as mp
import os
import random
import re
import resource
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from pathlib import Path

import aiohttp

LIVE_PATH = "/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent"
MODEL = "models/openlive-emulator"  # openlive's own model: TEXT replies allowed
SPEECH_TEXT = "What is the weather like in Paris today?"
NOISE_DBFS = -65.0  # an idle microphone's faint noise (RMS)
SPEECH_GAP_S = 3.0  # faint noise between a speaker's sentences
TURN_NO = re.compile(r"hello s\d+ t(\d+)")  # a text turn, echoed in the emulator's reply
RATE = 16000
CHUNK_S = 0.020
CHUNK_BYTES = int(RATE * CHUNK_S) * 2  # 640 bytes of PCM16 mono
SLOTS = 20  # phase slots per tick (1 ms apart at 20 ms chunks)
CLK_TCK = os.sysconf("SC_CLK_TCK")
SETUP_LIMIT_S = 45.0  # connect + upgrade + setupComplete, per session


# ------------------------------------------------------------------ pre-encoded frames

def pcm_frames(pcm: bytes) -> list[str]:
    """16 kHz PCM16 mono as CHUNK_S realtimeInput.audio frames, JSON-encoded once."""
    pcm += bytes(-len(pcm) % CHUNK_BYTES)
    return [json.dumps({"realtimeInput": {"audio": {
        "data": base64.b64encode(pcm[i:i + CHUNK_BYTES]).decode("ascii"),
        "mimeType": f"audio/pcm;rate={RATE}"}}}, separators=(",", ":"))
        for i in range(0, len(pcm), CHUNK_BYTES)]


def tone_pcm(seconds: float = 1.0) -> bytes:
    pcm = array.array("h", (int(8000 * math.sin(2 * math.pi * 440 * n / RATE))
                            for n in range(int(RATE * seconds))))
    if sys.byteorder != "little":
        pcm.byteswap()
    return pcm.tobytes()


def noise_pcm(seconds: float, seed: int, dbfs: float = NOISE_DBFS) -> bytes:
    """Gaussian noise at ``dbfs`` RMS: an idle microphone's hiss."""
    rng = random.Random(seed)
    sigma = 32768 * 10 ** (dbfs / 20)
    pcm = array.array("h", (max(-32768, min(32767, round(rng.gauss(0, sigma))))
                            for _ in range(int(RATE * seconds))))
    if sys.byteorder != "little":
        pcm.byteswap()
    return pcm.tobytes()


def speech_pcm(wav: str | None) -> bytes:
    """A spoken sentence at 16 kHz: ``wav`` (any rate, mono PCM16), else made by Piper."""
    import numpy as np
    import soxr

    if wav:
        import wave

        with wave.open(wav, "rb") as w:
            if w.getnchannels() != 1 or w.getsampwidth() != 2:
                raise SystemExit(f"{wav}: need mono 16-bit PCM")
            rate, pcm = w.getframerate(), w.readframes(w.getnframes())
    else:
        from openlive.engines.audio.tts import Synthesizer

        tts = Synthesizer(noise_scale=0.0, noise_w_scale=0.0)
        rate, pcm = tts.output_rate, b"".join(tts.synthesize(SPEECH_TEXT))
    samples = np.frombuffer(pcm, dtype="<i2")
    if rate != RATE:
        samples = soxr.resample(samples, rate, RATE).astype("<i2")
    return samples.tobytes()


def microphones(cfg: dict) -> dict[str, list[str]]:
    """The pre-encoded frames of each kind of microphone the sessions use."""
    out = {"silence": pcm_frames(bytes(CHUNK_BYTES)),
           "noise": pcm_frames(noise_pcm(2.0, cfg["seed"])),
           "tone": pcm_frames(tone_pcm())}
    if cfg["speech"]:
        out["speech"] = pcm_frames(cfg["speech"] + noise_pcm(SPEECH_GAP_S, cfg["seed"] + 1))
    return out


def microphone(idx: int, cfg: dict) -> str:
    if idx < cfg["speakers"]:
        return "speech"
    if cfg["audio"] == "idle":
        return ("silence", "noise")[idx % 2]
    return cfg["audio"]


def setup_frame(model: str = MODEL) -> str:
    return json.dumps({"setup": {"model": model,
                                 "generationConfig": {"responseModalities": ["TEXT"]}}},
                      separators=(",", ":"))


def turn_frame(kind: str, text: str) -> str:
    if kind == "realtime-text":
        return json.dumps({"realtimeInput": {"text": text}}, separators=(",", ":"))
    return json.dumps({"clientContent": {"turns": [{"role": "user", "parts": [{"text": text}]}],
                                         "turnComplete": True}}, separators=(",", ":"))


# ------------------------------------------------------------------------- helpers

def cpu_seconds(pid: int) -> float | None:
    """utime + stime of a process (from /proc/PID/stat), in seconds."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # fields 14, 15 of stat(5)


def rss_mib(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def machine_cpu() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine, from /proc/stat."""
    vals = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = vals[3] + (vals[4] if len(vals) > 4 else 0)
    total = sum(vals[:8])
    return total - idle, total


def percentile(sorted_vals, q: float) -> float | None:
    if not sorted_vals:
        return None
    k = max(0, min(len(sorted_vals) - 1, math.ceil(q / 100 * len(sorted_vals)) - 1))
    return sorted_vals[k]


def raise_nofile() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -------------------------------------------------------------------- client worker

class Sess:
    __slots__ = ("idx", "ws", "alive", "close_code", "error", "pending", "next_turn",
                 "turn_no", "frame_no", "frames", "speaker")

    def __init__(self, idx: int, frames: list[str], speaker: bool) -> None:
        self.idx = idx
        self.frames = frames
        self.speaker = speaker  # speaks (frames of real speech) and sends no text turns
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.alive = False
        self.close_code: int | None = None
        self.error: str | None = None
        # turn number -> (send time, sent in the window) until its first reply
        self.pending: dict[int, tuple[float, bool]] = {}
        self.next_turn = 0.0
        self.turn_no = 0
        self.frame_no = 0


class Worker:
    def __init__(self, wid: int, conn, cfg: dict) -> None:
        self.wid = wid
        self.conn = conn
        self.cfg = cfg
        self.ids = list(range(wid, cfg["sessions"], cfg["client_procs"]))
        mics = microphones(cfg)
        self.sessions = [Sess(i, mics[microphone(i, cfg)], i < cfg["speakers"])
                         for i in self.ids]
        self.rng = random.Random(cfg["seed"] * 1000 + wid)
        self.slots: list[list[Sess]] = [[] for _ in range(SLOTS)]
        self.setup = setup_frame(cfg["model"])
        self.stopping = False
        self.in_window = False
        self.stop_event: asyncio.Event | None = None
        # counters (window only, except where noted)
        self.sent = 0
        self.audio_sent = 0
        self.turns_sent = 0
        self.recv = 0
        self.turns_done = 0
        self.replies = 0
        self.speech_replies = 0  # turnComplete of a speaker's spoken turn (in the window)
        self.latency = array.array("d")  # turn send -> first modelTurn, seconds
        self.lateness = array.array("f")  # audio chunk send lateness, seconds
        self.dropped_codes: Counter[str] = Counter()
        self.setup_times = array.array("d")
        self.cpu0 = self.cpu1 = 0.0

    # ---- lifecycle

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        self.stop_event = asyncio.Event()
        loop.add_reader(self.conn.fileno(), self._on_pipe)
        connector = aiohttp.TCPConnector(limit=0, enable_cleanup_closed=False)
        timeout = aiohttp.ClientTimeout(total=None, connect=30, sock_connect=30)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
            self.http = http
            t0 = self.cfg["t0"]
            ramp = self.cfg["ramp"]
            tasks = [asyncio.create_task(self._life(s, t0 + s.idx / ramp))
                     for s in self.sessions]
            ticker = asyncio.create_task(self._ticker())
            self._up_tasks = [asyncio.create_task(self._wait_up(s)) for s in self.sessions]
            await asyncio.gather(*self._up_tasks)
            ok = sum(1 for s in self.sessions if s.alive)
            self.conn.send(("up", self.wid, ok, len(self.sessions) - ok))
            await self.stop_event.wait()
            self.stopping = True
            ticker.cancel()
            held = sum(1 for s in self.sessions if s.alive)
            await asyncio.gather(*(self._close(s) for s in self.sessions),
                                 return_exceptions=True)
            await asyncio.gather(*tasks, return_exceptions=True)
        loop.remove_reader(self.conn.fileno())
        os.set_blocking(self.conn.fileno(), True)  # (uvloop left the pipe non-blocking)
        self.conn.send(("result", self.wid, self._result(held)))

    def _on_pipe(self) -> None:
        while self.conn.poll():
            msg = self.conn.recv()
            if msg[0] == "window":
                _, start, end = msg
                loop = asyncio.get_running_loop()
                loop.call_later(max(0.0, start - time.monotonic()), self._window, True)
                loop.call_later(max(0.0, end - time.monotonic()), self._window, False)
            elif msg[0] == "stop":
                assert self.stop_event is not None
                self.stop_event.set()

    def _window(self, on: bool) -> None:
        t = os.times()
        if on:
            self.cpu0 = t.user + t.system
        else:
            self.cpu1 = t.user + t.system
        self.in_window = on

    async def _wait_up(self, s: Sess) -> None:
        # Resolved by _life once the session is set up or has failed.
        while not s.alive and s.error is None and s.close_code is None:
            await asyncio.sleep(0.05)

    async def _close(self, s: Sess) -> None:
        if s.ws is not None and not s.ws.closed:
            try:
                await asyncio.wait_for(s.ws.close(), 5)
            except (TimeoutError, OSError, aiohttp.ClientError):
                pass

    # ---- one session

    async def _life(self, s: Sess, start_at: float) -> None:
        delay = start_at - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        t_start = time.monotonic()
        try:  # connect, upgrade and setup get SETUP_LIMIT_S in all: a server past its
            # capacity may leave a handshake unanswered; such a session is counted, not waited on
            async with asyncio.timeout(SETUP_LIMIT_S):
                await self._open(s)
        except TimeoutError:
            s.error = s.error or "setup: no answer in time"
            if s.ws is not None:
                s.close_code = s.ws.close_code
            return
        if s.error is not None:
            return
        self.setup_times.append(time.monotonic() - t_start)
        now = time.monotonic()
        s.next_turn = now + self.rng.uniform(0, self.cfg["turn_every"])
        s.frame_no = 0 if s.speaker else self.rng.randrange(len(s.frames))
        s.alive = True
        self.slots[self.rng.randrange(SLOTS)].append(s)
        await self._receive(s, s.ws)

    async def _open(self, s: Sess) -> None:
        """Connect and set up; a failure is left in ``s.error``."""
        try:
            ws = await self.http.ws_connect(
                self.cfg["url"], autoclose=True, autoping=True,
                compress=15 if self.cfg["client_compress"] else 0,
                max_msg_size=0, heartbeat=None)
        except Exception as exc:  # noqa: BLE001 - any failure to connect is a drop
            s.error = f"connect: {type(exc).__name__}"
            return
        s.ws = ws
        try:
            await ws.send_str(self.setup)
            msg = await asyncio.wait_for(ws.receive(), 30)
            if msg.type not in (aiohttp.WSMsgType.BINARY, aiohttp.WSMsgType.TEXT) or \
                    "setupComplete" not in (msg.data if isinstance(msg.data, str)
                                            else msg.data.decode("utf-8", "replace")):
                s.close_code = ws.close_code
                if msg.type is aiohttp.WSMsgType.CLOSE and msg.data == 1011:
                    s.error = f"refused: 1011 {msg.extra}"  # past the server's capacity
                else:
                    s.error = f"setup: {msg.type.name} {str(msg.data)[:60]}"
                return
        except Exception as exc:  # noqa: BLE001
            s.error = f"setup: {type(exc).__name__}"

    async def _receive(self, s: Sess, ws: aiohttp.ClientWebSocketResponse) -> None:
        binary = aiohttp.WSMsgType.BINARY
        text = aiohttp.WSMsgType.TEXT
        try:
            while True:
                msg = await ws.receive()
                if msg.type is binary or msg.type is text:
                    data = msg.data
                    if not isinstance(data, str):
                        data = data.decode("utf-8", "replace")
                    if self.in_window:
                        self.recv += 1
                    if "modelTurn" in data:
                        m = TURN_NO.search(data)  # the emulator echoes the turn's text
                        sent = s.pending.pop(int(m.group(1)), None) if m else None
                        if sent is not None and sent[1]:  # sent in the window: counted
                            self.latency.append(time.monotonic() - sent[0])
                            self.replies += 1
                    elif "turnComplete" in data:
                        if self.in_window:
                            self.turns_done += 1
                            if s.speaker:
                                self.speech_replies += 1
                    continue
                break  # CLOSE, CLOSING, CLOSED or ERROR
        except Exception as exc:  # noqa: BLE001
            s.error = f"receive: {type(exc).__name__}"
        s.alive = False
        if not self.stopping:
            s.close_code = ws.close_code
            if s.error is None:
                s.error = f"closed {ws.close_code}"

    # ---- the audio (and turn) clock

    async def _ticker(self) -> None:
        turn_every = self.cfg["turn_every"]
        turn_kind = self.cfg["turn_kind"]
        mono = time.monotonic
        sleep = asyncio.sleep
        base = mono()
        k = 0
        while True:
            tick = base + k * CHUNK_S
            for slot in range(SLOTS):
                due = tick + slot * (CHUNK_S / SLOTS)
                delay = due - mono()
                if delay > 0:
                    await sleep(delay)
                group = self.slots[slot]
                if not group:
                    continue
                for s in group:
                    if not s.alive:
                        continue
                    ws = s.ws
                    now = mono()
                    try:
                        await ws.send_str(s.frames[s.frame_no])  # type: ignore[union-attr]
                        s.frame_no = (s.frame_no + 1) % len(s.frames)
                        if now >= s.next_turn and not s.speaker:
                            s.turn_no += 1
                            await ws.send_str(turn_frame(  # type: ignore[union-attr]
                                turn_kind, f"hello s{s.idx} t{s.turn_no}"))
                            s.pending[s.turn_no] = (mono(), self.in_window)
                            s.next_turn += turn_every
                            if self.in_window:
                                self.turns_sent += 1
                                self.sent += 1
                    except Exception as exc:  # noqa: BLE001
                        if not self.stopping and s.error is None:
                            s.error = f"send: {type(exc).__name__}"
                        continue
                    if self.in_window:
                        self.sent += 1
                        self.audio_sent += 1
                        self.lateness.append(now - due)
                if len(group) > 64:
                    group[:] = [s for s in group if s.alive]
            k += 1

    def _result(self, held: int) -> dict:
        dropped = Counter()
        for s in self.sessions:
            if s.error is not None:
                dropped[s.error] += 1
        return {
            "sessions": len(self.sessions), "held": held, "dropped": dict(dropped),
            "sent": self.sent, "audio_sent": self.audio_sent, "turns_sent": self.turns_sent,
            "recv": self.recv, "turns_done": self.turns_done, "replies": self.replies,
            "speech_replies": self.speech_replies,
            "latency": self.latency.tobytes(), "lateness": self.lateness.tobytes(),
            "setup_times": self.setup_times.tobytes(), "cpu": self.cpu1 - self.cpu0,
        }


def worker_main(wid: int, conn, cfg: dict) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the coordinator handles Ctrl+C
    raise_nofile()
    try:
        import uvloop  # type: ignore[import-not-found]
        if cfg.get("uvloop"):
            uvloop.install()
    except ImportError:
        pass
    asyncio.run(Worker(wid, conn, cfg).run())


# ----------------------------------------------------------------------- coordinator

def start_server(args) -> tuple[subprocess.Popen, str, Path]:
    port = args.port or free_port()
    cmd = [sys.executable, "-m", "openlive.cli", "serve", "--port", str(port)]
    if not args.compression:
        cmd.append("--no-compression")
    cmd += args.server_arg
    if args.server_wrapper:  # replaces the interpreter: WRAPPER -m openlive.cli serve …
        cmd = shlex.split(args.server_wrapper) + cmd[1:]
    log = Path(tempfile.gettempdir()) / f"openlive-bench-server-{port}.log"
    env = dict(os.environ)
    src = str(Path(__file__).resolve().parent.parent / "src")
    env["PYTHONPATH"] = src + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    proc = subprocess.Popen(cmd, stdout=log.open("wb"), stderr=subprocess.STDOUT, env=env,
                            preexec_fn=raise_nofile)
    health = f"http://127.0.0.1:{port}/healthz"
    deadline = time.monotonic() + 30
    while True:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}; see {log}")
        try:
            with urllib.request.urlopen(health, timeout=1) as r:
                if r.status == 200:
                    break
        except OSError:
            pass
        if time.monotonic() > deadline:
            proc.kill()
            raise SystemExit(f"server did not answer {health} in 30 s; see {log}")
        time.sleep(0.1)
    return proc, f"ws://127.0.0.1:{port}", log


def stop_server(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def start_py_spy(out: str, pid: int | None, duration: float) -> subprocess.Popen | None:
    if pid is None:
        print("bench: --py-spy needs the server's pid", file=sys.stderr)
        return None
    exe = Path(sys.executable).with_name("py-spy")
    fmt = {".txt": "raw", ".speedscope": "speedscope", ".json": "speedscope"}.get(
        Path(out).suffix, "flamegraph")
    cmd = [str(exe) if exe.exists() else "py-spy", "record", "--pid", str(pid),
           "--duration", str(max(1, int(duration) - 1)), "--format", fmt, "-o", out,
           *([] if os.environ.get("BENCH_PY_SPY_BLOCKING") else ["--nonblocking"])]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def wait_msgs(conns, kind: str, timeout: float) -> list:
    out, pending = [], list(conns)
    deadline = time.monotonic() + timeout
    while pending:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"client workers did not report {kind!r} in {timeout:.0f} s")
        for c in mp.connection.wait(pending, timeout=left):
            msg = c.recv()
            if msg[0] == kind:
                out.append(msg)
                pending.remove(c)
    return out


def run(args) -> dict:
    proc = None
    log = None
    url = args.url
    if url is None:
        proc, url, log = start_server(args)
        server_pid = proc.pid
    else:
        server_pid = args.server_pid
    if "/ws/" not in url:
        url = url.rstrip("/") + LIVE_PATH
    cfg = {"url": url, "sessions": args.sessions, "client_procs": args.client_procs,
           "ramp": args.ramp, "turn_every": args.turn_every, "turn_kind": args.turn_kind,
           "seed": args.seed, "client_compress": args.client_compress,
           "t0": time.monotonic() + 0.5, "uvloop": args.uvloop, "model": args.model,
           "audio": args.audio, "speakers": args.speakers,
           "speech": speech_pcm(args.speech_wav) if args.speakers else b""}
    ctx = mp.get_context("fork")
    conns, workers = [], []
    t_ramp = time.monotonic()
    for wid in range(args.client_procs):
        parent, child = ctx.Pipe()
        p = ctx.Process(target=worker_main, args=(wid, child, cfg), daemon=True)
        p.start()
        conns.append(parent)
        workers.append(p)
    try:
        ups = wait_msgs(conns, "up", args.sessions / args.ramp + SETUP_LIMIT_S + 30)
        ramp_s = time.monotonic() - t_ramp
        up_ok = sum(m[2] for m in ups)
        w_start = time.monotonic() + args.settle
        w_end = w_start + args.duration
        for c in conns:
            c.send(("window", w_start, w_end))
        time.sleep(max(0.0, w_start - time.monotonic()))
        s_cpu0 = cpu_seconds(server_pid) if server_pid else None
        c_cpu0 = [cpu_seconds(p.pid) for p in workers]
        m_cpu0 = machine_cpu()
        spy = start_py_spy(args.py_spy, server_pid, args.duration) if args.py_spy else None
        time.sleep(max(0.0, w_end - time.monotonic()))
        s_cpu1 = cpu_seconds(server_pid) if server_pid else None
        m_cpu1 = machine_cpu()
        c_cpu1 = [cpu_seconds(p.pid) for p in workers]
        server_rss = rss_mib(server_pid) if server_pid else None
        time.sleep(args.grace)  # replies to the window's last turns, then stop
        if spy is not None:
            spy.wait(30)
        for c in conns:
            c.send(("stop",))
        results = [m[2] for m in wait_msgs(conns, "result", 60)]
    finally:
        for p in workers:
            p.join(5)
            if p.is_alive():
                p.kill()
        if proc is not None:
            stop_server(proc)

    dur = args.duration
    lat = sorted(x for r in results for x in array.array("d", r["latency"]))
    late = sorted(x for r in results for x in array.array("f", r["lateness"]))
    setup_t = sorted(x for r in results for x in array.array("d", r["setup_times"]))
    dropped: Counter[str] = Counter()
    for r in results:
        dropped.update(r["dropped"])
    held = sum(r["held"] for r in results)
    refused = {k: v for k, v in dropped.items() if k.startswith("refused")}
    for k in refused:
        del dropped[k]
    busy = m_cpu1[0] - m_cpu0[0]
    total = m_cpu1[1] - m_cpu0[1]
    ncpu = os.cpu_count() or 1

    def ms(v):
        return None if v is None else round(v * 1000, 2)

    out = {
        "sessions": args.sessions, "up_after_ramp": up_ok, "held": held,
        "dropped": sum(dropped.values()), "drop_reasons": dict(dropped),
        "refused": sum(refused.values()), "refuse_reasons": refused,
        "speakers": args.speakers, "audio": args.audio, "model": args.model,
        "duration_s": dur, "ramp_s": round(ramp_s, 2), "client_procs": args.client_procs,
        "turn_every_s": args.turn_every, "chunk_ms": args.chunk_ms,
        "sent_per_s": round(sum(r["sent"] for r in results) / dur, 1),
        "recv_per_s": round(sum(r["recv"] for r in results) / dur, 1),
        "audio_chunks_per_s": round(sum(r["audio_sent"] for r in results) / dur, 1),
        "audio_chunks_expected_per_s": round(held / CHUNK_S, 1),
        "turns_sent": sum(r["turns_sent"] for r in results),
        "turns_done": sum(r["turns_done"] for r in results),
        "turn_replies": len(lat),
        "turns_unanswered": sum(r["turns_sent"] for r in results) - len(lat),
        "speech_replies": sum(r["speech_replies"] for r in results),
        "turn_latency_ms": {"p50": ms(percentile(lat, 50)), "p90": ms(percentile(lat, 90)),
                            "p99": ms(percentile(lat, 99)), "max": ms(lat[-1] if lat else None)},
        "audio_lateness_ms": {"p50": ms(percentile(late, 50)), "p99": ms(percentile(late, 99)),
                              "max": ms(late[-1] if late else None)},
        "setup_ms": {"p50": ms(percentile(setup_t, 50)), "p99": ms(percentile(setup_t, 99))},
        "server_cpu_pct": (round(100 * (s_cpu1 - s_cpu0) / dur, 1)
                           if s_cpu0 is not None and s_cpu1 is not None else None),
        "server_rss_mib": round(server_rss, 1) if server_rss else None,
        "client_cpu_pct": round(100 * sum((b or 0) - (a or 0)
                                          for a, b in zip(c_cpu0, c_cpu1, strict=True)) / dur, 1),
        "machine_cpu_pct": round(100 * ncpu * busy / total, 1) if total else None,
        "machine_cpus": ncpu,
        "server_log": str(log) if log else None,
    }
    other = out["machine_cpu_pct"] - out["client_cpu_pct"] - (out["server_cpu_pct"] or 0) \
        if out["machine_cpu_pct"] is not None else None
    out["other_cpu_pct"] = round(other, 1) if other is not None else None
    cores = (out["server_cpu_pct"] or 0) / 100
    out["sessions_per_server_core"] = round(held / cores) if cores > 0 else None
    return out


def summary(r: dict) -> str:
    lat, late = r["turn_latency_ms"], r["audio_lateness_ms"]
    realtime = (late["p99"] is not None and late["p99"] < r["chunk_ms"]
                and r["audio_chunks_per_s"] >= 0.98 * r["audio_chunks_expected_per_s"])
    lines = [
        f"openlive sessions benchmark: {r['sessions']} sessions, {r['duration_s']:.0f} s window, "
        f"{r['client_procs']} client proc(s), turn every {r['turn_every_s']} s, audio in "
        f"{r['chunk_ms']} ms messages",
        f"  sessions     requested {r['sessions']}  up after ramp {r['up_after_ramp']} "
        f"({r['ramp_s']} s)  held {r['held']}  dropped {r['dropped']}"
        + (f"  {r['drop_reasons']}" if r["drop_reasons"] else "")
        + (f"  refused {r['refused']} {r['refuse_reasons']}" if r["refused"] else ""),
        f"  audio        {r['audio']} microphones, {r['speakers']} speaking; model "
        f"{r['model']}",
        f"  messages     sent {r['sent_per_s']:.0f}/s  received {r['recv_per_s']:.0f}/s  "
        f"audio chunks {r['audio_chunks_per_s']:.0f}/s (real time needs "
        f"{r['audio_chunks_expected_per_s']:.0f}/s)",
        f"  turns        sent {r['turns_sent']}  replied {r['turn_replies']}  "
        f"unanswered {r['turns_unanswered']}  completed {r['turns_done']}"
        + (f"  (speech turns answered {r['speech_replies']})" if r["speakers"] else ""),
        f"  turn latency p50 {lat['p50']} ms  p90 {lat['p90']} ms  p99 {lat['p99']} ms  "
        f"max {lat['max']} ms  (send -> first modelTurn)",
        f"  audio pace   lateness p50 {late['p50']} ms  p99 {late['p99']} ms  "
        f"max {late['max']} ms  -> {'kept real time' if realtime else 'FELL BEHIND real time'}",
        f"  setup        p50 {r['setup_ms']['p50']} ms  p99 {r['setup_ms']['p99']} ms",
        f"  cpu          server {r['server_cpu_pct']}%  client {r['client_cpu_pct']}%  "
        f"other processes {r['other_cpu_pct']}%  (machine {r['machine_cpu_pct']}% of "
        f"{r['machine_cpus'] * 100}%)  server RSS {r['server_rss_mib']} MiB  "
        f"-> {r['sessions_per_server_core']} sessions per server core",
    ]
    if r["server_log"]:
        lines.append(f"  server log   {r['server_log']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sessions", "-n", type=int, default=500, help="concurrent sessions (500)")
    p.add_argument("--duration", type=float, default=30.0,
                   help="measured seconds once every session is up (30)")
    p.add_argument("--turn-every", type=float, default=3.0,
                   help="seconds between text turns of one session, random phase (3)")
    p.add_argument("--turn-kind", choices=["client-content", "realtime-text"],
                   default="client-content", help="how a text turn is sent")
    p.add_argument("--ramp", type=float, default=50.0, help="new sessions per second (50)")
    p.add_argument("--settle", type=float, default=1.0,
                   help="seconds between the last session up and the window (1)")
    p.add_argument("--url", help="target a running server (ws://host:port[/path]) "
                                 "instead of starting one")
    p.add_argument("--server-pid", type=int, help="with --url: the server's pid, for its CPU%%")
    p.add_argument("--port", type=int, default=0, help="port for the started server (free)")
    p.add_argument("--client-procs", type=int, default=1, help="client processes (1)")
    p.add_argument("--server-arg", action="append", default=[], metavar="ARG",
                   help="extra argument for `openlive serve` (repeatable), "
                        "e.g. --server-arg=--log-level=warning")
    p.add_argument("--server-wrapper", metavar="CMD",
                   help="run the server as CMD -m openlive.cli serve …, e.g. "
                        "'.venv/bin/python -m cProfile -o /tmp/server.prof'")
    p.add_argument("--py-spy", metavar="FILE",
                   help="record the server with py-spy during the window (FILE.svg flame "
                        "graph, or FILE.txt/.speedscope by extension); py-spy must be on PATH "
                        "or in the venv")
    p.add_argument("--compression", action="store_true",
                   help="let the server offer permessage-deflate (the client never asks)")
    p.add_argument("--client-compress", action="store_true",
                   help="clients ask for permessage-deflate, as the SDKs do (implies "
                        "--compression for a started server)")
    p.add_argument("--uvloop", action="store_true", help="client workers use uvloop if installed")
    p.add_argument("--model", default=MODEL,
                   help=f"the sessions' model, TEXT replies ({MODEL})")
    p.add_argument("--audio", choices=["idle", "silence", "noise", "tone"], default="idle",
                   help="what the microphones send: idle = silence on half the sessions, "
                        "faint noise on the other half (idle)")
    p.add_argument("--speakers", type=int, default=0, metavar="N",
                   help="N sessions speak a real sentence (Piper) every few seconds "
                        "instead of sending text turns (0)")
    p.add_argument("--speech-wav", metavar="FILE",
                   help="with --speakers: the sentence, a mono 16-bit WAV (default: "
                        "synthesised by Piper, the local extra)")
    p.add_argument("--grace", type=float, default=2.0,
                   help="seconds after the window for replies to its last turns (2)")
    p.add_argument("--chunk-ms", type=int, default=20, metavar="MS",
                   help="audio per realtimeInput.audio message (20: the worst case; Google's "
                        "own command-line example sends 1024 samples, 64 ms: "
                        "google-gemini/gemini-live-api-examples command-line/python/main.py)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--json", action="store_true",
                   help="print the result as one JSON line on stdout (summary on stderr)")
    args = p.parse_args(argv)
    if not 5 <= args.chunk_ms <= 1000:
        p.error("--chunk-ms must be 5..1000")
    global CHUNK_S, CHUNK_BYTES  # read by the frame builder and the ticker (forked workers)
    CHUNK_S = args.chunk_ms / 1000
    CHUNK_BYTES = int(RATE * CHUNK_S) * 2
    if args.sessions < 1 or args.client_procs < 1 or args.ramp <= 0:
        p.error("--sessions, --client-procs and --ramp must be positive")
    args.client_procs = min(args.client_procs, args.sessions)
    args.compression = args.compression or args.client_compress
    raise_nofile()
    try:
        result = run(args)
    except (TimeoutError, OSError) as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 2
    text = summary(result)
    if args.json:
        print(text, file=sys.stderr)
        print(json.dumps(result, separators=(",", ":")))
    else:
        print(text)
    return 1 if result["dropped"] or result["held"] + result["refused"] < result["sessions"] \
        else 0


if __name__ == "__main__":
    sys.exit(main())
