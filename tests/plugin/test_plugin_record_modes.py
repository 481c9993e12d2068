"""One recording per test and record modes (none, once, new_episodes, all, rewrite), run as
a user runs them: pytest in a subprocess on a fresh project. The "real upstream" that
recording relays to is a second openlive (the emulator, with its own API key, behind TLS),
as in tests/relay: Google's service cannot be reached from a test."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from openlive.testing import start_live_server

pytest_plugins = ["pytester"]

UPSTREAM_KEY = "upstream-secret-key-1234"

APP = """
    import asyncio
    import os

    import pytest

    MODEL = "openlive-emulator"  # openlive's own model: TEXT replies (mechanics, not Google)


    async def ask(server, text):
        client = server.genai_client()
        async with asyncio.timeout(20):
            async with client.aio.live.connect(
                    model=MODEL, config={"response_modalities": ["TEXT"]}) as session:
                await session.send_realtime_input(text=text)
                return "".join([m.text or "" async for m in session.receive()])


    @pytest.mark.openlive(record=True)
    async def test_hello(live_server):
        for i in range(int(os.environ.get("SESSIONS", "1"))):
            assert await ask(live_server, f"hello {i}") == f"upstream heard: hello {i}"
        await live_server.await_closed()
"""


@pytest.fixture
def upstream(tmp_path: Path):
    server = start_live_server(script=[{"match": ".*", "say": "upstream heard: {text}"}],
                               api_keys=[UPSTREAM_KEY], tls_dir=tmp_path / "tls")
    try:
        yield server
    finally:
        server.stop()


def sessions_in(path: Path) -> list[str]:
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    return [line["session"] for line in lines if line["direction"] == "open"]


def test_record_modes(pytester: pytest.Pytester, upstream, monkeypatch) -> None:
    pytester.makepyfile(test_app=APP)
    recording = pytester.path / "recordings" / "test_app" / "test_hello.jsonl"
    # (NAME=VALUE: pytest takes a separate argument that is a path as a place to look
    # for its rootdir and ini file)
    up = [f"--openlive-upstream={upstream.url}", f"--openlive-upstream-cafile={upstream.cert}"]

    def run(*args: str, sessions: int = 1):
        monkeypatch.setenv("SESSIONS", str(sessions))
        return pytester.runpytest_subprocess("-p", "no:cacheprovider", *args, timeout=120)

    # none (the default): no recording yet is an error that says how to make one
    result = run()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*no recording*test_hello.jsonl (record mode none)*"
                                 "--openlive-record-mode=once*"])
    # once, without the upstream key in the environment: said, the key never shown
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    result = run("--openlive-record-mode=once", *up)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*recording needs the upstream's API key in $GEMINI_API_KEY*"])
    assert not recording.exists() and upstream.sessions == []

    monkeypatch.setenv("GEMINI_API_KEY", UPSTREAM_KEY)
    run("--openlive-record-mode=once", *up).assert_outcomes(passed=1)  # recorded
    assert len(upstream.sessions) == 1 and sessions_in(recording) == ["test_hello#1"]
    assert UPSTREAM_KEY not in recording.read_text()
    assert list(recording.parent.iterdir()) == [recording]  # no WAV copy, no other file

    run().assert_outcomes(passed=1)  # none: replayed (no upstream given at all)
    run("--openlive-record-mode=once", *up).assert_outcomes(passed=1)  # once: replayed
    assert len(upstream.sessions) == 1

    # new_episodes: the recorded session is replayed, the second one is recorded
    run("--openlive-record-mode=new_episodes", *up, sessions=2).assert_outcomes(passed=1)
    assert len(upstream.sessions) == 2
    assert upstream.sessions[1].texts() == ["hello 1"]
    assert sessions_in(recording) == ["test_hello#1", "test_hello#2"]
    run(sessions=2).assert_outcomes(passed=1)  # both replayed
    result = run(sessions=3)  # a third session has no recording: closed as a divergence
    result.assert_outcomes(failed=1)
    assert len(upstream.sessions) == 2

    # all: every session recorded, the recorded ones kept; rewrite: the file replaced
    run("--openlive-record-mode=all", *up).assert_outcomes(passed=1)
    assert len(upstream.sessions) == 3 and len(sessions_in(recording)) == 3
    monkeypatch.delenv("GEMINI_API_KEY")  # the key from another variable, as named
    monkeypatch.setenv("OTHER_KEY", UPSTREAM_KEY)
    run("--openlive-record-mode=rewrite", "--openlive-upstream-key-env=OTHER_KEY",
        *up).assert_outcomes(passed=1)
    assert len(upstream.sessions) == 4 and sessions_in(recording) == ["test_hello#1"]
    run().assert_outcomes(passed=1)
    assert len(upstream.sessions) == 4


def test_recording_name_and_folder(pytester: pytest.Pytester, upstream, monkeypatch) -> None:
    """Named after the test's id (class, parameters), in the configured folder."""
    pytester.makefile(".ini", pytest="[pytest]\nopenlive_recordings_dir = cassettes\n")
    pytester.makepyfile(test_names=APP.replace("test_hello", "unused") + """
    class TestGroup:
        @pytest.mark.parametrize("word", ["a b", "c"])
        @pytest.mark.openlive(record=True)
        async def test_word(self, live_server, word):
            assert await ask(live_server, word) == f"upstream heard: {word}"

    @pytest.mark.openlive(record="shared")
    def test_named(live_server):
        pass
    """)
    monkeypatch.setenv("GEMINI_API_KEY", UPSTREAM_KEY)
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "-k", "word or named", "--openlive-record-mode=once",
        f"--openlive-upstream={upstream.url}", f"--openlive-upstream-cafile={upstream.cert}",
        timeout=120)
    result.assert_outcomes(passed=3)
    folder = pytester.path / "cassettes" / "test_names"
    assert sorted(p.name for p in folder.iterdir()) == [
        "TestGroup.test_word[a-b].jsonl", "TestGroup.test_word[c].jsonl", "shared.jsonl"]
    assert sessions_in(folder / "shared.jsonl") == []  # a test that opened no session


def test_a_marker_record_mode_wins_over_the_run(pytester: pytest.Pytester, upstream,
                                                monkeypatch) -> None:
    pytester.makepyfile(test_marked=APP.replace(
        "@pytest.mark.openlive(record=True)",
        '@pytest.mark.openlive(record=True, record_mode="once", speed="max")'))
    monkeypatch.setenv("GEMINI_API_KEY", UPSTREAM_KEY)
    result = pytester.runpytest_subprocess(  # the run's mode is none, the test's once
        "-p", "no:cacheprovider", f"--openlive-upstream={upstream.url}",
        f"--openlive-upstream-cafile={upstream.cert}", timeout=120)
    result.assert_outcomes(passed=1)
    assert len(upstream.sessions) == 1
    assert (pytester.path / "recordings" / "test_marked" / "test_hello.jsonl").is_file()
