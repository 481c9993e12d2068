#!/usr/bin/env python
"""How well the local voice hears, answers and waits: three sets, printed as tables.

``--set spoken`` (hearing)
    bench/data/voice_questions.txt (48 questions: names, places, numbers, commands) spoken
    in the voices of ``bench/voice_sets.py`` (flite and espeak-ng, none of them the
    engine's Piper voice), each fed as the server hears it: 200 ms of silence, the
    question, 1 s of silence in 20 ms chunks through the server's VAD
    (``VadSegmenter``, default ``VadConfig`` or ``--silence-ms``), every utterance it
    cuts transcribed by the server's recognizer (``Transcriber`` as ``VoiceModels``
    builds it, or as the ``--whisper-model``/``--beam``/``--window``/``--asr-prompt`` flags
    change it). Each voice twice: ``direct`` (16 kHz as made) and ``browser`` (48 kHz
    through a simulated browser capture path and the server's 48 -> 16 kHz resampling: see
    ``voice_sets.browser_path``). Prints WER per voice and path, ASR time per utterance,
    the proper nouns that did not come through, and the worst transcripts.
``--set facts`` (answers)
    bench/data/voice_facts.tsv (56 questions with short known answers) asked of the LLM
    as the local engine asks it (``chat_messages`` and ``sampling`` of
    engines/local/prompt.py, default system instruction), streamed; a reply is correct when
    it contains an accepted answer. Prints % correct, the time to the first spoken clause
    (as ``SpeakingTurn`` cuts it) and the wrong replies. ``--llm-model GGUF`` for another
    model.
``--set pauses`` (false cuts)
    bench/data/voice_pauses.txt (30 sentences in 2-3 clauses) spoken clause by clause and
    joined with 300-700 ms of silence, streamed in real time to a server (``openlive serve
    --engine local``, TEXT replies and ``inputAudioTranscription``; its LLM judges each
    pause's transcript and answers each turn; ``--engine emulator``: the same listener
    with the lexical rule alone and no LLM time). A turn is cut when the server finishes
    more than one input transcription for the sentence, i.e. ended the user's turn while
    the speaker was only pausing.

    .venv/bin/python bench/voice_quality.py --set spoken
    .venv/bin/python bench/voice_quality.py --set spoken --voices flite-slt,espeak-en-us --beam 5
    .venv/bin/python bench/voice_quality.py --set spoken --paths direct --whisper-model DIR
    .venv/bin/python bench/voice_quality.py --set facts
    .venv/bin/python bench/voice_quality.py --set pauses --voices flite-slt,flite-rms
    .venv/bin/python bench/voice_quality.py --set pauses --engine emulator
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import voice_pauses  # noqa: E402
import voice_sets as vs  # noqa: E402

CHUNK = 320  # 20 ms at 16 kHz


def progress(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def uptime() -> str:
    return Path("/proc/loadavg").read_text().split()[0]


# ------------------------------------------------------------------------ hearing


def segment(pcm: np.ndarray, config) -> list[bytes]:
    """The utterances the server's VAD cuts from ``pcm`` (already padded with silence)."""
    from openlive.engines.audio.vad import SpeechEnded, VadSegmenter

    seg = VadSegmenter(config)
    out: list[bytes] = []
    for i in range(0, len(pcm), CHUNK):
        out += [e.audio for e in seg.feed(pcm[i:i + CHUNK].tobytes())
                if isinstance(e, SpeechEnded)]
    out += [e.audio for e in seg.flush() if isinstance(e, SpeechEnded)]
    return out


