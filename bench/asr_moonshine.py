#!/usr/bin/env python
"""Moonshine tiny-en on bench/voice_quality.py's spoken set: WER per voice, time per utterance.

Bench-only: a comparison of another packaged recogniser with the server's Whisper base, not
a dependency of openlive. Moonshine tiny-en ships inside the PyPI package
``moonshine-voice==0.1.0`` (assets/tiny-en: ONNX Runtime encoder and decoder, run by the
package's own libmoonshine.so), so nothing is downloaded at run time. Install it in a
virtualenv of its own, never in openlive's::

    python3 -m venv /tmp/moonv
    /tmp/moonv/bin/pip install moonshine-voice==0.1.0 numpy soxr
    /tmp/moonv/bin/python bench/asr_moonshine.py
    /tmp/moonv/bin/python bench/asr_moonshine.py --voices flite-slt --limit 4 --cut trim

The set is bench/voice_quality.py's ``--set spoken --paths direct``: the 48 questions of
bench/data/voice_questions.txt in the voices of ``bench/voice_sets.py``, scored with its
``wer_counts`` and ``missed_nouns``. ``--cut vad`` (default) feeds Moonshine the utterances
the server's VAD cuts, as voice_quality does (200 ms of silence, the question, 1 s of
silence through ``VadSegmenter``): the cutting runs in openlive's virtualenv
(``--openlive-python``, default .venv/bin/python), this script in ``--dump-cuts`` mode, and
comes back as an .npz. ``--cut trim``: the question as ``voice_sets.speak`` makes it,
trimmed to the speech, in one piece. Each utterance goes to
``Transcriber.transcribe_without_streaming``; the time per utterance is that call's wall
time, with the conversion of the samples to a C array it does itself.

The package runs a VAD of its own before the model and transcribes each segment it finds as
a line. By default it is switched off (option ``vad_threshold=0``: the whole utterance is one
line, as Whisper gets it), because on already-cut utterances it carries state from one call
to the next: after the first call, most results (191 of 288) start with an extra 0.13 s
line, "You", transcribed on its own (+1 error and more time a question). ``--package-vad``
keeps it, to see that.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import voice_sets as vs  # noqa: E402


def progress(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def loadavg() -> str:
    return Path("/proc/loadavg").read_text().split()[0]


def dump_cuts(path: str, voices: list[str], limit: int) -> None:
    """Run in openlive's virtualenv: the VAD's utterances for every (voice, question)."""
    from openlive.engines.audio.vad import VadConfig
    from voice_quality import segment

    config = VadConfig()
    arrays: dict[str, np.ndarray] = {}
    for voice in voices:
        for i, q in enumerate(vs.spoken_questions()[:limit or None]):
            speech = vs.speak(voice, q)
            pcm = np.concatenate([np.zeros(3200, "<i2"), speech, np.zeros(16000, "<i2")])
            for k, audio in enumerate(segment(pcm, config)):
                arrays[f"{voice}|{i}|{k}"] = np.frombuffer(audio, "<i2")
    np.savez(path, **arrays)


def vad_cuts(args: argparse.Namespace) -> dict[tuple[str, int], list[np.ndarray]]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "cuts.npz"
        cmd = [args.openlive_python, str(Path(__file__).resolve()), "--dump-cuts", str(out),
               "--voices", ",".join(args.voices), "--limit", str(args.limit)]
        subprocess.run(cmd, check=True, cwd=BENCH.parent)
        cuts: dict[tuple[str, int], list[np.ndarray]] = {}
        with np.load(out) as z:
            for key in sorted(z.files, key=lambda k: (k.split("|")[0], *map(
                    int, k.split("|")[1:]))):
                voice, i, _k = key.split("|")
                cuts.setdefault((voice, int(i)), []).append(z[key])
        return cuts


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="\n\n".join(__doc__.split("\n\n")[1:]))
    p.add_argument("--voices", default=",".join(vs.DEFAULT_VOICES), metavar="A,B")
    p.add_argument("--limit", type=int, default=0, metavar="N", help="first N questions only")
    p.add_argument("--cut", choices=["vad", "trim"], default="vad",
                   help="vad: the server's VAD cuts (default); trim: the whole question")
    p.add_argument("--openlive-python", default=str(BENCH.parent / ".venv/bin/python"),
                   help="--cut vad: the python of openlive's virtualenv")
    p.add_argument("--model", default=None, metavar="DIR",
                   help="Moonshine model directory (default: the package's tiny-en)")
    p.add_argument("--package-vad", action="store_true",
                   help="keep the package's own VAD (default: vad_threshold=0, off)")
    p.add_argument("--show", type=int, default=12, help="worst transcripts shown")
    p.add_argument("--json", metavar="FILE", help="also write the summary as JSON")
    p.add_argument("--dump-cuts", metavar="NPZ", help=argparse.SUPPRESS)
    args = p.parse_args()
    args.voices = args.voices.split(",")
    unknown = [v for v in args.voices if v not in vs.VOICES]
    if unknown:
        p.error(f"unknown voices {unknown}; known: {', '.join(vs.VOICES)}")
    if args.dump_cuts:
        dump_cuts(args.dump_cuts, args.voices, args.limit)
        return 0

    import moonshine_voice
    from moonshine_voice import ModelArch, Transcriber, get_model_path

    progress(f"asr_moonshine; load average {loadavg()}")
    questions = vs.spoken_questions()[:args.limit or None]
    if args.cut == "vad":
        t = time.monotonic()
        cuts = vad_cuts(args)
        progress(f"VAD cuts made in openlive's virtualenv in {time.monotonic() - t:.0f} s")
    else:
        cuts = {(v, i): [vs.speak(v, q)] for v in args.voices for i, q in enumerate(questions)}
    model = args.model or str(get_model_path("tiny-en"))
    options = {} if args.package_vad else {"vad_threshold": "0"}
    tr = Transcriber(model, ModelArch.TINY, options=options)
    warm = (0.1 * np.sin(2 * np.pi * 220 * np.arange(16000) / 16000)).astype(np.float32)
    tr.transcribe_without_streaming(warm.tolist(), 16000)

    rows = []
    for voice in args.voices:
        for i, q in enumerate(questions):
            texts, asr_s = [], []
            for audio in cuts.get((voice, i), []):
                samples = (audio.astype(np.float32) / 32768.0).tolist()
                t = time.monotonic()
                result = tr.transcribe_without_streaming(samples, 16000)
                asr_s.append(time.monotonic() - t)
                texts += [line.text.strip() for line in result.lines if line.text.strip()]
            heard = " ".join(texts)
            e, w = vs.wer_counts(q, heard)
            rows.append({"voice": voice, "text": q, "heard": heard, "edits": e, "words": w,
                         "utterances": len(asr_s), "asr_s": asr_s,
                         "missed": vs.missed_nouns(q, heard)})
        done = [r for r in rows if r["voice"] == voice]
        progress(f"  {voice}: WER "
                 f"{sum(r['edits'] for r in done) / max(1, sum(r['words'] for r in done)):.1%}")

    def wer(rs: list[dict]) -> float:
        return sum(r["edits"] for r in rs) / max(1, sum(r["words"] for r in rs))

    print(f"\nMoonshine tiny-en (moonshine-voice {moonshine_voice.__version__}, {model}), "
          f"--cut {args.cut}, options {options}: WER per voice ({len(questions)} questions; "
          f"load average {loadavg()})")
    print(f"{'voice':<18}{'direct':>10}{'cut':>6}{'asr p50':>9}{'asr p95':>9}")
    table, asr_all = {}, []
    for voice in args.voices:
        rs = [r for r in rows if r["voice"] == voice]
        times = [t for r in rs for t in r["asr_s"]] or [0.0]
        asr_all += times
        table[voice] = round(wer(rs), 4)
        cuts_n = sum(r["utterances"] != 1 for r in rs)
        print(f"{voice:<18}{table[voice]:>10.1%}{cuts_n:>6}"
              f"{np.percentile(times, 50):>9.3f}{np.percentile(times, 95):>9.3f}")
    print(f"{'all voices':<18}{wer(rows):>10.1%}{'':>6}"
          f"{np.percentile(asr_all, 50):>9.3f}{np.percentile(asr_all, 95):>9.3f}")
    missed = vs.print_misses(rows, args.show)
    if args.json:
        Path(args.json).write_text(json.dumps({
            "recogniser": "moonshine tiny-en", "version": moonshine_voice.__version__,
            "cut": args.cut, "options": options, "wer": table, "wer_all": round(wer(rows), 4),
            "asr_p50_s": round(float(np.percentile(asr_all, 50)), 3),
            "asr_p95_s": round(float(np.percentile(asr_all, 95)), 3),
            "missed_nouns": dict(missed), "loadavg": loadavg(),
            "transcripts": [{k: r[k] for k in ("voice", "text", "heard", "edits")}
                            for r in rows]}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
