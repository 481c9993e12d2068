"""The local engine with video: the description of the frame at the user's turn goes into the
real LLM's context (the shipped Qwen GGUF, in-process), and --vlm-url sends the frame to a
vision model, here a small HTTP server that records what it received (no vision model can
run on this machine; the LLM that answers is still the real one)."""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import re

import pytest
from aiohttp import web
from images import jpeg, photo, sign

from live_client import free_port, open_live, recv, reply_text, send, until_turn_complete
from openlive.engines.audio.voice_models import VoiceModels
from openlive.engines.local import LocalEngine
from openlive.engines.local.prompt import chat_messages
from openlive.engines.options import EngineOptionError
from openlive.engines.vision.options import build_vision
from openlive.engines.vision.session import Vision
from openlive.engines.vision.vlm import VisionModel
from openlive.server.app import ServerConfig
from openlive.server.run import start_server
from openlive.wire.content import Content
from openlive.wire.setup import Setup

SETUP = {"model": "models/openlive-local",
         "generationConfig": {"responseModalities": ["TEXT"], "maxOutputTokens": 48,
                              "temperature": 0}}


def video(frame: bytes) -> dict:
    return {"realtimeInput": {"video": {"mimeType": "image/jpeg",
                                        "data": base64.b64encode(frame).decode()}}}


async def ask(server, frame: bytes, question: str) -> str:
    ws = await open_live(server)
    try:
        await send(ws, {"setup": SETUP})
        assert await recv(ws) == {"setupComplete": {}}
        await send(ws, video(frame))
        await send(ws, {"realtimeInput": {"text": question}})
        return reply_text(await until_turn_complete(ws, timeout=120))
    finally:
        await ws.close()


def test_the_description_precedes_the_users_words():
    setup = Setup.model_validate({"model": "m"})
    history = [Content.model_validate({"role": "user", "parts": [{"text": "What is it?"}]})]
    messages = chat_messages(setup, history, seen="(detected: a cup)")
    assert messages[-1] == {"role": "user", "content": "(detected: a cup)\n\nWhat is it?"}
    assert chat_messages(setup, history)[-1]["content"] == "What is it?"


@pytest.fixture(scope="module")
def local_engine(analyser):
    engine = LocalEngine(voice=VoiceModels(), vision=Vision(analyser=analyser))
    engine.llm()  # the shipped GGUF, loaded once for the module
    return engine


@pytest.fixture
async def local_server(local_engine):
    server = await start_server(local_engine, ServerConfig(), host="127.0.0.1", port=0)
    yield server
    await server.stop()


async def test_what_does_the_sign_say(local_server):
    answer = await ask(local_server, jpeg(sign("PLATFORM 9")), "What does the sign say?")
    assert "PLATFORM 9" in answer.upper(), answer


async def test_what_do_you_see(local_server):
    answer = await ask(local_server, jpeg(photo("astronaut.png")), "What do you see?")
    assert any(w in answer.lower() for w in ("face", "person", "people")), answer


async def test_what_do_you_see_names_the_objects(local_server):
    """The objects stage (CenterNet, docs/vision.md) reaches the LLM's answer."""
    answer = await ask(local_server, jpeg(photo("chelsea.png")), "What do you see?")
    print("answer:", answer)
    assert re.search(r"\bcats?\b", answer, re.IGNORECASE), answer


class RecordingVLM:
    """An OpenAI-compatible endpoint that records each request and answers one caption."""

    def __init__(self, caption: str) -> None:
        self.caption = caption
        self.requests: list[tuple[dict, dict]] = []

    async def models(self, request: web.Request) -> web.Response:
        return web.json_response({"data": [{"id": "tiny-vlm"}]})

    async def chat(self, request: web.Request) -> web.Response:
        self.requests.append((dict(request.headers), await request.json()))
        return web.json_response({"choices": [{"message": {"role": "assistant",
                                                           "content": self.caption}}]})

    async def __aenter__(self) -> str:
        app = web.Application()
        app.router.add_get("/v1/models", self.models)
        app.router.add_post("/v1/chat/completions", self.chat)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        port = free_port()
        await web.TCPSite(self.runner, "127.0.0.1", port).start()
        return f"http://127.0.0.1:{port}/v1"

    async def __aexit__(self, *exc: object) -> None:
        await self.runner.cleanup()


async def test_vlm_url_sends_the_frame_to_a_vision_model(monkeypatch):
    recorder = RecordingVLM("A green board that reads GATE 12, held by a person.")
    async with recorder as url:
        monkeypatch.setenv("VLM_KEY", "sk-test-secret")
        args = argparse.Namespace(vision="auto", vlm_url=url, vlm_model_name="tiny-vlm",
                                  vlm_api_key_env="VLM_KEY", llm_threads=2)
        vision = await asyncio.to_thread(build_vision, args)
        assert isinstance(vision.vlm, VisionModel)
        engine = LocalEngine(voice=VoiceModels(), vision=vision)
        server = await start_server(engine, ServerConfig(), host="127.0.0.1", port=0)
        try:
            frame = jpeg(sign("GATE 12", board=(20, 140, 40)))
            answer = await ask(server, frame, "Which gate is on the board?")
        finally:
            await server.stop()
            await engine.aclose()
    (headers, body), = recorder.requests
    assert headers["Authorization"] == "Bearer sk-test-secret"
    assert body["model"] == "tiny-vlm" and body["stream"] is False
    user = body["messages"][-1]
    text, image = user["content"]
    assert "Which gate is on the board?" in text["text"]
    assert image == {"type": "image_url", "image_url": {
        "url": "data:image/jpeg;base64," + base64.b64encode(frame).decode()}}
    assert "12" in answer, answer


def test_vision_options_are_checked():
    base = dict(vision="auto", vlm_url=None, vlm_model_name=None, vlm_api_key_env=None)
    with pytest.raises(EngineOptionError, match="--vlm-model-name needs --vlm-url"):
        build_vision(argparse.Namespace(**{**base, "vlm_model_name": "x"}))
    with pytest.raises(EngineOptionError, match="not an http"):
        build_vision(argparse.Namespace(**{**base, "vlm_url": "ftp://x"}))
    with pytest.raises(EngineOptionError, match="cannot reach the vision endpoint"):
        build_vision(argparse.Namespace(**{**base,
                                           "vlm_url": f"http://127.0.0.1:{free_port()}/v1"}))
    with pytest.raises(EngineOptionError, match="exclude each other"):
        build_vision(argparse.Namespace(**{**base, "vision": "off", "vlm_url": "http://x"}))
    assert build_vision(argparse.Namespace(**{**base, "vision": "off"})) is None


def test_the_request_never_logs_or_holds_the_key_in_its_body():
    body = VisionModel("http://x/v1", api_key="sk-secret").request_body(b"\xff\xd8", "hi")
    assert "sk-secret" not in json.dumps(body)
