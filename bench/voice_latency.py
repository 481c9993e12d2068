#!/usr/bin/env python
"""Voice-to-voice latency of an openlive server: spoken questions in, spoken answers out.

Starts ``openlive serve --engine local`` (or ``--engine emulator``) as its own process on a
free port (log level debug, log in ``/tmp/openlive-voice-bench-PORT.log``), makes
``len(UTTERANCES)`` short questions with Piper at start-up (deterministic: noise off;
Piper's leading/trailing silence trimmed so the utterance ends at its last speech sample),
then for each turn streams, at real-time pace in 20 ms ``realtimeInput.audio`` chunks
(16 kHz PCM16): 200 ms of silence, the utterance, 1 s of silence. Default VAD settings.

Measured per turn (client clock, ``time.monotonic``):

* ``v2v``  voice-to-voice latency: first reply audio (``modelTurn`` ``inlineData``)
  minus the moment the last speech chunk was sent (before the trailing silence);
* ``asr``  the ``inputTranscription`` message minus the same moment (VAD end-of-speech
  wait + Whisper; both happen before the server sends it);
* ``gen``  first reply audio minus ``inputTranscription`` (LLM up to the first clause +
  Piper for that clause);
* from the server's debug log (single session only, matched in order): ``vad`` = the
  "speech ended" line minus end of speech, and ``whisper`` = the "heard:" line minus the
  "speech ended" line (log timestamps have 1 ms resolution, wall clock);
* also from the log: ``llm`` = "heard:" -> Piper's first "text=" debug line (the LLM has
  produced the first clause), ``tts`` = that line -> first reply audio at the client;
* WER of the ``inputTranscription`` text (the concatenated deltas) against the known
  text; ``asr`` is timed at the message with ``finished: true``, and the first message
  with text (a partial transcript, or the final one) is reported too.

The next turn starts after ``turnComplete`` (which on openlive, as on Google's service,
arrives when the reply's audio would have finished playing), so speech never barges in.
``--barge-in N`` then adds N turns per session that do: a question, and 0.5 s after its
reply's audio starts, the next question spoken over it; measured: ``barge`` =
``interrupted`` minus the first chunk of the second question, and the second question's
voice-to-voice latency. The CPU used by other processes during the run is printed (the
machine may be shared), with the server's and this client's own shares.

    .venv/bin/python bench/voice_latency.py --barge-in 8         # local engine, 1 session
    .venv/bin/python bench/voice_latency.py --silence-ms 500     # explicit silenceDurationMs
    .venv/bin/python bench/voice_latency.py --concurrent 4 --turns 6
    .venv/bin/python bench/voice_latency.py --engine emulator --json
    .venv/bin/python bench/voice_latency.py --voices flite-slt,flite-rms,espeak-en-us --turns 24
    .venv/bin/python bench/voice_latency.py --turns 12 --pauses 20   # + false cuts

With one session the plot stacks each turn's stages (from the server's log) inside its
voice-to-voice bar. ``--pauses N`` adds the false-cut rate on the same server.

Hearing (WER per voice on 48 questions, direct and through a browser path), answers
(% correct on 56 factual questions) and false cuts (mid-sentence pauses) are measured by
bench/voice_quality.py.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")

LIVE_PATH = "/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent"
MODEL = "models/gemini-2.5-flash-native-audio-preview-12-2025"
RATE = 16_000
CHUNK_MS = 20
CHUNK_BYTES = RATE * 2 * CHUNK_MS // 1000  # 640
LEAD_MS = 200
TAIL_MS = 1000

UTTERANCES = [
    "What time is it in Tokyo?",
    "Set a timer for five minutes.",
    "What is the weather like in Paris today?",
    "How tall is the Eiffel Tower?",
    "Tell me a short joke.",
    "What is the capital of Australia?",
    "Remind me to call my mother tomorrow.",
    "How many days are there in a leap year?",
    "Play some relaxing music.",
    "What is the square root of sixty four?",
    "Who wrote Romeo and Juliet?",
    "Turn off the lights in the kitchen.",
    "How do I make a cup of green tea?",
    "What is the distance from the earth to the moon?",
    "Translate good morning into Spanish.",
    "What should I cook for dinner tonight?",
    "Is it going to rain this weekend?",
    "How far is it from London to Manchester?",
    "Give me a fun fact about octopuses.",
    "What year did the first man land on the moon?",
    "Spell the word necessary.",
    "Add milk and bread to my shopping list.",
    "What is the boiling point of water?",
    "Recommend a good book about space.",
]

_NUMBERS = {str(i): w for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve".split())}
_NUMBERS["64"] = "sixty four"


def normalise(text: str) -> list[str]:
    """Lower case, no punctuation (apostrophes kept), small numbers as words."""
    words = re.sub(r"[^a-z0-9' ]+", " ", text.lower().replace("-", " ")).split()
    return " ".join(_NUMBERS.get(w, w) for w in words).split()


def wer_counts(ref: str, hyp: str) -> tuple[int, int]:
    """(word edits, reference words): word-level Levenshtein on normalised text."""
    r, h = normalise(ref), normalise(hyp)
    prev = list(range(len(h) + 1))
    for i, rw in enumerate(r, 1):
        cur = [i] + [0] * len(h)
        for j, hw in enumerate(h, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (rw != hw))
        prev = cur
    return prev[-1], len(r)


# ------------------------------------------------------------------------- speech


def make_speech(texts: list[str]) -> list[bytes]:
    """Piper (noise off) -> 16 kHz PCM16, trimmed to the first/last sample above -40 dBFS."""
    import soxr

    from openlive.engines.audio.tts import Synthesizer

    tts = Synthesizer(noise_scale=0.0, noise_w_scale=0.0)
    out = []
    for text in texts:
        pcm = np.frombuffer(b"".join(tts.synthesize(text)), dtype="<i2")
        pcm = soxr.resample(pcm, tts.output_rate, RATE).astype("<i2")
        loud = np.flatnonzero(np.abs(pcm.astype(np.int32)) > 328)  # -40 dBFS
        if len(loud):
            pcm = pcm[loud[0]:loud[-1] + 1]
        pad = (-len(pcm)) % (CHUNK_BYTES // 2)  # whole chunks; the last one ends in speech
        pcm = np.concatenate([np.zeros(pad, dtype="<i2"), pcm])
        out.append(pcm.tobytes())
    return out


def audio_frame(pcm: bytes) -> str:
    return json.dumps({"realtimeInput": {"audio": {
        "mimeType": f"audio/pcm;rate={RATE}", "data": base64.b64encode(pcm).decode()}}})


SILENCE_FRAME = audio_frame(b"\x00" * CHUNK_BYTES)


# ------------------------------------------------------------------------- server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(engine: str, timeout: float,
                 extra: list[str] = ()) -> tuple[subprocess.Popen, str, Path]:
    port = free_port()
    log_path = Path(f"/tmp/openlive-voice-bench-{port}.log")
    log_file = open(log_path, "w")  # noqa: SIM115 - lives as long as the server
    cmd = [sys.executable, "-m", "openlive.cli", "serve", "--engine", engine,
           "--port", str(port), "--log-level", "debug", "--no-compression", *extra]
    proc = subprocess.Popen(cmd, stdout=log_file, stderr=subprocess.STDOUT,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited ({proc.returncode}); see {log_path}:\n"
                             + log_path.read_text()[-3000:])
        m = re.search(r"Live endpoint: (\S+)", log_path.read_text())
        if m:
            return proc, m.group(1), log_path
        time.sleep(0.2)
    proc.kill()
    raise SystemExit(f"server not ready after {timeout:.0f} s; see {log_path}")


def peak_rss_mib(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


_LOG_TS = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) ")


def server_stage_times(log_path: Path) -> tuple[list[float], list[float], list[float | None]]:
    """Wall-clock times of the "speech ended" and "heard:" lines, in order, and for each
    "heard:" the first Piper "text=" debug line after it (synthesis of the reply's first
    clause starting: the LLM has produced it), or None."""
    ended, heard, tts = [], [], []
    for line in log_path.read_text().splitlines():
        m = _LOG_TS.match(line)
        if not m:
            continue
        t = datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S,%f").timestamp()
        if "openlive.voice: speech ended at" in line:
            ended.append(t)
        elif "openlive.voice: heard:" in line:
            heard.append(t)
            tts.append(None)
        elif "piper.voice: text=" in line and tts and tts[-1] is None:
            tts[-1] = t
    return ended, heard, tts


# ------------------------------------------------------------------------- client


async def run_session(url: str, idx: int, utterances: list[tuple[str, bytes]],
                      results: list[dict], turn_timeout: float,
                      silence_ms: int | None = None,
                      barge_ins: list[tuple[str, bytes, str, bytes]] = (),
                      sensitivity: str | None = None) -> None:
    from websockets.asyncio.client import connect

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import voice_sets

    async with connect(url, max_size=None, compression=None) as ws:
        setup: dict = {
            "model": MODEL, "generationConfig": {"responseModalities": ["AUDIO"]},
            "inputAudioTranscription": {}, "outputAudioTranscription": {}}
        voice_sets.activity_detection(setup, silence_ms, sensitivity)
        await ws.send(json.dumps({"setup": setup}))
        first = json.loads(await ws.recv())
        if "setupComplete" not in first:
            raise RuntimeError(f"session {idx}: no setupComplete: {first}")

        turn: dict | None = None
        done = asyncio.Event()

        def set_turn(new: dict) -> asyncio.Event:
            nonlocal turn
            turn = new
            done.clear()
            return done

        async def reader() -> None:
            nonlocal turn
            async for raw in ws:
                now = time.monotonic()
                sc = json.loads(raw).get("serverContent")
                if not sc or turn is None:
                    continue
                if "inputTranscription" in sc:
                    tx = sc["inputTranscription"]
                    turn["heard"] += tx.get("text", "")
                    if tx.get("text"):
                        turn.setdefault("t_partial", now)
                    if tx.get("finished"):
                        turn.setdefault("t_input_tx", now)
                if "outputTranscription" in sc:
                    turn["said"] += sc["outputTranscription"].get("text", "")
                for p in sc.get("modelTurn", {}).get("parts", []):
                    if "inlineData" in p:
                        if turn.get("await_interrupt") and not turn.get("interrupted"):
                            pass  # the reply being talked over
                        elif "t_audio" not in turn:
                            turn["t_audio"], turn["wall_audio"] = now, time.time()
                        turn["audio_bytes"] += len(base64.b64decode(p["inlineData"]["data"]))
                if sc.get("generationComplete"):
                    turn.setdefault("t_gen_complete", now)
                if sc.get("interrupted"):
                    turn["interrupted"] = True
                    turn.setdefault("t_interrupted", now)
                if sc.get("turnComplete"):
                    turn["t_turn_complete"] = now
                    done.set()

        read_task = asyncio.create_task(reader())
        try:
            for text, pcm in utterances:
                turn = {"session": idx, "text": text, "heard": "", "said": "",
                        "audio_bytes": 0, "speech_s": len(pcm) / (2 * RATE)}
                done.clear()
                frames = ([SILENCE_FRAME] * (LEAD_MS // CHUNK_MS)
                          + [audio_frame(pcm[i:i + CHUNK_BYTES])
                             for i in range(0, len(pcm), CHUNK_BYTES)])
                n_speech = len(frames)
                frames += [SILENCE_FRAME] * (TAIL_MS // CHUNK_MS)
                t0 = time.monotonic()
                late = 0.0
                for k, frame in enumerate(frames):  # real time, on a monotonic schedule
                    due = t0 + k * CHUNK_MS / 1000
                    if due > time.monotonic():
                        await asyncio.sleep(due - time.monotonic())
                    late = max(late, time.monotonic() - due)
                    await ws.send(frame)
                    if k == n_speech - 1:
                        turn["t_end"] = time.monotonic()
                        turn["wall_end"] = time.time()
                turn["send_lateness_ms"] = late * 1000  # worst frame vs its schedule
                try:
                    await asyncio.wait_for(done.wait(), turn_timeout)
                except TimeoutError:
                    turn["timeout"] = True
                results.append(turn)
                await asyncio.sleep(0.3)  # a short pause between turns
            for text, pcm, over_text, over_pcm in barge_ins:
                await barge_in(ws, turn_timeout, text, pcm, over_text, over_pcm, results, idx,
                               set_turn)
        finally:
            read_task.cancel()


async def send_speech(ws, pcm: bytes, lead_ms: int, tail_ms: int) -> tuple[float, float]:
    """Stream ``lead_ms`` silence, the speech, ``tail_ms`` silence at real-time pace; return
    when the first and the last speech chunks were sent (monotonic clock)."""
    frames = ([SILENCE_FRAME] * (lead_ms // CHUNK_MS)
              + [audio_frame(pcm[i:i + CHUNK_BYTES]) for i in range(0, len(pcm), CHUNK_BYTES)])
    first, last = lead_ms // CHUNK_MS, len(frames) - 1
    frames += [SILENCE_FRAME] * (tail_ms // CHUNK_MS)
    t0 = time.monotonic()
    t_first = t_last = 0.0
    for k, frame in enumerate(frames):
        due = t0 + k * CHUNK_MS / 1000
        if due > time.monotonic():
            await asyncio.sleep(due - time.monotonic())
        await ws.send(frame)
        if k == first:
            t_first = time.monotonic()
        if k == last:
            t_last = time.monotonic()
    return t_first, t_last


async def barge_in(ws, turn_timeout: float, text: str, pcm: bytes, over_text: str,
                   over_pcm: bytes, results: list[dict], idx: int, set_turn) -> None:
    """Ask ``text``; 0.5 s after the reply's audio starts, say ``over_text`` over it.
    Measures ``barge`` = ``interrupted`` minus the first chunk of the second utterance
    (its speech starts in that chunk), then waits for the answer to the second one."""
    turn = {"session": idx, "text": over_text, "heard": "", "said": "", "audio_bytes": 0,
            "speech_s": len(over_pcm) / (2 * RATE), "barge_in": True}
    done = set_turn(turn)
    await send_speech(ws, pcm, LEAD_MS, 0)
    silence = asyncio.create_task(send_speech(ws, b"", 0, 30_000))  # until the reply
    deadline = time.monotonic() + turn_timeout
    while "t_audio" not in turn and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.5)
    silence.cancel()
    turn["heard"] = ""  # the first question's transcription is not scored here
    turn["await_interrupt"] = True
    turn["t_audio_first_reply"] = turn.pop("t_audio", None)
    turn.pop("wall_audio", None)
    turn.pop("t_input_tx", None)
    turn.pop("t_partial", None)
    done.clear()
    t_first, t_last = await send_speech(ws, over_pcm, 0, TAIL_MS)
    turn["t_barge"], turn["t_end"], turn["wall_end"] = t_first, t_last, time.time()
    try:
        while True:  # the interrupted turn's turnComplete, then the answer's (after its
            await asyncio.wait_for(done.wait(), turn_timeout)  # playback)
            done.clear()
            if "t_audio" in turn and turn.get("t_turn_complete", 0) > turn["t_audio"]:
                break
    except TimeoutError:
        turn["timeout"] = True
    results.append(turn)
    await asyncio.sleep(0.3)


def _jiffies(pid: int | str) -> int:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])  # utime + stime
    except (OSError, IndexError, ValueError):
        return 0


def cpu_sample(server_pid: int) -> tuple[float, int, int, int]:
    """(monotonic time, machine busy jiffies, server jiffies, this process's jiffies)."""
    cpu = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    busy = sum(cpu) - cpu[3] - (cpu[4] if len(cpu) > 4 else 0)  # minus idle and iowait
    return time.monotonic(), busy, _jiffies(server_pid), _jiffies("self")


def cpu_share(a: tuple[float, int, int, int], b: tuple[float, int, int, int]) -> dict:
    """Shares of the machine's CPU capacity during the run (1.0 = every core busy)."""
    cap = max(1e-9, (b[0] - a[0]) * os.sysconf("SC_CLK_TCK") * (os.cpu_count() or 1))
    busy, server, client = (b[i] - a[i] for i in (1, 2, 3))
    return {"server": round(server / cap, 3), "client": round(client / cap, 3),
            "others": round(max(0, busy - server - client) / cap, 3),
            "loadavg": Path("/proc/loadavg").read_text().split()[0]}


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    k = (len(s) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def summary(values: list[float]) -> dict:
    if not values:
        return {"n": 0}
    return {"n": len(values), "p50": round(pct(values, 0.5), 3),
            "p95": round(pct(values, 0.95), 3), "mean": round(statistics.fmean(values), 3),
            "min": round(min(values), 3), "max": round(max(values), 3)}


#: the per-turn stages from the server's log, stacked in the plot (they add up to v2v)
STAGES = {"vad": "end of turn (VAD pause + end-of-turn decision)",
          "whisper": "then: waiting for recognition",
          "llm": "then: LLM to the first clause",
          "tts": "then: Piper + sending the first clause"}


def plot(results: list[dict], path: str, title: str) -> str | None:
    try:
        import matplotlib
    except ImportError:
        return None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(10, 4.5))
    sessions = sorted({r["session"] for r in results})
    for s in sessions:
        rs = [r for r in results if r["session"] == s and "v2v" in r]
        xs = [r["turn"] for r in rs]
        shift = 0.0 if len(sessions) == 1 else 0.8 * (sessions.index(s) + 0.5) / len(sessions) - 0.4
        ax.bar([x + shift for x in xs],
               [r["v2v"] for r in rs], width=0.8 / len(sessions), color="lightgrey"
               if len(sessions) == 1 else None, label=f"session {s}: voice-to-voice")
        staged = [r for r in rs if all(k in r for k in STAGES)]
        if len(sessions) == 1 and len(staged) == len(rs):  # the server log's stages
            bottom = [0.0] * len(rs)
            for key, label in STAGES.items():
                ax.bar(xs, [r[key] for r in rs], width=0.5, bottom=bottom, label=label)
                bottom = [b + r[key] for b, r in zip(bottom, rs, strict=True)]
        elif len(sessions) == 1:
            ax.bar(xs, [r.get("asr", 0) for r in rs], width=0.5, color="tab:orange",
                   label="of which: end of speech -> inputTranscription (VAD + ASR)")
    ax.set_xlabel("turn")
    ax.set_ylabel("seconds after the last speech sample")
    ax.set_title(title)
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return path


async def false_cuts(url: str, count: int, engine: str, silence_ms: int | None,
                     sensitivity: str | None = None) -> dict:
    """The first ``count`` sentences of the false-cut set (bench/voice_pauses.py),
    alternately in flite slt and rms, in one session on the running server."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import voice_pauses

    items = voice_pauses.pause_items(["flite-slt", "flite-rms"], count, alternate=True)
    return voice_pauses.count_cuts(
        await voice_pauses.pause_session(url, items, silence_ms, sensitivity, engine))


def make_voice_speech(voices: list[str], count: int) -> tuple[list[str], list[bytes], list[str]]:
    """The spoken-question set (bench/data/voice_questions.txt), question i in voice
    i mod len(voices) (flite / espeak-ng, bench/voice_sets.py), whole 20 ms chunks that end
    in speech."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import voice_sets

    questions = voice_sets.spoken_questions()
    texts, speech, who = [], [], []
    for i in range(count):
        text, voice = questions[i % len(questions)], voices[i % len(voices)]
        pcm = voice_sets.speak(voice, text)
        pad = (-len(pcm)) % (CHUNK_BYTES // 2)
        texts.append(text)
        speech.append(np.concatenate([np.zeros(pad, dtype="<i2"), pcm]).tobytes())
        who.append(voice)
    return texts, speech, who


async def main_async(args: argparse.Namespace) -> int:
    t = time.monotonic()
    if args.voices:
        texts, speech, who = make_voice_speech(args.voices.split(","), args.turns)
    else:
        texts = UTTERANCES
        speech = make_speech(texts)
        who = ["piper-joe"] * len(texts)
    voice_of = dict(zip(texts, who, strict=True))
    synth_s = time.monotonic() - t
    extra = args.server_arg or []
    proc, url, log_path = start_server(args.engine, args.startup_timeout, extra)
    try:
        start_rss = peak_rss_mib(proc.pid)
        n = len(texts)
        plans = []
        for s in range(args.concurrent):  # each session its own utterances (rotated)
            off = s * n // args.concurrent
            plans.append([(texts[(off + i) % n], speech[(off + i) % n])
                          for i in range(args.turns)])
        barges = [[(texts[(s + 2 * i) % n], speech[(s + 2 * i) % n],
                    texts[(s + 2 * i + 1) % n], speech[(s + 2 * i + 1) % n])
                   for i in range(args.barge_in)] for s in range(args.concurrent)]
        results: list[dict] = []
        load0 = cpu_sample(proc.pid)
        t_run = time.monotonic()
        await asyncio.gather(*(run_session(url + LIVE_PATH, s, plans[s], results,
                                           args.turn_timeout, args.silence_ms, barges[s],
                                           args.sensitivity)
                               for s in range(args.concurrent)))
        run_s = time.monotonic() - t_run
        load = cpu_share(load0, cpu_sample(proc.pid))
        rss = peak_rss_mib(proc.pid)
        cuts = await false_cuts(url + LIVE_PATH, args.pauses, args.engine,
                                args.silence_ms, args.sensitivity) if args.pauses else None
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()

    results.sort(key=lambda r: (r["session"], r["t_end"]))
    for s in range(args.concurrent):
        for i, r in enumerate([r for r in results if r["session"] == s]):
            r["turn"] = i
    edits = words = 0
    for r in results:
        if "t_interrupted" in r and "t_barge" in r:
            r["barge"] = r["t_interrupted"] - r["t_barge"]
        if "t_partial" in r and "t_end" in r:
            r["first_tx"] = r["t_partial"] - r["t_end"]  # first inputTranscription text
            if r["t_partial"] < r["t_end"]:
                r["partial_before_end"] = 1.0
        if "t_audio" in r and r.get("barge_in"):
            r["v2v_after_barge"] = r["t_audio"] - r["t_end"]
        elif "t_audio" in r:
            r["v2v"] = r["t_audio"] - r["t_end"]
        if "t_input_tx" in r:
            r["asr"] = r["t_input_tx"] - r["t_end"]
            if "t_audio" in r:
                r["gen"] = r["t_audio"] - r["t_input_tx"]
        e, w = wer_counts(r["text"], r["heard"])
        r["wer"] = e / w if w else 0.0
        r["voice"], r["edits"], r["words"] = voice_of.get(r["text"], "?"), e, w
        edits, words = edits + e, words + w
    server_breakdown = args.concurrent == 1
    if server_breakdown:  # the server's own stage times, matched to turns in order
        ended, heard, tts = server_stage_times(log_path)
        plain = [r for r in results if not r.get("barge_in")]  # the first turns
        if len(ended) >= len(plain) and len(heard) >= len(plain):
            for r, te, th, tt in zip(plain, ended, heard, tts, strict=False):
                r["vad"] = te - r["wall_end"]
                r["whisper"] = th - te
                if tt is not None and "wall_audio" in r:
                    r["llm"] = tt - th
                    r["tts"] = r["wall_audio"] - tt
        else:
            server_breakdown = False
            print(f"note: server log has {len(ended)} 'speech ended' / {len(heard)} 'heard' "
                  f"lines for {len(plain)} turns; server-side breakdown skipped",
                  file=sys.stderr)

    def col(key: str) -> list[float]:
        return [r[key] for r in results if key in r]

    out = {
        "engine": args.engine, "concurrent": args.concurrent, "turns": len(results),
        "missing_reply": sum("t_audio" not in r for r in results),
        "timeouts": sum(bool(r.get("timeout")) for r in results),
        "interrupted": sum(bool(r.get("interrupted")) for r in results),
        "v2v_s": summary(col("v2v")),
        "eos_to_input_transcription_s": summary(col("asr")),
        "input_transcription_to_first_audio_s": summary(col("gen")),
        "wer": round(edits / words, 4) if words else None,
        "wer_words": words, "wer_edits": edits,
        "server_peak_rss_mib": round(rss, 1) if rss else None,
        "server_rss_at_ready_mib": round(start_rss, 1) if start_rss else None,
        "send_lateness_ms_max": round(max(col("send_lateness_ms")), 1) if results else None,
        "barge_in_to_interrupted_s": summary(col("barge")),
        "v2v_after_barge_in_s": summary(col("v2v_after_barge")),
        "turns_with_partial_transcript_before_end": len(col("partial_before_end")),
        "eos_to_first_input_transcription_s": summary(col("first_tx")),
        "wer_per_voice": {v: round(sum(r["edits"] for r in results if r["voice"] == v)
                                   / max(1, sum(r["words"] for r in results
                                                if r["voice"] == v)), 4)
                          for v in dict.fromkeys(who)},
        "false_cuts": cuts,
        "server_args": extra,
        "cpu_share": load, "silence_ms": args.silence_ms, "sensitivity": args.sensitivity,
        "run_s": round(run_s, 1), "tts_setup_s": round(synth_s, 1),
        "server_log": str(log_path),
    }
    if server_breakdown:
        out["server_log_eos_to_vad_end_s"] = summary(col("vad"))
        out["server_log_whisper_s"] = summary(col("whisper"))
        out["server_log_heard_to_first_tts_s"] = summary(col("llm"))
        out["server_log_first_tts_to_client_audio_s"] = summary(col("tts"))
    plain = len(col("v2v"))
    png = plot(results, args.plot, f"openlive {args.engine}: voice-to-voice latency, "
               f"{args.concurrent} session(s), {plain} turns; p50 {pct(col('v2v'), 0.5):.2f} s"
               if plain else f"openlive {args.engine}")
    out["plot"] = png

    if args.json:
        print(json.dumps(out))
        return 0
    print(f"{'s':>2} {'#':>2} {'speech':>6} {'v2v':>6} {'asr':>6} {'gen':>6}"
          + (f" {'vad':>6} {'whspr':>6} {'llm':>6} {'tts':>6}" if server_breakdown else "")
          + f" {'wer':>5}  heard | said")
    for r in results:
        def f(k: str, r: dict = r) -> str:
            return f"{r[k]:6.3f}" if k in r else "     -"
        print(f"{r['session']:>2} {r['turn']:>2} {r['speech_s']:6.2f} {f('v2v')} {f('asr')} "
              f"{f('gen')}" + (f" {f('vad')} {f('whisper')} {f('llm')} {f('tts')}"
                 if server_breakdown else "")
              + f" {r['wer']:5.2f}  {r['heard'].strip()!r} | {r['said'].strip()[:60]!r}"
              + (f"  [barge-in: interrupted after {r['barge']:.3f} s, answer after "
                 f"{r.get('v2v_after_barge', float('nan')):.3f} s]" if r.get("barge_in")
                 and "barge" in r else ""))
    print()
    for key, label in (("v2v_s", "voice-to-voice (first reply audio - end of speech)"),
                       ("eos_to_input_transcription_s",
                        "end of speech -> inputTranscription (VAD wait + ASR)"),
                       ("eos_to_first_input_transcription_s",
                        "end of speech -> first inputTranscription text (partial or final)"),
                       ("input_transcription_to_first_audio_s",
                        "inputTranscription -> first reply audio (LLM first clause + TTS)"),
                       ("barge_in_to_interrupted_s",
                        "barge-in: first chunk of speech over the reply -> interrupted"),
                       ("v2v_after_barge_in_s", "barge-in: voice-to-voice for the new question"),
                       ("server_log_eos_to_vad_end_s",
                        "[server log] end of speech -> VAD 'speech ended'"),
                       ("server_log_whisper_s", "[server log] 'speech ended' -> 'heard' (ASR)"),
                       ("server_log_heard_to_first_tts_s",
                        "[server log] 'heard' -> Piper starts 1st clause (LLM, +queueing)"),
                       ("server_log_first_tts_to_client_audio_s",
                        "[server log] Piper starts 1st clause -> audio at client (TTS+send)")):
        if key in out and out[key].get("n"):
            s = out[key]
            print(f"{label:<70} p50 {s['p50']:.3f}  p95 {s['p95']:.3f}  mean {s['mean']:.3f}"
                  f"  (n={s['n']}, max {s['max']:.3f})")
    if len(out["wer_per_voice"]) > 1:
        print("WER per voice: " + ", ".join(f"{v} {w:.1%}"
                                            for v, w in out["wer_per_voice"].items()))
    if cuts:
        print(f"false cuts: {cuts['cut']}/{cuts['n']} sentences cut at a 300-700 ms pause "
              f"({cuts['cut'] / max(1, cuts['n']):.0%}; "
              + ", ".join(f"{v} {c}/{n}" for v, (c, n) in cuts["per_voice"].items())
              + f"; {cuts['unheard']} not heard)")
    print(f"WER {out['wer']:.3f} ({edits} edits / {words} words); "
          f"missing replies {out['missing_reply']}, timeouts {out['timeouts']}, "
          f"interrupted {out['interrupted']}")
    print(f"server peak RSS (VmHWM) {out['server_peak_rss_mib']} MiB "
          f"(at ready {out['server_rss_at_ready_mib']} MiB); run {out['run_s']} s; "
          f"max send lateness {out['send_lateness_ms_max']} ms")
    print(f"machine: {os.cpu_count()} cores; CPU during the run: server {load['server']:.0%}, "
          f"this client {load['client']:.0%}, other processes {load['others']:.0%} of the "
          f"machine (load average {load['loadavg']}); partial transcripts before the end of "
          f"speech in {out['turns_with_partial_transcript_before_end']} turns")
    print(f"plot: {png or 'not written (pip install matplotlib)'}; server log: {log_path}")
    return 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--engine", choices=["local", "emulator"], default="local")
    p.add_argument("--concurrent", type=int, default=1, metavar="N",
                   help="sessions at once, each with its own utterances (default 1)")
    p.add_argument("--turns", type=int, default=len(UTTERANCES), metavar="N",
                   help=f"turns per session (default {len(UTTERANCES)})")
    p.add_argument("--turn-timeout", type=float, default=120.0)
    p.add_argument("--startup-timeout", type=float, default=300.0)
    p.add_argument("--plot", default="/tmp/voice_latency.png", metavar="PNG")
    p.add_argument("--silence-ms", type=int, default=None, metavar="MS",
                   help="send automaticActivityDetection.silenceDurationMs (default: the "
                        "server's default)")
    p.add_argument("--sensitivity", default=None,
                   choices=["END_SENSITIVITY_HIGH", "END_SENSITIVITY_LOW"],
                   help="send automaticActivityDetection.endOfSpeechSensitivity")
    p.add_argument("--barge-in", type=int, default=0, metavar="N",
                   help="then N barge-in turns per session: a question, and 0.5 s into its "
                        "spoken reply the next question over it")
    p.add_argument("--voices", default=None, metavar="A,B",
                   help="speak bench/data/voice_questions.txt in these voices (flite / "
                        "espeak-ng, see bench/voice_sets.py; e.g. flite-slt,flite-rms) "
                        "instead of Piper's 24 questions; prints WER per voice")
    p.add_argument("--pauses", type=int, default=0, metavar="N",
                   help="then, on the same server, N sentences of the false-cut set "
                        "(bench/data/voice_pauses.txt: 300-700 ms mid-sentence pauses, in "
                        "flite slt and rms) in one more session; prints the false-cut rate")
    p.add_argument("--server-arg", action="append", metavar="ARG",
                   help="an extra argument for openlive serve (repeat), e.g. "
                        "--server-arg=--llm-model --server-arg=/path/model.gguf")
    p.add_argument("--json", action="store_true", help="print one JSON line")
    args = p.parse_args()
    if args.concurrent < 1 or args.turns < 0 or args.barge_in < 0 or args.pauses < 0:
        p.error("--concurrent must be at least 1, --turns, --barge-in and --pauses at "
                "least 0")
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    sys.exit(main())
