"""With Piper (the local extra), the emulator's outputTranscription is still exactly the
scripted text (issue 12): the spoken form drops Markdown, the transcript does not."""

from __future__ import annotations

import asyncio
import json

from websockets.asyncio.client import connect

from live_client import LIVE_PATH
from openlive.engines.emulator import EmulatorEngine
from openlive.engines.emulator.script import parse_rules

SAID = "**Sure**, the `door` opens at 9.30. Then: go left!"


async def test_piper_speech_carries_the_scripted_words_as_its_transcript(serve_engine,
                                                                           voice_models):
    engine = EmulatorEngine(parse_rules([{"say": SAID}]), voice=voice_models)
    server = await serve_engine(engine)
    async with asyncio.timeout(60):
        async with connect(server.ws_url + LIVE_PATH, max_size=None) as ws:
            await ws.send(json.dumps({"setup": {"model": "models/gemini-3.8-live",
                                                "outputAudioTranscription": {}}}))
            assert json.loads(await ws.recv()) == {"setupComplete": {}}
            await ws.send(json.dumps({"realtimeInput": {"text": "hi"}}))
            got = []
            while not got or not got[-1].get("serverContent", {}).get("turnComplete"):
                got.append(json.loads(await ws.recv()))
    said = "".join(m["serverContent"]["outputTranscription"]["text"] for m in got
                   if "outputTranscription" in m.get("serverContent", {}))
    assert said == SAID
    audio = [p for m in got for p in m.get("serverContent", {}).get("modelTurn", {})
             .get("parts", []) if "inlineData" in p]
    assert audio  # Piper's speech
