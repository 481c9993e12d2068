#!/usr/bin/env python
"""End-of-turn judges, offline: do they tell a mid-sentence pause from a finished turn?

For each judge, on the sets of bench/data/ (nothing downloaded at run time):

* **mid**: each sentence of the false-cut set (voice_pauses.txt) up to each of its
  mid-sentence pauses ("What is the weather going to be like | in London"): a judge that
  says *finished* here cuts the speaker off (lower is better);
* **ends**: the same sentences whole (higher is better);
* **questions**: the 48 spoken questions (voice_questions.txt) and Piper's 24 of
  bench/voice_latency.py: a judge that says *unfinished* makes a finished turn wait the
  whole silence window (higher is better).

Judges:

* ``lexical``: :func:`openlive.engines.audio.turn_end.sounds_finished` on the text;
* ``llm``: the lexical rule, then :class:`~openlive.engines.audio.turn_end.LLMTurnEnd`'s
  P(end) on the shipped Qwen2.5 0.5B at several thresholds (the text as said: a perfect
  transcript), with the time per call;
* ``smart-turn`` (``--smart-turn-wheel``): pipecat's Smart Turn v3.2 audio model on the
  audio up to each pause + 160 ms of silence, spoken by flite (clauses spoken
  separately, as voice_quality.py does), espeak-ng (one sentence, SSML breaks at the
  pauses, so the intonation runs on) and Piper (questions). The wheel is not a dependency
  of openlive (its protobuf>=5 conflicts with the vision extra): fetch it once with
  ``pip download pipecat-ai==1.14.0 --no-deps -d /tmp/pc`` (the ONNX file's SHA-256 is
  checked).

    .venv/bin/python bench/turn_end.py
    .venv/bin/python bench/turn_end.py --smart-turn-wheel /tmp/pc/pipecat_ai-1.14.0-py3-none-any.whl
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import voice_sets as vs  # noqa: E402

SMART_TURN_ONNX = "pipecat/audio/turn/smart_turn/data/smart-turn-v3.2-cpu.onnx"
SMART_TURN_SHA256 = "2bb026316b14a660486a75b1733cd3fbab8c2fd0314dc9af7be49f8cca967e4f"
SMART_TURN_FEATURES = "pipecat/audio/turn/smart_turn/_whisper_features.py"
PAUSE_HEARD = np.zeros(int(0.16 * vs.RATE), np.int16)  # the listener judges at 160 ms


def text_sets() -> tuple[list[str], list[str], list[str]]:
    from voice_latency import UTTERANCES

    mid, ends = [], []
    for clauses in vs.pause_utterances():
        for i in range(1, len(clauses)):
            mid.append(" ".join(clauses[:i]))
        ends.append(" ".join(clauses))
    return mid, ends, vs.spoken_questions() + list(UTTERANCES)


def rate(flags: list[bool]) -> str:
    return f"{sum(flags)}/{len(flags)} ({sum(flags) / max(1, len(flags)):.0%})"


def row(name: str, mid: list[bool], ends: list[bool], questions: list[bool],
        note: str = "") -> None:
    print(f"{name:<34} {rate(mid):>13} {rate(ends):>13} {rate(questions):>13}  {note}")


def text_judges(thresholds: list[float]) -> None:
    from openlive.engines.audio.llm import load_llama
    from openlive.engines.audio.turn_end import LLMTurnEnd, sounds_finished

    mid, ends, questions = text_sets()
    scorer = LLMTurnEnd(load_llama)
    scorer.p_end("Hello there")  # load, and the system line into the prompt cache
    t0 = time.perf_counter()
    p = {t: scorer.p_end(t) for t in dict.fromkeys(mid + ends + questions)}
    per_call = (time.perf_counter() - t0) / len(p) * 1000
    lex = {t: sounds_finished(t) for t in p}
    print(f"{'judge (says finished)':<34} {'mid-pause':>13} {'sentence end':>13} "
          f"{'questions':>13}")
    row("lexical", [lex[t] for t in mid], [lex[t] for t in ends],
        [lex[t] for t in questions])
    for th in thresholds:
        def yes(t: str, th: float = th) -> bool:
            return lex[t] and p[t] >= th

        row(f"lexical + LLM P(end) >= {th:g}", [yes(t) for t in mid],
            [yes(t) for t in ends], [yes(t) for t in questions],
            f"{per_call:.0f} ms a call" if th == thresholds[0] else "")
    print("\nmid-pause clauses the LLM judged finished at the default threshold:")
    from openlive.engines.audio.turn_end import DEFAULT_END_THRESHOLD
    for t in mid:
        if lex[t] and p[t] >= DEFAULT_END_THRESHOLD:
            print(f"  {p[t]:.2f}  {t}")
    print("finished questions it judged unfinished:")
    for t in dict.fromkeys(questions):
        if not (lex[t] and p[t] >= DEFAULT_END_THRESHOLD):
            print(f"  {p[t]:.3f}  {t}")


class SmartTurn:
    def __init__(self, wheel: Path, tmp: Path) -> None:
        import onnxruntime as ort

        with zipfile.ZipFile(wheel) as z:
            model = z.read(SMART_TURN_ONNX)
            features = z.read(SMART_TURN_FEATURES)
        sha = hashlib.sha256(model).hexdigest()
        if sha != SMART_TURN_SHA256:
            raise SystemExit(f"{wheel}: {SMART_TURN_ONNX} has SHA-256 {sha}, expected "
                             f"{SMART_TURN_SHA256}")
        (tmp / "smart_turn_features.py").write_bytes(features)
        spec = importlib.util.spec_from_file_location("smart_turn_features",
                                                      tmp / "smart_turn_features.py")
        assert spec and spec.loader
        self.features = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(self.features)
        so = ort.SessionOptions()
        so.intra_op_num_threads = so.inter_op_num_threads = 1
        self.session = ort.InferenceSession(model, so, providers=["CPUExecutionProvider"])
        self.times: list[float] = []

    def p_end(self, pcm: np.ndarray) -> float:
        """As pipecat's LocalSmartTurnAnalyzerV3: the last 8 s, zero-padded in front."""
        t0 = time.perf_counter()
        a = np.concatenate([pcm, PAUSE_HEARD]).astype(np.float32) / 32768.0
        n = 8 * vs.RATE
        a = a[-n:] if len(a) > n else np.pad(a, (n - len(a), 0))
        f = self.features.compute_whisper_log_mel_features(a, do_normalize=True)[None]
        p = float(self.session.run(None, {"input_features": f})[0].ravel()[0])
        self.times.append(time.perf_counter() - t0)
        return p