def run_spoken(args: argparse.Namespace) -> dict:
    from openlive.engines.audio.vad import VadConfig
    from openlive.engines.audio.voice_models import VoiceModels

    models = VoiceModels(whisper_model=args.whisper_model)
    tr = models.transcriber()
    if args.beam is not None:
        tr.beam_size = args.beam
    if args.window is not None:
        tr.window_s = None if args.window <= 0 else args.window
    config = VadConfig() if args.silence_ms is None else VadConfig(
        silence_duration_ms=args.silence_ms)
    if args.asr_prompt is None:  # what the listener passes
        from openlive.engines.audio.asr import ASSISTANT_PROMPT

        args.asr_prompt = ASSISTANT_PROMPT
    tr.warm_up()
    questions = vs.spoken_questions()[:args.limit or None]
    prompts = {q: args.asr_prompt or None for q in questions}
    if args.context != "none":  # the listener's prompt after a reply (asr.context_prompt)
        from openlive.engines.audio.asr import context_prompt

        replies = previous_replies(questions, args)
        n = len(questions)
        for i, q in enumerate(questions):
            reply = replies[i] if args.context == "same" else replies[(i + 1) % n]
            prompts[q] = context_prompt(reply)
    paths = ["direct", "browser"] if args.paths == "both" else [args.paths]
    rows: list[dict] = []
    for voice in args.voices:
        t_voice = time.monotonic()
        for q_i, q in enumerate(questions):
            speech = vs.speak(voice, q)
            for path in paths:
                if path == "direct":
                    pcm = np.concatenate([np.zeros(3200, "<i2"), speech, np.zeros(16000, "<i2")])
                else:
                    pcm = vs.server_resample(vs.browser_path(speech, seed=q_i))
                utts = segment(pcm, config)
                texts, asr_s = [], []
                for audio in utts:
                    t = time.monotonic()
                    texts.append(tr.transcribe(audio, prompt=prompts[q]))
                    asr_s.append(time.monotonic() - t)
                heard = " ".join(x for x in texts if x)
                e, w = vs.wer_counts(q, heard)
                rows.append({"voice": voice, "path": path, "text": q, "heard": heard,
                             "edits": e, "words": w, "utterances": len(utts),
                             "asr_s": asr_s, "missed": vs.missed_nouns(q, heard)})
        done = [r for r in rows if r["voice"] == voice]
        progress(f"  {voice}: {len(questions)} questions x {len(paths)} paths in "
                 f"{time.monotonic() - t_voice:.0f} s, WER "
                 f"{sum(r['edits'] for r in done) / max(1, sum(r['words'] for r in done)):.1%}")

    def wer(rs: list[dict]) -> float:
        return sum(r["edits"] for r in rs) / max(1, sum(r["words"] for r in rs))

    table = {}
    print(f"\nWER per voice ({len(questions)} questions; "
          f"{args.whisper_model or 'shipped Whisper base'}; beam {tr.beam_size}, window "
          f"{tr.window_s} s, prompt {args.asr_prompt!r}, context {args.context}; "
          f"load average {uptime()})")
    print(f"{'voice':<18}" + "".join(f"{p:>10}" for p in paths)
          + f"{'cut':>6}{'asr p50':>9}{'asr p95':>9}")
    asr_all = []
    for voice in args.voices:
        rs = [r for r in rows if r["voice"] == voice]
        times = [t for r in rs for t in r["asr_s"]]
        asr_all += times
        table[voice] = {p: round(wer([r for r in rs if r["path"] == p]), 4) for p in paths}
        cuts = sum(r["utterances"] != 1 for r in rs)
        print(f"{voice:<18}" + "".join(f"{table[voice][p]:>10.1%}" for p in paths)
              + f"{cuts:>6}{np.percentile(times, 50):>9.3f}{np.percentile(times, 95):>9.3f}")
    overall = {p: round(wer([r for r in rows if r["path"] == p]), 4) for p in paths}
    print(f"{'all voices':<18}" + "".join(f"{overall[p]:>10.1%}" for p in paths)
          + f"{'':>6}{np.percentile(asr_all, 50):>9.3f}{np.percentile(asr_all, 95):>9.3f}")
    missed = vs.print_misses(rows, args.show)
    return {"set": "spoken", "wer": table, "wer_all": overall,
            "asr_p50_s": round(float(np.percentile(asr_all, 50)), 3),
            "asr_p95_s": round(float(np.percentile(asr_all, 95)), 3),
            "missed_nouns": dict(missed), "beam": tr.beam_size, "window_s": tr.window_s,
            "asr_prompt": args.asr_prompt, "context": args.context,
            "whisper_model": args.whisper_model,
            "loadavg": uptime()}


