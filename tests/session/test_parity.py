"""docs/fidelity.md is generated from the model profiles and session/parity.py's tables:
it must be current, cite only known sources, and name only tests that exist."""

from __future__ import annotations

import re
from pathlib import Path

from openlive.session.models import PROFILES
from openlive.session.parity import SOURCES, pinned_tests, render

ROOT = Path(__file__).resolve().parents[2]


def test_the_page_is_the_generated_one():
    page = (ROOT / "docs" / "fidelity.md").read_text(encoding="utf-8")
    assert page == render(), "stale: python -m openlive.session.parity > docs/fidelity.md"


def test_every_profile_source_is_explained():
    assert {s for p in PROFILES for s in p.sources} <= set(SOURCES)


def test_every_pinned_test_exists():
    for pinned in pinned_tests():
        path, _, name = pinned.partition("::")
        text = (ROOT / path).read_text(encoding="utf-8")
        if name:
            assert re.search(rf"^(async )?def {re.escape(name)}\(", text, re.M), pinned