def espeak_with_breaks(voice: str, clauses: list[str], gaps: list[int]) -> np.ndarray:
    """One espeak-ng sentence with SSML breaks at the pauses (intonation runs on)."""
    import soxr

    ssml = "<speak>" + " ".join(
        c + (f' <break time="{gaps[i]}ms"/>' if i < len(gaps) else "")
        for i, c in enumerate(clauses)) + "</speak>"
    with tempfile.TemporaryDirectory() as tmp:
        wav = str(Path(tmp) / "out.wav")
        subprocess.run(["espeak-ng", "-m", "-v", voice, "-s", "160", "-w", wav, ssml],
                       check=True, capture_output=True)
        pcm, r = vs._read_wav(Path(wav).read_bytes())
    pcm = soxr.resample(pcm, r, vs.RATE).astype(np.int16)
    loud = np.flatnonzero(np.abs(pcm.astype(np.int32)) > 328)
    return pcm[loud[0]:loud[-1] + 1]


def silent_runs(pcm: np.ndarray, min_ms: int) -> list[int]:
    """Start samples of inner silent runs (< -40 dBFS in 10 ms frames) of min_ms or more."""
    fr = vs.RATE // 100
    loud = np.abs(pcm[:len(pcm) // fr * fr].astype(np.int32)).reshape(-1, fr).max(1) > 328
    starts, i = [], 0
    while i < len(loud):
        j = i
        while j < len(loud) and not loud[j]:
            j += 1
        if j > i and (j - i) * 10 >= min_ms and i > 0 and j < len(loud):
            starts.append(i * fr)
        i = max(j, i + 1)
    return starts


def smart_turn_judge(wheel: Path, thresholds: list[float]) -> None:
    from voice_latency import UTTERANCES, make_speech

    with tempfile.TemporaryDirectory() as tmp:
        st = SmartTurn(wheel, Path(tmp))
    sets: dict[str, tuple[list[float], list[float], list[float]]] = {}
    for voice in ("flite-slt", "flite-rms"):  # clauses spoken separately (voice_quality)
        mid, ends = [], []
        for clauses in vs.pause_utterances():
            acc = np.zeros(0, np.int16)
            for i, c in enumerate(clauses):
                acc = np.concatenate([acc, vs.speak(voice, c)])
                (ends if i == len(clauses) - 1 else mid).append(st.p_end(acc))
                acc = np.concatenate([acc, np.zeros(vs.RATE * 4 // 10, np.int16)])
        qs = [st.p_end(vs.speak(voice, q)) for q in vs.spoken_questions()]
        sets[voice] = (mid, ends, qs)
    for voice in ("en-us", "en-gb+f3"):  # one sentence, breaks at the pauses
        mid, ends = [], []
        for clauses in vs.pause_utterances():
            gaps = vs.pause_lengths_ms(" | ".join(clauses), len(clauses) - 1)
            pcm = espeak_with_breaks(voice, clauses, gaps)
            starts = silent_runs(pcm, 250)
            if len(starts) != len(gaps):
                continue
            mid += [st.p_end(pcm[:s]) for s in starts]
            ends.append(st.p_end(pcm))
        qs = [st.p_end(vs.speak(f"espeak-{voice.replace('+', '-')}", q))
              for q in vs.spoken_questions()]
        sets[f"espeak-{voice} (SSML breaks)"] = (mid, ends, qs)
    piper = [np.frombuffer(b, np.int16) for b in make_speech(list(UTTERANCES))]
    sets["piper-joe (questions only)"] = ([], [], [st.p_end(pcm) for pcm in piper])
    print(f"\nSmart Turn v3.2 ({np.median(st.times) * 1000:.0f} ms a call, p50)")
    print(f"{'voice, P(complete) >= threshold':<34} {'mid-pause':>13} {'sentence end':>13} "
          f"{'questions':>13}")
    for name, (mid, ends, qs) in sets.items():
        for th in thresholds:
            row(f"{name[:26]} >= {th:g}", [p >= th for p in mid], [p >= th for p in ends],
                [p >= th for p in qs])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="\n\n".join(__doc__.split("\n\n")[1:]))
    ap.add_argument("--thresholds", default="0.05,0.1,0.2,0.3",
                    help="LLM P(end) thresholds (default 0.05,0.1,0.2,0.3)")
    ap.add_argument("--smart-turn-wheel", type=Path, default=None, metavar="WHL",
                    help="pipecat-ai 1.14.0's wheel: also judge with Smart Turn v3.2")
    args = ap.parse_args()
    thresholds = [float(x) for x in args.thresholds.split(",")]
    print(f"bench/turn_end.py; load average {os.getloadavg()[0]:.2f}")
    text_judges(thresholds)
    if args.smart_turn_wheel:
        smart_turn_judge(args.smart_turn_wheel, [0.5, 0.7, 0.9])
    return 0


if __name__ == "__main__":
    sys.exit(main())
