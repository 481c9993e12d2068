"""The fixture's emulator has speech models as ``openlive serve``'s has (when the local
extra is installed), with one switch for both: ``voice=`` on the marker or
``start_live_server``, ``--openlive-voice`` / ``--openlive-no-voice`` for a whole run.
Building the engine does not load the models (they load when a session needs them)."""

from __future__ import annotations

import argparse

import pytest

from openlive.engines.audio.voice_models import missing_voice_packages
from openlive.engines.emulator import options as emulator_options
from openlive.testing import OptionError, start_live_server

pytest_plugins = ["pytester"]
INSTALLED = not missing_voice_packages()


def serves_voice() -> bool:
    """Whether ``openlive serve`` (engine emulator, no flags) builds it with voice."""
    parser = argparse.ArgumentParser()
    emulator_options.add_arguments(parser.add_argument_group())
    return emulator_options.build(parser.parse_args([])).voice is not None


def has_voice(**options) -> bool:
    server = start_live_server(tls=False, **options)
    try:
        return server.engine.voice is not None
    finally:
        server.stop()


def test_the_default_is_serves() -> None:
    assert has_voice() == serves_voice() == INSTALLED


def test_voice_false_and_true() -> None:
    assert has_voice(voice=False) is False
    if INSTALLED:
        assert has_voice(voice=True) is True
    else:
        with pytest.raises(OptionError, match=r"voice=True needs the speech stages"):
            has_voice(voice=True)
    with pytest.raises(OptionError, match="voice= is for the emulator"):
        has_voice(engine="local", voice=False)


def test_a_run_wide_switch_and_the_marker(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_voice=f"""
        import pytest

        INSTALLED = {INSTALLED!r}

        def test_default(live_server, request):
            expected = {{True: True, False: False, None: INSTALLED}}[
                request.config.getoption("openlive_voice")]
            assert (live_server.engine.voice is not None) is expected

        @pytest.mark.openlive(voice=False)
        def test_marker_wins(live_server):
            assert live_server.engine.voice is None
    """)
    for args in ([], ["--openlive-no-voice"]) + ((["--openlive-voice"],) if INSTALLED else ()):
        result = pytester.runpytest_subprocess("-p", "no:cacheprovider", *args, timeout=120)
        result.assert_outcomes(passed=2)
