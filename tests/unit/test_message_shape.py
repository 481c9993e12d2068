"""openlive's limits on one client message's shape (wire/codec.py): Google documents none;
past them the session closes with 1009 before the schema builds the message, so a frame
of a million parts cannot hold the event loop for seconds."""

from __future__ import annotations

import json
import time

import pytest

from openlive.wire.codec import MAX_OBJECTS, MAX_PARTS, parse_client_frame
from openlive.wire.errors import LiveError


def turn(parts: list[dict]) -> str:
    return json.dumps({"clientContent": {"turns": [{"role": "user", "parts": parts}],
                                         "turnComplete": True}})


def test_the_most_parts_pass_one_more_is_1009():
    message = parse_client_frame(turn([{"text": "a"}] * MAX_PARTS))
    assert len(message.client_content.turns[0].parts) == MAX_PARTS
    with pytest.raises(LiveError) as info:
        parse_client_frame(turn([{"text": "a"}] * (MAX_PARTS + 1)))
    assert (info.value.code, info.value.reason) == (
        1009, f"openlive: one message holds more than {MAX_PARTS} parts: send less at a time")


def test_parts_count_across_turns_and_snake_case():
    half = [{"text": "a"}] * (MAX_PARTS // 2 + 1)
    frame = json.dumps({"client_content": {"turns": [
        {"role": "user", "parts": half}, {"role": "model", "parts": half}]}})
    with pytest.raises(LiveError) as info:
        parse_client_frame(frame)
    assert info.value.code == 1009


def test_a_million_parts_are_refused_quickly():
    frame = turn([{"text": "a"}] * 1_000_000)
    t0 = time.monotonic()
    with pytest.raises(LiveError) as info:
        parse_client_frame(frame)
    elapsed = time.monotonic() - t0
    assert (info.value.code, info.value.reason) == (
        1009, f"openlive: one message holds more than {MAX_OBJECTS} JSON objects: "
              "send less at a time")
    # the schema took 10-16 s for this frame; the refusal takes ~0.1-0.2 s (bound generous)
    assert elapsed < 5, elapsed
    print(f"1M parts refused in {elapsed * 1000:.0f} ms")


def test_large_json_in_one_part_is_not_counted_as_parts():
    """Braces inside a string, and a tool's big JSON response, are not parts."""
    assert parse_client_frame(turn([{"text": "{x}" * 200_000}]))
    rows = [{"row": i} for i in range(MAX_PARTS * 3)]
    frame = json.dumps({"toolResponse": {"functionResponses": [
        {"id": "c1", "name": "f", "response": {"rows": rows}}]}})
    message = parse_client_frame(frame)
    assert len(message.tool_response.function_responses[0].response["rows"]) == len(rows)


def test_bad_json_still_gets_googles_reason():
    """A frame the shape check cannot read is left to the schema's parser (1007); one cut
    after more parts than the limit is refused by the count it reached (1009)."""
    frame = '{"clientContent": nope' + "{}" * (MAX_PARTS * 2)
    with pytest.raises(LiveError) as info:
        parse_client_frame(frame)
    assert (info.value.code, info.value.reason) == (
        1007, "Invalid JSON payload received. Unexpected token.")
    with pytest.raises(LiveError) as info:
        parse_client_frame(turn([{"text": "a"}] * (MAX_PARTS + 5))[:-1])
    assert info.value.code == 1009
