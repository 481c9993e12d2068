#!/usr/bin/env python
"""The answer's first audio, offline: how long from asking the in-process LLM to the
first clause's audio, with the LLM held while that clause is synthesized (the engine's
default, engines/local/answer_stream.py) and without (it goes on generating beside Piper).

Asks the factual questions of bench/data/voice_facts.tsv as the local engine asks them
(default system instruction, greedy, at most 256 tokens) and speaks each answer through
the engine's own :class:`SpeakingTurn` (ClauseSplitter, Piper), alternating the two modes
question by question in one process; prints, per mode, asked → first text, first text →
first audio (the first clause cut and synthesized) and asked → first audio (p50, p95).

    .venv/bin/python bench/first_clause.py [--limit N]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import voice_sets as vs  # noqa: E402


class Recorder:
    """The :class:`~openlive.engines.base.Turn` calls SpeakingTurn makes: records when
    the first audio goes out."""

    def __init__(self) -> None:
        self.first_audio: float | None = None
        self.turn_id, self.setup, self.history, self.user = 1, None, [], None

    async def send_audio(self, pcm: bytes, rate: int = 24_000, transcript: Any = None) -> None:
        if pcm and self.first_audio is None:
            self.first_audio = time.monotonic()

    async def send_text(self, text: str) -> None: ...
    async def generation_complete(self) -> None: ...
    async def complete(self, usage: Any = None, **fields: Any) -> None: ...


async def ask(llm: Any, synth: Any, question: str, hold: bool) -> dict[str, float]:
    from openlive.engines.audio.llm import Usage
    from openlive.engines.audio.speaking import SpeakingTurn
    from openlive.engines.local.answer_stream import AnswerStream
    from openlive.engines.local.prompt import sampling

    rec = Recorder()
    turn = SpeakingTurn(rec, synth)  # type: ignore[arg-type]
    setup = vs.engine_setup()
    answer = AnswerStream(llm, vs.engine_messages(question, setup), sampling(setup), Usage())
    turn.first_clause_hold = answer if hold else None
    asked = time.monotonic()
    first_text = None
    async for delta in answer:
        if first_text is None:
            first_text = time.monotonic()
        await turn.send_text(delta)
        if rec.first_audio is not None:
            break  # the rest of the answer does not change its first audio
    if rec.first_audio is None:  # the whole answer was one clause
        await turn.generation_complete()
    assert first_text is not None and rec.first_audio is not None
    return {"first_text": first_text - asked, "first_audio_after_text":
            rec.first_audio - first_text, "first_audio": rec.first_audio - asked}


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, round(q * (len(s) - 1)))]


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--limit", type=int, default=0, help="the first N questions only")
    args = ap.parse_args()
    from openlive.engines.audio.llm import LocalLLM
    from openlive.engines.audio.tts import Synthesizer

    llm, synth = LocalLLM(), Synthesizer()
    b"".join(synth.synthesize("Hello."))  # warm up both
    questions = [q for q, _ in vs.fact_questions()][: args.limit or None]
    results: dict[bool, list[dict[str, float]]] = {True: [], False: []}
    for i, question in enumerate(questions):
        for hold in ((True, False) if i % 2 else (False, True)):
            results[hold].append(await ask(llm, synth, question, hold))
            await asyncio.sleep(0.3)  # the stopped answer's last token leaves llama.cpp
    with open("/proc/loadavg") as f:
        load = " ".join(f.read().split()[:3])
    print(f"{len(questions)} questions, each asked in both modes (load average {load})")
    for hold, label in ((True, "held while the first clause is synthesized"),
                        (False, "not held (generates beside Piper)")):
        rs = results[hold]
        cols = []
        for key, name in (("first_text", "asked -> first text"),
                          ("first_audio_after_text", "first text -> first audio"),
                          ("first_audio", "asked -> first audio")):
            vals = [r[key] for r in rs]
            cols.append(f"{name} p50 {statistics.median(vals):.3f} p95 {pct(vals, .95):.3f}")
        print(f"{label:45s} " + " | ".join(cols))


if __name__ == "__main__":
    asyncio.run(main())
