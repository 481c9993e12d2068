"""What each record mode runs (socket-free): replay, relay with a recorder, or both."""

from __future__ import annotations

import json

import pytest

from openlive.testing.cassettes import CassetteError, EpisodesEngine, plan, recording_name

UP = "https://upstream.example"
KEY = "the-upstream-key-0042"


def write(path, sessions: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = []
    for i in range(sessions):
        lines += [{"t": 0, "direction": "open", "session": f"x#{i + 1}"},
                  {"t": 0, "direction": "client",
                   "message": {"setup": {"model": "models/openlive-emulator"}}}]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))


def run(path, mode, environ=None):
    return plan(path, mode, upstream=UP, environ={"GEMINI_API_KEY": KEY}
                if environ is None else environ)


def test_each_mode(tmp_path) -> None:
    path = tmp_path / "r.jsonl"
    with pytest.raises(CassetteError, match=r"no recording .*r.jsonl \(record mode none\)"):
        run(path, "none")
    for mode in ("once", "new_episodes", "all", "rewrite"):  # nothing recorded yet
        made = run(path, mode)
        assert made.engine.name == "relay" and made.recorder.keep == []
        assert made.engine.upstream.api_key == KEY and KEY not in repr(made.engine.upstream)
    write(path, 2)
    for mode in ("none", "once"):
        made = run(path, mode)
        assert made.engine.name == "replay" and made.recorder is None
        assert len(made.engine.recordings) == 2
    made = run(path, "new_episodes")
    assert isinstance(made.engine, EpisodesEngine) and made.engine.recorded == 2
    assert len(made.recorder.keep) == 2 and made.recorder.skip == 2
    assert len(run(path, "all").recorder.keep) == 2
    assert run(path, "rewrite").recorder.keep == []
    with pytest.raises(CassetteError, match=r"unknown record mode 'sometimes'"):
        run(path, "sometimes")


def test_recording_needs_the_key_and_never_shows_it(tmp_path) -> None:
    with pytest.raises(CassetteError) as caught:
        run(tmp_path / "r.jsonl", "once", environ={"GEMINI_API_KEY": "  "})
    assert "$GEMINI_API_KEY" in str(caught.value)
    write(tmp_path / "r.jsonl", 1)
    assert run(tmp_path / "r.jsonl", "none", environ={}).engine.name == "replay"  # no key


def test_names() -> None:
    assert recording_name("test_x[a b/c]") == "test_x[a-b-c]"
    assert recording_name("test_y", "TestGroup") == "TestGroup.test_y"
    assert recording_name("..") == "test"
