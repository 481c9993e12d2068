"""What runs where uvloop does not (Windows; docs/platforms.md): the package imports and the
emulator serves a session on asyncio's own event loop."""

from __future__ import annotations

import pytest

from live_client import ServeProcess, open_live, reply_text, setup, turn


@pytest.fixture
def no_uvloop(tmp_path):
    """A PYTHONPATH on which `import uvloop` fails, as on a platform without it."""
    blocked = tmp_path / "uvloop"
    blocked.mkdir()
    (blocked / "__init__.py").write_text("raise ImportError('uvloop blocked for this test')\n")
    return {"PYTHONPATH": str(tmp_path)}


async def test_the_emulator_serves_without_uvloop(no_uvloop):
    async with ServeProcess(env=no_uvloop) as served:
        async with await open_live(served) as ws:
            # TEXT on openlive's own model: the point is the event loop, not speech (which
            # with the local extra would first load Piper)
            await setup(ws, "models/openlive-emulator", transcribe=False,
                        generationConfig={"responseModalities": ["TEXT"]})
            assert reply_text(await turn(ws, "no uvloop here")) == "You said: no uvloop here"
    assert not any("uvloop" in line and "Traceback" in line for line in served.log)


def test_the_server_picks_asyncio_when_uvloop_is_missing(monkeypatch):
    import asyncio
    import sys

    from openlive.server.cli import event_loop_runner

    monkeypatch.setitem(sys.modules, "uvloop", None)
    assert event_loop_runner() is asyncio.run
