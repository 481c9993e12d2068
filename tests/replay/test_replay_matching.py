"""Tunable matching (fields ignored, a normalising function, as VCR.py's match_on) and the
before_record redaction hook: the Matcher on its own, then a real recording server and a
real replay server on loopback with a raw WebSocket client."""

from __future__ import annotations

import json

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from openlive.engines.replay import DIVERGED
from openlive.engines.replay.matching import Matcher
from openlive.recording import Recorder, read_recording
from openlive.testing import OptionError, start_live_server

MODEL = "models/openlive-emulator"  # TEXT replies: these tests are about mechanics


def setup(temperature: float = 0.5) -> dict:
    return {"setup": {"model": MODEL, "generationConfig": {
        "responseModalities": ["TEXT"], "temperature": temperature}}}


def turn(text: str) -> dict:
    return {"clientContent": {"turns": [{"role": "user", "parts": [{"text": text}]}],
                              "turnComplete": True}}


def test_ignored_paths_and_a_normalising_function() -> None:
    a = {"clientContent": {"turns": [{"role": "user", "parts": [{"text": "at 10:01"}]}]}}
    b = {"clientContent": {"turns": [{"role": "user", "parts": [{"text": "at 10:02"}]}]}}
    assert not Matcher().same(a, b)
    assert Matcher(["clientContent.turns.*.parts.*.text"]).same(a, b)
    assert Matcher(["clientContent.turns.0.parts"]).same(a, b)
    assert not Matcher(["clientContent.turns.1"]).same(a, b)  # no such turn: nothing ignored
    assert Matcher(normalise=lambda m: json.loads(json.dumps(m).replace("10:02", "10:01"))
                   ).same(a, b)
    key = Matcher(["clientContent.turns"]).key(a)
    assert key == {"clientContent": {}} and a["clientContent"]["turns"]  # a copy
    with pytest.raises(ValueError, match="empty name"):
        Matcher(["setup..model"])


async def exchange(url: str, first: dict, second: dict) -> tuple[str, int | None]:
    """Setup, one turn; (the reply's text, the close code if the server closed)."""
    text = []
    async with connect(url) as ws:
        await ws.send(json.dumps(first))
        json.loads(await ws.recv())  # setupComplete
        await ws.send(json.dumps(second))
        try:
            while True:
                content = json.loads(await ws.recv()).get("serverContent", {})
                text += [p.get("text", "") for p in content.get("modelTurn", {}).get("parts", [])]
                if content.get("turnComplete"):
                    break
        except ConnectionClosed:
            return "".join(text), ws.close_code
    return "".join(text), None


def redact_phone(direction: str, message: dict) -> dict:
    return json.loads(json.dumps(message).replace("555-0199", "<phone>"))


async def test_a_redacted_recording_replays_and_ignored_fields_match(tmp_path) -> None:
    recorded = tmp_path / "rec"
    with_hook = Recorder(recorded, before_record=redact_phone)
    server = start_live_server(script=[{"say": "noted {text}"}], tls=False, observer=with_hook)
    try:
        assert await exchange(server.live_url, setup(), turn("call me at 555-0199")) == (
            "noted call me at 555-0199", None)
        server.wait_closed()
    finally:
        server.stop()
    [path] = recorded.glob("*.jsonl")
    text = path.read_text()
    assert "555-0199" not in text and text.count("<phone>") == 2  # the app's and the reply
    assert any(r.get("message", {}).get("clientContent") for r in read_recording(path))

    # the hook is applied to what the client sends before it is compared: the same app
    # matches its redacted recording; another temperature matches only when ignored
    replay = start_live_server(engine="replay", recordings=recorded, speed="max", tls=False,
                               before_record=redact_phone,
                               match_ignore=["setup.generationConfig.temperature"])
    try:
        assert await exchange(replay.live_url, setup(0.9), turn("call me at 555-0199")) == (
            "noted call me at <phone>", None)
    finally:
        replay.stop()
    strict = start_live_server(engine="replay", recordings=recorded, speed="max", tls=False)
    try:
        _, code = await exchange(strict.live_url, setup(), turn("call me at 555-0199"))
        assert code == DIVERGED  # unredacted, the app's text differs from the recording
    finally:
        strict.stop()


def test_match_options_are_for_the_replay() -> None:
    with pytest.raises(OptionError, match="match_ignore= need engine='replay'"):
        start_live_server(match_ignore=["setup"])
    with pytest.raises(OptionError, match="match_normalise: a function"):
        start_live_server(engine="replay", recordings=".", match_normalise="nope")
