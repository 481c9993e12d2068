"""The frame analyser on real models: signs rendered at test time, QR codes, plain scenes and
real photos that scikit-image ships."""

import time

import pytest
from images import jpeg, photo, plain, qr_scene, sign
from PIL import Image

from openlive.engines.vision.analyser import FrameAnalyser, FrameError, analysis_size

SIGNS = ["EXIT", "NO PARKING", "OPEN 24 HOURS", "PLATFORM 9", "FRESH COFFEE", "WELCOME HOME"]


@pytest.mark.parametrize("words", SIGNS)
def test_sign_text_is_read(analyser, words):
    desc = analyser.analyse(jpeg(sign(words)), received_at=time.monotonic())
    assert words.replace(" ", "") in desc.ocr.upper().replace(" ", "")


def test_two_line_sign_is_read_top_to_bottom(analyser):
    desc = analyser.analyse(jpeg(sign("PLATFORM 4\nTRAINS TO OXFORD", text_size=40)),
                            received_at=0.0)
    joined = " ".join(desc.text).upper()
    assert joined.index("PLATFORM") < joined.index("OXFORD")


def test_blank_wall_has_no_text(analyser):
    desc = analyser.analyse(jpeg(plain((30, 60, 200))), received_at=0.0)
    assert desc.text == [] and desc.qr == []
    assert desc.colours == ["blue"]
    assert desc.faces == [] and desc.people == []


@pytest.mark.parametrize("payload", ["https://example.org/ticket/42", "ORDER-7781",
                                     "WIFI:S:home;T:WPA;P:secret;;"])
def test_qr_code_contents(analyser, payload):
    desc = analyser.analyse(jpeg(qr_scene(payload)), received_at=0.0)
    assert desc.qr == [payload]
    assert f"QR code: {payload}" in desc.summary()


def test_colours_of_a_scene(analyser):
    desc = analyser.analyse(jpeg(sign("STOP", board=(210, 20, 20),
                                      background=(240, 200, 20), text_size=150)), received_at=0.0)
    assert desc.colours[:2] == ["yellow", "red"]


def test_a_face_and_a_person_in_a_real_photo(analyser):
    desc = analyser.analyse(jpeg(photo("astronaut.png")), received_at=0.0)
    assert len(desc.faces) == 1
    assert len(desc.people) == 1
    assert "face" in desc.object_words


@pytest.mark.parametrize("name", ["chelsea.png", "rocket.jpg", "coffee.png"])
def test_no_face_where_there_is_none(analyser, name):
    desc = analyser.analyse(jpeg(photo(name)), received_at=0.0)
    assert desc.faces == []


def test_media_resolution_picks_the_analysis_size(analyser):
    frame = jpeg(sign("EXIT", size=(1280, 960), text_size=160))
    low = analyser.analyse(frame, received_at=0.0, size=analysis_size("MEDIA_RESOLUTION_LOW"))
    high = analyser.analyse(frame, received_at=0.0,
                            size=analysis_size("MEDIA_RESOLUTION_HIGH"))
    assert max(low.analysed_size) == 320 and max(high.analysed_size) == 1024
    assert (low.width, low.height) == (1280, 960)
    assert "EXIT" in low.ocr.upper() and "EXIT" in high.ocr.upper()


def test_each_stage_is_timed(analyser):
    desc = analyser.analyse(jpeg(sign("EXIT")), received_at=0.0)
    assert set(desc.timings) == {"decode", "ocr", "qr", "colours", "people", "objects"}


def test_stages_can_be_chosen():
    only = FrameAnalyser(stages=["qr", "colours"])
    desc = only.analyse(jpeg(qr_scene("hello")), received_at=0.0)
    assert desc.qr == ["hello"] and desc.text == []
    assert set(desc.timings) == {"decode", "qr", "colours"}
    with pytest.raises(ValueError, match="unknown vision stage"):
        FrameAnalyser(stages=["telepathy"])


@pytest.mark.parametrize("data", [b"", b"not a jpeg", b"\xff\xd8\xff\xe0" + b"\0" * 20])
def test_undecodable_frame(analyser, data):
    with pytest.raises(FrameError, match="not a decodable image"):
        analyser.analyse(data, received_at=0.0)


def test_a_huge_frame_is_refused_before_decoding(analyser):
    big = Image.new("RGB", (5000, 4000), (200, 200, 200))
    with pytest.raises(FrameError, match="larger than the 16 megapixels"):
        analyser.analyse(jpeg(big, quality=30), received_at=0.0)
