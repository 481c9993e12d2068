"""A session's vision as engines drive it: session events in, a description per turn out;
activity from activityStart/End or the VAD (SpeechHook) for TURN_INCLUDES_ONLY_ACTIVITY; a
vision model that fails leaves the turn without a description, logged."""

from __future__ import annotations

from aiohttp import web
from images import jpeg, qr_scene, sign

from live_client import free_port
from openlive.engines.vision.analyser import FrameAnalyser
from openlive.engines.vision.session import SpeechHook, Vision
from openlive.engines.vision.vlm import VisionModel
from openlive.session import events as ev
from openlive.wire.content import Blob
from openlive.wire.setup import Setup

ONLY_ACTIVITY = Setup.model_validate({"model": "models/openlive-local", "realtimeInputConfig": {
    "turnCoverage": "TURN_INCLUDES_ONLY_ACTIVITY"}})


def frame(data: bytes) -> ev.MediaReceived:
    return ev.MediaReceived(kind="video", blob=Blob(mime_type="image/jpeg", data=data))


class Inputs:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def speech_started(self, audio_offset: float | None = None) -> None:
        self.calls.append(f"speech_started {audio_offset}")

    def speech_ended(self, audio_offset: float | None = None) -> None:
        self.calls.append(f"speech_ended {audio_offset}")

    async def input_transcription(self, text: str, finished: bool | None = None) -> None:
        self.calls.append(f"transcription {text}")

    async def user_speech(self, text: str) -> None:
        self.calls.append(f"user_speech {text}")


async def test_activity_events_decide_which_frames_count():
    sv = Vision(analyser=FrameAnalyser(stages=["qr"])).open(ONLY_ACTIVITY)
    sv.on_event(frame(jpeg(qr_scene("before"))))
    assert not sv.has_video and await sv.for_turn("what do you see") is None
    sv.on_event(ev.ActivityStarted())
    sv.on_event(frame(jpeg(qr_scene("during"))))
    sv.on_event(ev.ActivityEnded())
    sv.on_event(frame(jpeg(qr_scene("after"))))
    assert (await sv.for_turn("read the code")).qr == ["during"]
    await sv.aclose()


async def test_the_vad_marks_activity_through_the_speech_hook():
    sv = Vision(analyser=FrameAnalyser(stages=["qr"])).open(ONLY_ACTIVITY)
    inner = Inputs()
    hook = SpeechHook(inner, sv)
    hook.speech_started(0.5)
    sv.on_event(frame(jpeg(qr_scene("spoken over"))))
    await hook.input_transcription("what", False)
    hook.speech_ended(1.5)
    sv.on_event(frame(jpeg(qr_scene("after speech"))))
    await hook.user_speech("what is this")
    assert inner.calls == ["speech_started 0.5", "transcription what", "speech_ended 1.5",
                           "user_speech what is this"]
    assert (await sv.described()).qr == ["spoken over"]
    await sv.aclose()


async def test_a_failing_vision_model_leaves_the_turn_without_description(caplog):
    async def broken(request: web.Request) -> web.Response:
        return web.Response(status=500, text="model crashed")

    app = web.Application()
    app.router.add_post("/v1/chat/completions", broken)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    vision = Vision(vlm=VisionModel(f"http://127.0.0.1:{port}/v1", api_key="sk-never-logged"))
    try:
        sv = vision.open(Setup.model_validate({"model": "models/openlive-local"}))
        sv.on_event(frame(jpeg(sign("EXIT"))))
        assert await sv.note_for_turn("what do you see?") is None
    finally:
        await vision.aclose()
        await runner.cleanup()
    assert "HTTP 500: model crashed" in caplog.text
    assert "sk-never-logged" not in caplog.text
