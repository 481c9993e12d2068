"""The installed pytest plugin, run the way a user runs it: pytest in a subprocess on a
fresh project (pytester), which finds ``live_server`` through the ``pytest11`` entry point."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from openlive.testing import start_live_server

pytest_plugins = ["pytester"]  # (a non-root conftest.py may not name plugins)

DOCS = Path(__file__).parents[2] / "docs" / "testing.md"
INI = """
[pytest]
asyncio_mode = auto
asyncio_default_fixture_loop_scope = function
"""


def doc_files() -> dict[str, str]:
    """The python blocks of docs/testing.md that start with a ``# name.py`` line."""
    blocks = re.findall(r"```python\n# (\w+\.py)\n(.*?)```", DOCS.read_text(), re.S)
    return dict(blocks)


def doc_script() -> list:
    """The emulator script of the page's test_weather.py (a literal)."""
    found = re.search(r"^SCRIPT = (\[.*?\])\n\n", doc_files()["test_weather.py"], re.S | re.M)
    assert found, "test_weather.py defines SCRIPT = [...]"
    return ast.literal_eval(found.group(1))


def test_the_documented_example_runs_as_copied(pytester: pytest.Pytester, tmp_path,
                                               monkeypatch) -> None:
    """As the page says: copied into a fresh folder, no ini, no pytest-asyncio settings;
    then the replay test recorded against an upstream (an emulator standing in for
    Google's service, with the page's script), then replayed by a plain ``pytest``."""
    files = doc_files()
    assert set(files) == {"weather.py", "test_weather.py", "test_weather_replay.py"}
    for name in ("weather.py", "test_weather.py"):
        pytester.path.joinpath(name).write_text(files[name])
    strict = ("-p", "no:cacheprovider", "--strict-markers",
              "-W", "error::pytest.PytestUnknownMarkWarning")
    # as if pytest-asyncio were not installed (-p no:asyncio): the plugin runs the test
    result = pytester.runpytest_subprocess(*strict, "-p", "no:asyncio", timeout=180)
    result.assert_outcomes(passed=1)
    assert "natively supported" not in result.stdout.str()

    pytester.path.joinpath("test_weather_replay.py").write_text(files["test_weather_replay.py"])
    upstream = start_live_server(script=doc_script(), api_keys=["upstream-key"], voice=False,
                                 tls_dir=tmp_path / "tls")
    try:
        monkeypatch.setenv("GEMINI_API_KEY", "upstream-key")
        result = pytester.runpytest_subprocess(
            *strict, "--openlive-record-mode=once", f"--openlive-upstream={upstream.url}",
            f"--openlive-upstream-cafile={upstream.cert}", timeout=180)
        result.assert_outcomes(passed=3)
        assert len(upstream.sessions) == 1  # recorded once; the Oslo test replays it
        monkeypatch.delenv("GEMINI_API_KEY")
        result = pytester.runpytest_subprocess(*strict, timeout=180)  # replays, no key
        result.assert_outcomes(passed=3)
        assert len(upstream.sessions) == 1
    finally:
        upstream.stop()
    [recording] = pytester.path.joinpath("recordings", "test_weather_replay").iterdir()
    assert recording.name == "test_the_app_against_its_recording.jsonl"


def test_the_plugin_is_registered_by_its_entry_point(pytester: pytest.Pytester) -> None:
    pytester.makeini(INI)
    result = pytester.runpytest_subprocess("--fixtures", "-p", "no:cacheprovider", timeout=60)
    result.stdout.fnmatch_lines(["*live_server*", "*in-process openlive*"])
    result = pytester.runpytest_subprocess("--markers", timeout=60)
    result.stdout.fnmatch_lines(["@pytest.mark.openlive(*"])


def test_sync_and_async_tests_and_a_failing_assertion(pytester: pytest.Pytester) -> None:
    pytester.makeini(INI)
    pytester.makepyfile(test_app="""
        import asyncio, json, ssl, urllib.request
        import pytest
        import websockets

        def test_health_sync(live_server):
            ctx = ssl.create_default_context(cafile=str(live_server.cert))
            with urllib.request.urlopen(live_server.url + "/healthz", context=ctx) as r:
                assert json.load(r)["status"] == "ok"
            assert live_server.sessions == []

        @pytest.mark.openlive(script=[{"say": "pong"}])
        async def test_raw_client(live_server):
            async with asyncio.timeout(10):
                async with websockets.connect(live_server.live_url,
                                              ssl=live_server.ssl_context) as ws:
                    model = "models/gemini-2.5-flash-native-audio-preview-12-2025"
                    await ws.send(json.dumps({"setup": {"model": model}}))
                    await ws.recv()
                [session] = await live_server.await_closed()
            assert session.kinds() == ["setup"]

        @pytest.mark.openlive(script=[{"say": "pong"}])
        def test_wrong_expectation(live_server):
            assert live_server.url.startswith("http://")
    """)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", timeout=120)
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*assert False*", "*https://127.0.0.1:*"])
