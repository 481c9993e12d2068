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
* WER of the ``inputTranscription`` text against the known text.

The next turn starts after ``turnComplete`` (which on openlive, as on Google's service,
arrives when the reply's audio would have finished playing), so speech never barges in.

    .venv/bin/python bench/voice_latency.py                      # local engine, 1 session
    .venv/bin/python bench/voice_latency.py --concurrent 4 --turns 6
    .venv/bin/python bench/voice_latency.py --engine emulator --json
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


def start_server(engine: str, timeout: float) -> tuple[subprocess.Popen, str, Path]:
    port = free_port()
    log_path = Path(f"/tmp/openlive-voice-bench-{port}.log")
    log_file = open(log_path, "w")  # noqa: SIM115 - lives as long as the server
    cmd = [sys.executable, "-m", "openlive.cli", "serve", "--engine", engine,
           "--port", str(port), "--log-level", "debug", "--no-compression"]
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
                      results: list[dict], turn_timeout: float) -> None:
    from websockets.asyncio.client import connect

    async with connect(url, max_size=None, compression=None) as ws:
        await ws.send(json.dumps({"setup": {
            "model": MODEL, "generationConfig": {"responseModalities": ["AUDIO"]},
            "inputAudioTranscription": {}, "outputAudioTranscription": {}}}))
        first = json.loads(await ws.recv())
        if "setupComplete" not in first:
            raise RuntimeError(f"session {idx}: no setupComplete: {first}")

        turn: dict | None = None
        done = asyncio.Event()

        async def reader() -> None:
            nonlocal turn
            async for raw in ws:
                now = time.monotonic()
                sc = json.loads(raw).get("serverContent")
                if not sc or turn is None:
                    continue
                if "inputTranscription" in sc:
                    turn["heard"] += sc["inputTranscription"].get("text", "")
                    turn.setdefault("t_input_tx", now)
                if "outputTranscription" in sc:
                    turn["said"] += sc["outputTranscription"].get("text", "")
                for p in sc.get("modelTurn", {}).get("parts", []):
                    if "inlineData" in p:
                        if "t_audio" not in turn:
                            turn["t_audio"], turn["wall_audio"] = now, time.time()
                        turn["audio_bytes"] += len(base64.b64decode(p["inlineData"]["data"]))
                if sc.get("generationComplete"):
                    turn.setdefault("t_gen_complete", now)
                if sc.get("interrupted"):
                    turn["interrupted"] = True
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
        finally:
            read_task.cancel()


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
        ax.bar([x + 0.8 * (sessions.index(s) / len(sessions) - 0.4) for x in xs],
               [r["v2v"] for r in rs], width=0.8 / len(sessions),
               label=f"session {s}: voice-to-voice")
        if len(sessions) == 1:
            ax.bar(xs, [r.get("asr", 0) for r in rs], width=0.8, color="tab:orange",
                   label="of which: end of speech -> inputTranscription (VAD + ASR)")
    ax.set_xlabel("turn")
    ax.set_ylabel("seconds after the last speech sample")
    ax.set_title(title)
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return path


async def main_async(args: argparse.Namespace) -> int:
    texts = UTTERANCES
    t = time.monotonic()
    speech = make_speech(texts)
    synth_s = time.monotonic() - t
    proc, url, log_path = start_server(args.engine, args.startup_timeout)
    try:
        start_rss = peak_rss_mib(proc.pid)
        n = len(texts)
        plans = []
        for s in range(args.concurrent):  # each session its own utterances (rotated)
            off = s * n // args.concurrent
            plans.append([(texts[(off + i) % n], speech[(off + i) % n])
                          for i in range(args.turns)])
        results: list[dict] = []
        t_run = time.monotonic()
        await asyncio.gather(*(run_session(url + LIVE_PATH, s, plans[s], results,
                                           args.turn_timeout)
                               for s in range(args.concurrent)))
        run_s = time.monotonic() - t_run
        rss = peak_rss_mib(proc.pid)
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
        if "t_audio" in r:
            r["v2v"] = r["t_audio"] - r["t_end"]
        if "t_input_tx" in r:
            r["asr"] = r["t_input_tx"] - r["t_end"]
            if "t_audio" in r:
                r["gen"] = r["t_audio"] - r["t_input_tx"]
        e, w = wer_counts(r["text"], r["heard"])
        r["wer"] = e / w if w else 0.0
        edits, words = edits + e, words + w
    server_breakdown = args.concurrent == 1
    if server_breakdown:  # the server's own stage times, matched to turns in order
        ended, heard, tts = server_stage_times(log_path)
        if len(ended) == len(results) == len(heard):
            for r, te, th, tt in zip(results, ended, heard, tts, strict=True):
                r["vad"] = te - r["wall_end"]
                r["whisper"] = th - te
                if tt is not None and "wall_audio" in r:
                    r["llm"] = tt - th
                    r["tts"] = r["wall_audio"] - tt
        else:
            server_breakdown = False
            print(f"note: server log has {len(ended)} 'speech ended' / {len(heard)} 'heard' "
                  f"lines for {len(results)} turns; server-side breakdown skipped",
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
        "run_s": round(run_s, 1), "tts_setup_s": round(synth_s, 1),
        "server_log": str(log_path),
    }
    if server_breakdown:
        out["server_log_eos_to_vad_end_s"] = summary(col("vad"))
        out["server_log_whisper_s"] = summary(col("whisper"))
        out["server_log_heard_to_first_tts_s"] = summary(col("llm"))
        out["server_log_first_tts_to_client_audio_s"] = summary(col("tts"))
    png = plot(results, args.plot, f"openlive {args.engine}: voice-to-voice latency, "
               f"{args.concurrent} session(s), {len(results)} turns")
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
              + f" {r['wer']:5.2f}  {r['heard'].strip()!r} | {r['said'].strip()[:60]!r}")
    print()
    for key, label in (("v2v_s", "voice-to-voice (first reply audio - end of speech)"),
                       ("eos_to_input_transcription_s",
                        "end of speech -> inputTranscription (VAD wait + ASR)"),
                       ("input_transcription_to_first_audio_s",
                        "inputTranscription -> first reply audio (LLM first clause + TTS)"),
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
    print(f"WER {out['wer']:.3f} ({edits} edits / {words} words); "
          f"missing replies {out['missing_reply']}, timeouts {out['timeouts']}, "
          f"interrupted {out['interrupted']}")
    print(f"server peak RSS (VmHWM) {out['server_peak_rss_mib']} MiB "
          f"(at ready {out['server_rss_at_ready_mib']} MiB); run {out['run_s']} s; "
          f"max send lateness {out['send_lateness_ms_max']} ms")
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
    p.add_argument("--json", action="store_true", help="print one JSON line")
    args = p.parse_args()
    if args.concurrent < 1 or args.turns < 1:
        p.error("--concurrent and --turns must be at least 1")
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    sys.exit(main())
