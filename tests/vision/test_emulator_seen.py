"""Emulator scripts react to what is seen: `seen: REGEX` and {seen} {ocr} {objects} {qr},
through a real server, with frames rendered at test time and analysed by the real models."""

from __future__ import annotations

import base64

import pytest
from images import jpeg, photo, qr_scene, sign

from live_client import open_live, recv, reply_text, send, until_turn_complete
from live_client import setup as live_setup
from openlive.engines.emulator import script as sc
from openlive.engines.emulator.engine import EmulatorEngine
from openlive.engines.vision.session import Vision
from openlive.server.app import ServerConfig
from openlive.server.run import start_server

RULES = [
    {"match": "what does (it|the sign) say", "seen": "text: (?P<words>[^;]+)",
     "say": "The sign says {words}."},
    {"match": "ticket", "seen": r"QR code: TICKET-(?P<number>\d+)",
     "call": {"name": "check_ticket", "args": {"number": "{number}"}},
     "say": "Ticket {number} is {result[status]}."},
    {"match": "anyone there", "seen": "face|person", "say": "I can see {objects}."},
    {"match": "what do you see", "say": "I see: {seen} (ocr={ocr}; qr={qr})"},
    {"match": ".*", "say": "No match: {text}"},
]
SETUP = {"model": "models/openlive-emulator",
         "generationConfig": {"responseModalities": ["TEXT"]}}


def video(frame: bytes) -> dict:
    return {"realtimeInput": {"video": {"mimeType": "image/jpeg",
                                        "data": base64.b64encode(frame).decode()}}}


@pytest.fixture
async def server(analyser):
    engine = EmulatorEngine(sc.parse_rules(RULES), vision=Vision(analyser=analyser))
    srv = await start_server(engine, ServerConfig(), host="127.0.0.1", port=0)
    yield srv
    await srv.stop()
    await engine.aclose()


async def session(server):
    ws = await open_live(server)
    await send(ws, {"setup": SETUP})
    assert await recv(ws) == {"setupComplete": {}}
    return ws


async def ask(ws, text: str) -> str:
    await send(ws, {"realtimeInput": {"text": text}})
    return reply_text(await until_turn_complete(ws, timeout=60))


async def test_seen_text_fills_the_reply(server):
    ws = await session(server)
    await send(ws, video(jpeg(sign("PLATFORM 9"))))
    assert (await ask(ws, "What does the sign say?")).upper() == "THE SIGN SAYS PLATFORM 9."
    await ws.close()


async def test_no_video_no_seen_rule(server):
    ws = await session(server)
    assert await ask(ws, "What does the sign say?") == "No match: What does the sign say?"
    assert await ask(ws, "What do you see?") == "I see:  (ocr=; qr=)"
    await ws.close()


async def test_the_latest_frame_counts(server):
    ws = await session(server)
    await send(ws, video(jpeg(sign("EXIT"))))
    assert "EXIT" in (await ask(ws, "what does it say")).upper()
    await send(ws, video(jpeg(photo("chelsea.png"))))  # a cat: no text, no face
    assert await ask(ws, "what does it say") == "No match: what does it say"
    assert await ask(ws, "anyone there?") == "No match: anyone there?"
    await send(ws, video(jpeg(photo("astronaut.png"))))
    assert await ask(ws, "anyone there?") == \
        "I can see one face in the middle, a person in the middle."
    await ws.close()


async def test_qr_code_drives_a_tool_call(server):
    ws = await session(server)
    await send(ws, video(jpeg(qr_scene("TICKET-4711"))))
    await send(ws, {"realtimeInput": {"text": "Check my ticket"}})
    while "toolCall" not in (msg := await recv(ws, timeout=60)):
        pass
    (call,) = msg["toolCall"]["functionCalls"]
    assert call["name"] == "check_ticket" and call["args"] == {"number": "4711"}
    await send(ws, {"toolResponse": {"functionResponses": [
        {"id": call["id"], "name": "check_ticket", "response": {"status": "valid"}}]}})
    assert reply_text(await until_turn_complete(ws, timeout=60)) == "Ticket 4711 is valid."
    await ws.close()


@pytest.mark.parametrize("model, coverage, sees", [
    # 3.x models' default turnCoverage: audio activity and all video (doc:3.8-live)
    ("models/gemini-3.8-live", None, True),
    # 2.5's default: only activity, so a frame sent before a typed question is not in it
    ("models/gemini-2.5-flash-native-audio-preview-12-2025", None, False),
    ("models/gemini-2.5-flash-native-audio-preview-12-2025", "TURN_INCLUDES_ALL_INPUT", True),
])
async def test_audio_replies_and_turn_coverage_on_live_models(server, model, coverage, sees):
    # gemini Live models answer in AUDIO; the reply's words are its outputTranscription
    ws = await open_live(server)
    extra = {"realtimeInputConfig": {"turnCoverage": coverage}} if coverage else {}
    await live_setup(ws, model, **extra)
    await send(ws, video(jpeg(sign("GATE 7"))))
    answer = await ask(ws, "What does the sign say?")
    assert answer == ("The sign says GATE 7." if sees else "No match: What does the sign say?")
    await ws.close()


def test_a_bad_seen_regex_names_the_rule():
    with pytest.raises(sc.ScriptError, match=r"rule 1: bad regex in 'seen'"):
        sc.parse_rules([{"match": "x", "seen": "(", "say": "y"}])


def test_seen_is_a_documented_rule_key():
    assert "seen" in sc.RULE_KEYS


def test_openlive_serve_gives_the_emulator_vision_when_installed():
    import argparse

    from openlive.engines.emulator.options import build

    engine = build(argparse.Namespace(script=None, voice=False))
    assert engine.vision is not None and engine.vision.analyser is not None
