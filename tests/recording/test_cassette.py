"""A test's own recording (cassette) on its own: sessions in the order they opened, each
whole even when they ran at the same time, kept sessions first, a failing hook."""

from __future__ import annotations

import json
import stat

import pytest

from openlive.engines.replay.script import load_cassette
from openlive.recording.cassette import CassetteRecorder, RecordingFailed, read_cassette

SETUP = json.dumps({"setup": {"model": "models/openlive-emulator"}})


def session(recorder, label: str, text: str) -> None:
    recorder(label, "client", json.dumps({"realtimeInput": {"text": text}}))
    recorder(label, "server", json.dumps({"serverContent": {"turnComplete": True}}))


def test_interleaved_sessions_are_written_whole_in_opening_order(tmp_path) -> None:
    path = tmp_path / "recordings" / "test_mod" / "test_x.jsonl"
    recorder = CassetteRecorder(path)
    for label in ("[session 1]", "[session 2]"):
        recorder(label, "open", {"api_version": "v1beta", "auth": "api_key", "key": "no!"})
        recorder(label, "client", SETUP)
    session(recorder, "[session 2]", "second")
    session(recorder, "[session 1]", "first")
    recorder("[session 2]", "close", {"code": 1000})
    assert recorder.save() == path  # session 1 is still open: written without a close
    sessions = read_cassette(path)
    assert [s[0]["session"] for s in sessions] == ["test_x#1", "test_x#2"]
    assert [s[-1]["direction"] for s in sessions] == ["server", "close"]
    assert "no!" not in path.read_text()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [r.turns for r in load_cassette(path)] == [
        [{"realtimeInput": {"text": "first"}}], [{"realtimeInput": {"text": "second"}}]]

    # kept sessions come first; skipped (replayed) ones are not recorded again
    again = CassetteRecorder(path, keep=sessions, skip=1)
    for label in ("[session 3]", "[session 4]"):
        again(label, "open", {})
        again(label, "client", SETUP)
        session(again, label, label)
        again(label, "close", {"code": 1000})
    again.save()
    assert [s[0]["session"] for s in read_cassette(path)] == ["test_x#1", "test_x#2",
                                                              "test_x#3"]
    assert [r.turns[0]["realtimeInput"]["text"] for r in load_cassette(path)][-1] == (
        "[session 4]")


def test_a_failing_before_record_hook_fails_the_save_and_writes_nothing(tmp_path) -> None:
    def hook(direction: str, message: dict) -> dict:
        if "realtimeInput" in message:
            raise ValueError("cannot redact this")
        return message

    path = tmp_path / "x.jsonl"
    recorder = CassetteRecorder(path, before_record=hook)
    recorder("[session 1]", "open", {})
    recorder("[session 1]", "client", SETUP)
    session(recorder, "[session 1]", "hello")  # the hook raises: the server goes on
    recorder("[session 1]", "close", {"code": 1000})
    with pytest.raises(RecordingFailed, match="cannot redact this"):
        recorder.save()
    assert not path.exists()