def previous_replies(questions: list[str], args: argparse.Namespace) -> list[str]:
    """The shipped LLM's reply to each question, as the local engine asks it (default
    system instruction, at most 96 tokens): the model turn that a question's recognition
    follows with ``--context``."""
    from openlive.engines.audio.llm import LocalLLM

    llm = LocalLLM(args.llm_model, threads=args.llm_threads)
    replies = [llm.complete(vs.engine_messages(q), max_tokens=96).strip() for q in questions]
    progress(f"  {len(replies)} replies written for --context")
    return replies


# ------------------------------------------------------------------------ answers


def run_facts(args: argparse.Namespace) -> dict:
    from openlive.engines.audio.llm import LocalLLM
    from openlive.engines.audio.tts import ClauseSplitter
    from openlive.engines.local.prompt import sampling

    t = time.monotonic()
    llm = LocalLLM(args.llm_model, threads=args.llm_threads)
    progress(f"LLM loaded in {time.monotonic() - t:.1f} s")
    setup = vs.engine_setup(args.system)
    params = sampling(setup)
    params["max_tokens"] = min(params["max_tokens"], args.max_tokens)
    facts = vs.fact_questions()[:args.limit or None]
    rows = []
    for i, (q, answers) in enumerate(facts):
        messages = vs.engine_messages(q, setup)
        splitter = ClauseSplitter(first_soft_min_chars=1)
        t0 = time.monotonic()
        first = None
        reply = ""
        for delta in llm.stream(messages, **params):
            reply += delta
            if first is None and splitter.feed(delta):
                first = time.monotonic() - t0
        total = time.monotonic() - t0
        ok = vs.contains_answer(reply, answers)
        rows.append({"q": q, "answers": answers, "reply": reply.strip(), "ok": ok,
                     "first_clause_s": first if first is not None else total, "total_s": total})
        if (i + 1) % 10 == 0:
            progress(f"  {i + 1}/{len(facts)}: {sum(r['ok'] for r in rows)} correct")
    correct = sum(r["ok"] for r in rows)
    firsts = [r["first_clause_s"] for r in rows]
    model = Path(args.llm_model).name if args.llm_model else "shipped 0.5B"
    print(f"\n{model}: {correct}/{len(rows)} correct ({correct / len(rows):.0%}); first clause "
          f"p50 {statistics.median(firsts):.3f} s, p95 {np.percentile(firsts, 95):.3f} s; "
          f"whole reply p50 {statistics.median(r['total_s'] for r in rows):.2f} s "
          f"(max_tokens {params['max_tokens']}, {args.llm_threads} threads; load average "
          f"{uptime()})")
    print("wrong:")
    for r in rows:
        if not r["ok"]:
            print(f"  {r['q']!r} ({'|'.join(r['answers'])}) -> {r['reply'][:100]!r}")
    return {"set": "facts", "model": model, "correct": correct, "n": len(rows),
            "first_clause_p50_s": round(statistics.median(firsts), 3),
            "system": args.system, "loadavg": uptime()}


# ----------------------------------------------------------------------- false cuts


