"""The installed pytest plugin, run the way a user runs it: pytest in a subprocess on a
fresh project (pytester), which finds ``live_server`` through the ``pytest11`` entry point."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

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


def test_the_documented_example_passes(pytester: pytest.Pytester) -> None:
    files = doc_files()
    assert set(files) == {"weather.py", "test_weather.py", "test_weather_replay.py"}
    pytester.makeini(INI)
    for name, text in files.items():
        pytester.path.joinpath(name).write_text(text)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--strict-markers",
                                           "-W", "error::pytest.PytestUnknownMarkWarning",
                                           timeout=120)
    result.assert_outcomes(passed=7)
    assert list(pytester.path.joinpath("recordings").glob("*.jsonl"))  # recorded, replayed


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
