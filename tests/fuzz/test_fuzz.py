"""A sample of the property-based fuzzer in the suite (a few hundred cases, seconds);
``python bench/fuzz.py`` runs 10^5 and more (tests/fuzz/properties.py says what holds)."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .frames import frames
from .properties import check_parser, run_core, steps, store_answers

SAMPLE = settings(max_examples=int(os.environ.get("OPENLIVE_FUZZ_EXAMPLES", "150")),
                  deadline=None, database=None,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@SAMPLE
@given(frames)
def test_the_parser_refuses_only_with_1007(frame) -> None:
    check_parser(frame)


@SAMPLE
@given(steps(), store_answers, st.booleans(), st.booleans())
def test_the_session_core_keeps_its_invariants(plan, answers, limited, permissive) -> None:
    run_core(plan, answers, limited, permissive)