def run_pauses(args: argparse.Namespace) -> dict:
    from voice_latency import LIVE_PATH, start_server

    items = voice_pauses.pause_items(args.voices, args.limit)
    proc, url, log_path = start_server(args.engine, 300)
    try:
        results = asyncio.run(voice_pauses.pause_session(
            url + LIVE_PATH, items, args.silence_ms, args.sensitivity, args.engine))
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
    counted = voice_pauses.count_cuts(results)
    cut, unheard = counted["cut"], counted["unheard"]
    print(f"\nfalse cuts (pauses 300-700 ms; --engine {args.engine}; silenceDurationMs "
          f"{args.silence_ms or 'server default'}; endOfSpeechSensitivity "
          f"{args.sensitivity or 'default'}; load average {uptime()}):")
    for v, (c, n) in counted["per_voice"].items():
        print(f"  {v:<16} {c}/{n} cut ({c / n:.0%})")
    print(f"  {'all':<16} {cut}/{len(results)} cut ({cut / len(results):.1%}); "
          f"{unheard} not heard at all; server log {log_path}")
    return {"set": "pauses", "cut": cut, "n": len(results), "unheard": unheard,
            "engine": args.engine, "silence_ms": args.silence_ms,
            "sensitivity": args.sensitivity, "loadavg": uptime()}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="\n\n".join(__doc__.split("\n\n")[1:]))
    p.add_argument("--set", choices=["spoken", "facts", "pauses"], required=True)
    p.add_argument("--voices", default=None, metavar="A,B",
                   help=f"voices (default: spoken {','.join(vs.DEFAULT_VOICES)}; "
                        "pauses flite-slt,flite-rms)")
    p.add_argument("--paths", choices=["direct", "browser", "both"], default="both",
                   help="spoken: the audio paths (default both)")
    p.add_argument("--limit", type=int, default=0, metavar="N", help="first N items only")
    p.add_argument("--silence-ms", type=int, default=None,
                   help="VAD silenceDurationMs (default: the server's)")
    p.add_argument("--engine", choices=["local", "emulator"], default="local",
                   help="pauses: the server's engine (default local: its LLM judges the "
                        "pause's transcript; the emulator uses the lexical rule alone)")
    p.add_argument("--sensitivity", default=None,
                   choices=["END_SENSITIVITY_HIGH", "END_SENSITIVITY_LOW"],
                   help="pauses: endOfSpeechSensitivity in the setup (default: none)")
    p.add_argument("--whisper-model", default=None, metavar="DIR",
                   help="spoken: another CTranslate2 Whisper model directory (model.bin, "
                        "config.json, tokenizer.json; default: the shipped Whisper base)")
    p.add_argument("--beam", type=int, default=None, help="spoken: Whisper beam size")
    p.add_argument("--window", type=float, default=None,
                   help="spoken: Whisper window in seconds (0: the full 30 s)")
    p.add_argument("--asr-prompt", default=None,
                   help="spoken: Whisper's initial prompt (default: the listener's, "
                        "asr.ASSISTANT_PROMPT; '' for none)")
    p.add_argument("--context", choices=["none", "same", "other"], default="none",
                   help="spoken: recognize each question after a model reply, as the "
                        "listener's prompt then holds it (asr.context_prompt): the LLM's "
                        "reply to the same question (same) or to the next one in the set "
                        "(other: an unrelated reply); none: the prompt without a reply")
    p.add_argument("--show", type=int, default=12, help="spoken: worst transcripts shown")
    p.add_argument("--llm-model", default=None, metavar="GGUF", help="facts: another model")
    p.add_argument("--llm-threads", type=int, default=2)
    p.add_argument("--max-tokens", type=int, default=96,
                   help="facts: reply length cap (default 96 tokens)")
    p.add_argument("--system", default=None, help="facts: a system instruction")
    p.add_argument("--json", metavar="FILE", help="also write the summary as JSON")
    args = p.parse_args()
    default = ["flite-slt", "flite-rms"] if args.set == "pauses" else vs.DEFAULT_VOICES
    args.voices = args.voices.split(",") if args.voices else default
    unknown = [v for v in args.voices if v not in vs.VOICES]
    if unknown:
        p.error(f"unknown voices {unknown}; known: {', '.join(vs.VOICES)}")
    progress(f"voice_quality --set {args.set}; load average {uptime()}")
    out = {"spoken": run_spoken, "facts": run_facts, "pauses": run_pauses}[args.set](args)
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
