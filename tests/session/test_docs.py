"""docs/architecture.md draws the core's state tables: they must be the code's."""

from __future__ import annotations

from pathlib import Path

from openlive.session.state import CLIENT_RULES, Phase, client_rule
from openlive.session.turns import OUTPUT_ACCEPTED, TurnState

DOC = Path(__file__).resolve().parents[2] / "docs" / "architecture.md"
KINDS = ["setup", "client_content", "realtime_input", "tool_response", "context_update"]
OUTPUTS = ["text", "audio", "transcription", "event", "tool_call", "generation_complete",
           "turn_complete"]


def _table(header: str, columns: list[str], rows: list[tuple[str, list[str]]]) -> str:
    lines = [f"| {header} | " + " | ".join(f"`{c}`" for c in columns) + " |",
             "|---|" + "---|" * len(columns)]
    lines += [f"| {name} | " + " | ".join(cells) + " |" for name, cells in rows]
    return "\n".join(lines)


def _section(name: str) -> str:
    text = DOC.read_text()
    start = text.index(f"<!-- {name} -->") + len(f"<!-- {name} -->")
    return text[start:text.index(f"<!-- /{name} -->")].strip()


def test_the_client_rules_table_is_the_code():
    assert set(CLIENT_RULES) == set(Phase)
    rows = [(p.name, [client_rule(p, k) for k in KINDS]) for p in Phase]
    assert _section("client-rules") == _table("phase", KINDS, rows)


def test_the_output_table_is_the_code():
    rows = [(t.name, ["yes" if o in OUTPUT_ACCEPTED[t] else "drop" for o in OUTPUTS])
            for t in TurnState]
    assert _section("output-accepted") == _table("turn state", OUTPUTS, rows)
