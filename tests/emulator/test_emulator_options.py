"""`openlive serve --engine emulator` honours the video options it shares with the local
engine (engines/options.py SHARED): `--vision off` used to be accepted and ignored."""

from __future__ import annotations

import re

from live_client import ServedProcess


def _video_words(tmp_path, *args: str) -> str:
    served = ServedProcess(tmp_path / "serve.log", "--engine", "emulator", "--no-voice",
                           "--no-console", *args)
    try:
        m = re.search(r"emulator engine \(.*; video: ([^)]*)\)", served.log)
        assert m, served.log
        return m.group(1)
    finally:
        served.stop()


def test_vision_off_is_honoured(tmp_path):
    assert _video_words(tmp_path, "--vision", "off") == "not looked at"


def test_the_detectors_look_by_default_when_installed(tmp_path):
    # the vision extra is part of the test install (Makefile install-dev)
    assert "OCR" in _video_words(tmp_path)
