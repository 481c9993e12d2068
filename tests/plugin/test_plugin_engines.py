"""The fixture's engine shortcuts, run as a user runs them (pytest in a subprocess):
engine="emulator" | "replay" | "local", by marker or indirect parameter; clear usage errors."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

INI = """
[pytest]
asyncio_mode = auto
asyncio_default_fixture_loop_scope = function
"""

APP = """
    import asyncio
    from pathlib import Path

    import pytest
    from google.genai import errors

    from openlive.recording import Recorder

    RECORDINGS = Path(__file__).parent / "recordings"
    MODEL = "openlive-emulator"  # openlive's own model: TEXT replies (mechanics)


    async def ask(server, text, model=MODEL, timeout=10):
        client = server.genai_client()
        async with asyncio.timeout(timeout):
            async with client.aio.live.connect(
                    model=model, config={"response_modalities": ["TEXT"]}) as session:
                await session.send_realtime_input(text=text)
                return "".join([m.text or "" async for m in session.receive()])
"""


def test_engines_by_marker_and_by_indirect_parameter(pytester: pytest.Pytester) -> None:
    pytester.makeini(INI)
    pytester.makepyfile(test_engines=APP + """

    @pytest.mark.openlive(engine="emulator", script=[{"say": "recorded"}],
                          observer=Recorder(RECORDINGS))
    async def test_1_record(live_server):
        assert await ask(live_server, "hi") == "recorded"
        await live_server.await_closed()

    @pytest.mark.parametrize("live_server", [
        {"engine": "replay", "recordings": RECORDINGS},
        {"engine": "replay", "recordings": RECORDINGS, "speed": "max"},
        {"engine": "emulator", "script": [{"say": "scripted"}]},
        {"script": [{"say": "scripted"}]},
    ], indirect=True)
    async def test_2_each_engine(live_server):
        expected = "recorded" if live_server.engine.name == "replay" else "scripted"
        assert await ask(live_server, "hi") == expected

    @pytest.mark.openlive(engine="replay", recordings=RECORDINGS)
    async def test_3_replay_divergence(live_server):
        with pytest.raises(errors.APIError) as caught:
            await ask(live_server, "bye")
        assert caught.value.code == 4409
    """)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-v", timeout=120)
    result.assert_outcomes(passed=6)


@pytest.mark.parametrize(("options", "message"), [
    ('engine="relai"', "*unknown engine 'relai': use one of emulator, replay, local*"),
    ('engine="replay"', "*engine='replay' needs recordings=DIR*"),
    ('engine="replay", recordings="nowhere"', "*recordings: no such directory: nowhere*"),
    ('engine="replay", recordings=".", speed="fast"', "*speed: not a number or 'max'*"),
    ('engine="replay", recordings=".", script=[]', "*script= is for the emulator*"),
    ('recordings="."', "*recordings= need engine='replay'*"),
    ('scirpt=[]', "*unknown live_server option 'scirpt'*"),
    ('script=[{"sya": "x"}]', "*script:*sya*"),
    ('record=True, speed="fast"', "*speed: not a number or 'max'*"),
    ('record_mode="once"', "*record_mode= need record=True*"),
    ('record=True, script=[]', "*script= does not go with record=True*"),
    ('voice="yes"', "*voice: True, False or None*"),
])
def test_unknown_engines_and_options_are_usage_errors(pytester: pytest.Pytester, options,
                                                      message) -> None:
    pytester.makeini(INI)
    pytester.makepyfile(test_bad=f"""
        import pytest

        @pytest.mark.openlive({options})
        def test_it(live_server):
            pass
    """)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", timeout=60)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*UsageError*", message])


def test_the_local_engine_loads_once_and_is_shared(pytester: pytest.Pytester) -> None:
    pytester.makeini(INI)
    pytester.makepyfile(test_local=APP + """

    SEEN = []

    @pytest.mark.parametrize("n", [1, 2])
    @pytest.mark.openlive(engine="local")
    async def test_local(live_server, n):
        SEEN.append(live_server.engine)
        assert live_server.engine.name == "local"
        # the local LLM answers something (generous: a busy 2-core CI machine)
        assert await ask(live_server, "Say hello.", "openlive-local", timeout=120)
        assert all(engine is SEEN[0] for engine in SEEN)  # one engine: models load once
    """)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", timeout=300)
    result.assert_outcomes(passed=2)
