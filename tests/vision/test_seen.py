"""The emulator's view of a frame: `seen` regexes and the {seen} {ocr} {objects} {qr} values,
on descriptions made by the real analyser from frames rendered at test time."""

import pytest
from images import jpeg, qr_scene, sign

from openlive.engines.vision.seen import compile_seen, seen_match, seen_values


@pytest.fixture(scope="module")
def exit_sign(analyser):
    return analyser.analyse(jpeg(sign("EXIT", board=(30, 140, 40))), received_at=0.0)


def test_seen_is_searched_case_insensitively_in_the_description(exit_sign):
    assert seen_match(compile_seen("exit"), exit_sign)
    assert seen_match(compile_seen(r"text: .*\bEXIT\b"), exit_sign)
    assert not seen_match(compile_seen("entrance"), exit_sign)
    assert not seen_match(compile_seen("exit"), None)  # no video: no rule with seen matches


def test_template_values(analyser, exit_sign):
    values = seen_values(exit_sign)
    assert values["ocr"].upper() == "EXIT" and values["qr"] == ""
    assert values["seen"] == exit_sign.summary() and "EXIT" in values["seen"].upper()
    code = analyser.analyse(jpeg(qr_scene("ORDER-7781")), received_at=0.0)
    m = seen_match(compile_seen(r"QR code: ORDER-(?P<order>\d+)"), code)
    assert seen_values(code, m)["order"] == "7781" and seen_values(code)["qr"] == "ORDER-7781"
    assert seen_values(None) == {"seen": "", "ocr": "", "objects": "", "qr": ""}
