"""pytest plugin (entry point ``pytest11``): the ``live_server`` and ``live_server_env``
fixtures, the ``openlive`` marker and the ``--openlive-*`` options.

```python
import pytest

@pytest.mark.openlive(script=[{"match": "hello", "say": "Hi there!"}])
async def test_greeting(live_server):
    client = live_server.genai_client()
    async with client.aio.live.connect(model="gemini-3.8-live", config={
            "response_modalities": ["AUDIO"], "output_audio_transcription": {}}) as session:
        await session.send_realtime_input(text="hello")
        ...
    assert live_server.wait_closed()[0].texts() == ["hello"]
```

Options (marker keywords, or a dict through ``@pytest.mark.parametrize("live_server",
[...], indirect=True)``; the parameter wins over the marker): ``engine`` (``"emulator"``,
the default, ``"replay"``, ``"local"``, or an Engine or a factory), ``script`` (emulator
rules or a YAML path), ``voice`` (the emulator's speech models, as serve), ``recordings``
/ ``speed`` / ``recording`` (for ``"replay"``), ``record`` (this test's own recording,
replayed or recorded by ``--openlive-record-mode``), ``record_mode``, ``match_ignore`` /
``match_normalise`` / ``before_record`` (how recordings are matched and redacted),
``upstream`` / ``upstream_cafile`` (where recording sessions go), ``tls`` (default True),
and any ``ServerConfig`` field (``api_keys=[...]``…). An unknown engine or option is a
``pytest.UsageError``. An ``async def`` test that uses ``live_server`` runs without
pytest-asyncio too. See docs/testing.md.
"""

from __future__ import annotations

import asyncio
import inspect
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

MARKER = "openlive"
FIXTURES = ("live_server", "live_server_env")
_RECORD_OPTIONS = ("record", "record_mode", "upstream", "upstream_cafile")


def pytest_addoption(parser: pytest.Parser) -> None:
    from .cassettes import DEFAULT_DIR, DEFAULT_KEY_ENV, RECORD_MODES

    group = parser.getgroup("openlive", "openlive (the live_server fixture)")
    group.addoption("--openlive-record-mode", choices=RECORD_MODES, default=None,
                    help="what tests marked openlive(record=True) do: none (replay, the "
                         "default), once (record when missing), new_episodes, all, rewrite")
    group.addoption("--openlive-upstream", metavar="URL", default=None,
                    help="where recording sessions go (default: Google's endpoint)")
    group.addoption("--openlive-upstream-key-env", metavar="NAME", default=None,
                    help=f"environment variable with the upstream's API key (default "
                         f"{DEFAULT_KEY_ENV})")
    group.addoption("--openlive-upstream-cafile", metavar="PEM", default=None,
                    help="trust this CA file for a wss:// upstream")
    group.addoption("--openlive-voice", dest="openlive_voice", action="store_const",
                    const=True, default=None,
                    help="the emulator hears and speaks with the speech models (an error "
                         "without openlive[local]); default: as openlive serve, when installed")
    group.addoption("--openlive-no-voice", dest="openlive_voice", action="store_const",
                    const=False, help="the emulator without speech models")
    parser.addini("openlive_record_mode", "default --openlive-record-mode", default="none")
    parser.addini("openlive_recordings_dir", "where each test's recording is kept, relative "
                  f"to the test file's folder (default {DEFAULT_DIR})", default=DEFAULT_DIR)
    parser.addini("openlive_upstream", "default --openlive-upstream", default="")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(engine='emulator'|'replay'|'local'|Engine, script=None, voice=None, "
        "record=False, record_mode=None, recordings=None, speed=1, tls=True, "
        "**server_config): options of the live_server fixture (an in-process openlive "
        "Live API server)")


def _options(request: pytest.FixtureRequest) -> dict[str, Any]:
    options: dict[str, Any] = {}
    for marker in reversed(list(request.node.iter_markers(MARKER))):  # closest one wins
        if marker.args:
            raise pytest.UsageError(
                f"@pytest.mark.{MARKER} takes keyword arguments only, e.g. script=[...]")
        options.update(marker.kwargs)
    param = getattr(request, "param", None)
    if param is not None:
        if not isinstance(param, dict):
            raise pytest.UsageError(
                "live_server parameters are dicts of options, e.g. {'script': [...]}")
        options.update(param)
    return options


def _recording_path(request: pytest.FixtureRequest, record: Any) -> Path:
    from .cassettes import recording_name

    folder = Path(request.config.getini("openlive_recordings_dir"))
    test_file = Path(request.node.path)
    if not folder.is_absolute():
        folder = test_file.parent / folder
    if isinstance(record, str | os.PathLike):
        name = Path(record).name
        return folder / test_file.stem / (name if name.endswith(".jsonl") else name + ".jsonl")
    cls = request.node.cls.__name__ if getattr(request.node, "cls", None) else None
    return folder / test_file.stem / (recording_name(request.node.name, cls) + ".jsonl")


