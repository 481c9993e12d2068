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


EXIT_DURING_PRELOAD = """
import json
import websockets.sync.client as ws_client
from openlive.testing import start_live_server

server = start_live_server(tls=False)  # speech models as serve has them
with ws_client.connect(server.live_url) as ws:  # an AUDIO session: the models start loading
    ws.send(json.dumps({"setup": {"model": "models/gemini-3.8-live"}}))
    ws.recv()
server.stop()
import threading
# the loading thread, seconds from done: Python waits for it at exit only if not a daemon
print([t.daemon for t in threading.enumerate() if t.name == "voice-preload"])
"""


@pytest.mark.skipif(not INSTALLED, reason="needs the speech stages (openlive[local])")
def test_a_process_that_exits_while_the_models_load_exits_cleanly() -> None:
    """The models load on a background thread started from the fixture's event loop thread
    (a daemon), so it was a daemon too: a process that ended while native code loaded a
    model aborted (exit 134: seen with bench/plugin_startup.py)."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", EXIT_DURING_PRELOAD], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[False]"
