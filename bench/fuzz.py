"""The property-based fuzzer, at scale: the client-frame parser and the session core, each
with ``--cases`` generated cases (default 50,000 each: 10^5 in all). What holds is written
in tests/fuzz/properties.py; the suite runs a small sample (tests/fuzz/test_fuzz.py).

    python bench/fuzz.py [--cases N] [--seed S] [--only parser|core]

Prints the cases run, the time taken and each finding (the smallest failing case
Hypothesis found, and the exception); exits 1 if there was one.
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from hypothesis import HealthCheck, Phase, given, seed, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from fuzz.frames import frames  # noqa: E402
from fuzz.properties import check_parser, run_core, steps, store_answers  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=50_000, help="cases per target")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--only", choices=["parser", "core"])
    args = ap.parse_args()
    config = settings(max_examples=args.cases, deadline=None, database=None,
                      phases=[Phase.generate, Phase.shrink],
                      suppress_health_check=list(HealthCheck))
    counts = {"parser": 0, "core": 0}

    def parser_case(frame: str | bytes) -> None:
        counts["parser"] += 1
        check_parser(frame)

    def core_case(plan: list, answers: list[bool], limited: bool, permissive: bool) -> None:
        counts["core"] += 1
        run_core(plan, answers, limited, permissive)

    targets = {
        "parser": given(frames)(parser_case),
        "core": given(steps(), store_answers, st.booleans(), st.booleans())(core_case),
    }
    findings = 0
    for name, target in targets.items():
        if args.only and name != args.only:
            continue
        test = config(target)
        if args.seed is not None:
            test = seed(args.seed)(test)
        started = time.perf_counter()
        try:
            test()
            result = "no finding"
        except Exception as exc:  # a finding: Hypothesis printed the smallest case
            findings += 1
            result = "FINDING: " + "".join(
                traceback.format_exception_only(type(exc), exc)).strip()
        elapsed = time.perf_counter() - started
        print(f"{name}: {counts[name]} cases in {elapsed:.1f} s "
              f"({counts[name] / elapsed:.0f}/s): {result}", flush=True)
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
