"""pytest plugin (entry point ``pytest11``): the ``live_server`` fixture.

```python
import pytest

@pytest.mark.openlive(script=[{"match": "hello", "say": "Hi there!"}])
async def test_greeting(live_server):
    client = live_server.genai_client()
    async with client.aio.live.connect(model="gemini-2.5-flash-native-audio-preview-12-2025",
                                       config={"response_modalities": ["TEXT"]}) as session:
        await session.send_realtime_input(text="hello")
        ...
    assert live_server.wait_closed()[0].texts() == ["hello"]
```

Options (marker keywords, or a dict through ``@pytest.mark.parametrize("live_server",
[...], indirect=True)``; the parameter wins over the marker): ``engine`` (``"emulator"``,
the default, ``"replay"``, ``"local"``, or an Engine or a factory), ``script`` (emulator
rules or a YAML path), ``recordings`` / ``speed`` / ``recording`` (for ``"replay"``),
``tls`` (default True), and any ``ServerConfig`` field (``api_keys=[...]``,
``binary_frames=False``…). An unknown engine or option is a ``pytest.UsageError``. See
docs/testing.md.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

MARKER = "openlive"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(engine='emulator'|'replay'|'local'|Engine, script=None, recordings=None, "
        "speed=1, tls=True, **server_config): options of the live_server fixture (an "
        "in-process openlive Live API server)")


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


@pytest.fixture(scope="session")
def _openlive_tls_dir(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return tmp_path_factory.mktemp("openlive-tls")


@pytest.fixture
def live_server(request: pytest.FixtureRequest, _openlive_tls_dir: Any) -> Iterator[Any]:
    """An in-process openlive (emulator by default) on a free port, with TLS; stopped after
    the test. ``.url``, ``.ws_url``, ``.genai_client()``, ``.sessions``."""
    from .server import OptionError, start_live_server

    options = _options(request)
    options.setdefault("tls_dir", _openlive_tls_dir)
    try:
        server = start_live_server(**options)
    except OptionError as exc:
        raise pytest.UsageError(f"live_server: {exc}") from None
    try:
        yield server
    finally:
        server.stop()
