"""When to look: the latest frame of a turn, analysed on demand or in the background when it
changed and the CPU is free; turnCoverage decides which frames count; mediaResolution the
analysis size. Real analyser (OCR + QR + colours), frames made at test time."""

import pytest
from images import jpeg, plain, sign

from openlive.engines.vision.analyser import FrameAnalyser
from openlive.engines.vision.watcher import FrameWatcher, video_counts_outside_activity
from openlive.wire.setup import Setup


@pytest.fixture(scope="module")
def light() -> FrameAnalyser:
    a = FrameAnalyser(stages=["ocr", "qr", "colours"])
    a.load()
    return a


def setup(**fields) -> Setup:
    return Setup.model_validate({"model": "models/gemini-3.8-live", **fields})


def coverage(value: str) -> dict:
    return {"realtimeInputConfig": {"turnCoverage": value}}


def test_turn_coverage_decides_which_frames_count():
    # gemini-3.8-live's default (session/models.py, doc:3.8-live): audio activity + all video
    assert video_counts_outside_activity(setup())
    assert not video_counts_outside_activity(setup(**coverage("TURN_INCLUDES_ONLY_ACTIVITY")))
    assert video_counts_outside_activity(setup(**coverage("TURN_INCLUDES_ALL_INPUT")))
    # a 2.x model: the profile's default, only activity
    assert not video_counts_outside_activity(
        Setup.model_validate({"model": "models/gemini-2.5-flash-native-audio-latest"}))
    # openlive's own models are not in the table: all video, as the default Live model
    assert video_counts_outside_activity(Setup.model_validate({"model": "models/openlive-local"}))


def test_media_resolution_sizes_the_watcher(light):
    low = setup(generationConfig={"mediaResolution": "MEDIA_RESOLUTION_LOW"})
    assert FrameWatcher.for_session(light, low).size == 320
    assert FrameWatcher.for_session(light, setup()).size == 640


async def test_on_demand_analysis_of_the_latest_frame(light):
    w = FrameWatcher(light, background=False)
    assert await w.describe_for_turn() is None  # no camera: nothing to describe
    w.on_frame(jpeg(sign("EXIT")), now=1.0)
    w.on_frame(jpeg(sign("NO ENTRY")), now=2.0)
    desc = await w.describe_for_turn()
    assert "NO ENTRY" in desc.ocr.upper() and desc.received_at == 2.0
    assert await w.describe_for_turn() is desc and w.analysed == 1


async def test_an_unchanged_frame_is_not_analysed_again(light):
    w = FrameWatcher(light, background=False)
    w.on_frame(jpeg(sign("EXIT"), quality=90), now=1.0)
    first = await w.describe_for_turn()
    w.on_frame(jpeg(sign("EXIT"), quality=70), now=5.0)  # the same view, re-encoded
    again = await w.describe_for_turn()
    assert w.analysed == 1
    assert again.text == first.text and again.received_at == 5.0
    w.on_frame(jpeg(plain((240, 200, 20))), now=6.0)  # the camera turned to a yellow wall
    changed = await w.describe_for_turn()
    assert w.analysed == 2 and changed.text == [] and changed.colours == ["yellow"]


async def test_only_activity_frames_count_when_the_coverage_says_so(light):
    w = FrameWatcher(light, all_video=False, background=False)
    w.on_frame(jpeg(sign("EXIT")), now=1.0)
    assert w.latest_frame is None
    w.activity(True)
    w.on_frame(jpeg(sign("OPEN")), now=2.0)
    w.activity(False)
    w.on_frame(jpeg(sign("CLOSED")), now=3.0)
    assert "OPEN" in (await w.describe_for_turn()).ocr.upper()


async def test_background_analysis_when_the_cpu_is_free(light):
    w = FrameWatcher(light)
    w.on_frame(jpeg(sign("EXIT")), now=1.0)
    await w._task
    assert w.latest() is not None and "EXIT" in w.latest().ocr.upper()
    assert await w.describe_for_turn() is w.latest() and w.analysed == 1


async def test_no_background_analysis_while_the_cpu_is_busy(light):
    w = FrameWatcher(light, cpu_free=lambda: False)
    w.on_frame(jpeg(sign("EXIT")), now=1.0)
    await w._task
    assert w.latest() is None and w.analysed == 0
    assert "EXIT" in (await w.describe_for_turn()).ocr.upper()  # the turn still looks


async def test_a_broken_frame_keeps_the_last_description(light):
    w = FrameWatcher(light, background=False)
    w.on_frame(jpeg(sign("EXIT")), now=1.0)
    good = await w.describe_for_turn()
    w.on_frame(b"\xff\xd8 broken", now=2.0)
    assert await w.describe_for_turn() is good
    await w.aclose()