def _plan(request: pytest.FixtureRequest, options: dict[str, Any]) -> Any:
    """The engine and recorder of a test with ``record=...``, by its record mode."""
    import argparse

    from ..engines.relay.upstream import GOOGLE_UPSTREAM
    from ..engines.replay.options import parse_speed
    from . import cassettes
    from .server import OptionError, matcher

    record = options.pop("record", False)
    mode = options.pop("record_mode", None)
    upstream = options.pop("upstream", None)
    cafile = options.pop("upstream_cafile", None)
    if not record:
        given = [k for k, v in (("record_mode", mode), ("upstream", upstream),
                                ("upstream_cafile", cafile)) if v is not None]
        if given:
            raise pytest.UsageError(f"live_server: {', '.join(given)}= need record=True")
        return None
    for name in ("engine", "script", "recordings", "recording", "observer"):
        if options.get(name) is not None:
            raise pytest.UsageError(f"live_server: {name}= does not go with record=True "
                                    "(the test's recording answers, or the upstream)")
    config = request.config
    mode = (mode or config.getoption("openlive_record_mode")
            or config.getini("openlive_record_mode") or "none")
    speed = options.pop("speed", None)
    try:
        speed = 0.0 if speed is None else parse_speed(str(speed))
    except argparse.ArgumentTypeError as exc:
        raise pytest.UsageError(f"live_server: speed: {exc}") from None
    try:
        found = matcher(options.pop("match_ignore", None), options.pop("match_normalise", None))
        return cassettes.plan(
            _recording_path(request, record), mode,
            upstream=(upstream or config.getoption("openlive_upstream")
                      or config.getini("openlive_upstream") or GOOGLE_UPSTREAM),
            key_env=config.getoption("openlive_upstream_key_env") or cassettes.DEFAULT_KEY_ENV,
            cafile=cafile or config.getoption("openlive_upstream_cafile"),
            environ=os.environ, speed=speed,
            matcher=found, before_record=options.pop("before_record", None))
    except OptionError as exc:
        raise pytest.UsageError(f"live_server: {exc}") from None
    except cassettes.CassetteError as exc:
        pytest.fail(f"live_server: {exc}", pytrace=False)


@pytest.fixture(scope="session")
def _openlive_tls_dir(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return tmp_path_factory.mktemp("openlive-tls")


@pytest.fixture
def live_server(request: pytest.FixtureRequest, _openlive_tls_dir: Any) -> Iterator[Any]:
    """An in-process openlive (emulator by default) on a free port, with TLS; stopped after
    the test. ``.url``, ``.ws_url``, ``.genai_client()``, ``.sessions``, ``.environ()``."""
    from .server import OptionError, start_live_server

    options = _options(request)
    options.setdefault("tls_dir", _openlive_tls_dir)
    if "voice" not in options and request.config.getoption("openlive_voice") is not None:
        if options.get("engine") in (None, "emulator") and not options.get("record"):
            options["voice"] = request.config.getoption("openlive_voice")
    plan = _plan(request, options)
    if plan is not None:
        options["engine"] = plan.engine
        if plan.recorder is not None:
            options["observer"] = plan.recorder
    try:
        server = start_live_server(**options)
    except OptionError as exc:
        raise pytest.UsageError(f"live_server: {exc}") from None
    server.recording = plan.path if plan is not None else None
    try:
        yield server
    finally:
        server.stop()
        if plan is not None and plan.recorder is not None:
            from ..recording.cassette import RecordingFailed

            try:
                plan.recorder.save()
            except RecordingFailed as exc:
                pytest.fail(f"live_server: {exc}", pytrace=False)


@pytest.fixture
def live_server_env(live_server: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """``live_server``, with the environment set for this test so that an app that builds
    its own client (``genai.Client()`` in Python, ``new GoogleGenAI({})`` in Node) talks to
    it unchanged: ``GOOGLE_GEMINI_BASE_URL``, a test API key, ``SSL_CERT_FILE`` and
    ``NODE_EXTRA_CA_CERTS`` (see ``LiveTestServer.environ``). Restored after the test."""
    for name, value in live_server.environ().items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    return live_server


def _runs_async_itself(item: pytest.Function) -> bool:
    """An ``async def`` test that uses the fixture and that no async plugin took on
    (pytest-asyncio marks those it runs ``asyncio``; anyio, ``anyio``)."""
    return (inspect.iscoroutinefunction(item.obj)
            and any(name in FIXTURES for name in item.fixturenames)
            and item.get_closest_marker("asyncio") is None
            and item.get_closest_marker("anyio") is None)


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """Run an ``async def`` test that uses ``live_server`` on its own event loop when no
    async plugin does (pytest has no native async tests: without this, a user who has not
    configured pytest-asyncio gets "async def functions are not natively supported")."""
    if not _runs_async_itself(pyfuncitem):
        return None
    names = pyfuncitem._fixtureinfo.argnames  # noqa: SLF001 - what pytest itself passes
    kwargs = {name: pyfuncitem.funcargs[name] for name in names}
    asyncio.run(pyfuncitem.obj(**kwargs))
    return True
