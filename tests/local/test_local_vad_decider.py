"""ActivityDecider: pure decision logic over synthetic probability sequences (no model)."""

from __future__ import annotations

import pytest

from openlive.engines.audio.vad import ActivityDecider, SpeechEnded, SpeechStarted, VadConfig

W = 32.0  # ms per window


def run(probs, **cfg):
    d = ActivityDecider(VadConfig(**cfg))
    events = []
    for p in probs:
        events += d.step(p)
    return d, events


def test_defaults_are_gemini_high_sensitivity():
    c = VadConfig()
    assert c.start_sensitivity == "START_SENSITIVITY_HIGH"
    assert c.end_sensitivity == "END_SENSITIVITY_HIGH"
    assert (c.prefix_padding_ms, c.silence_duration_ms) == (64, 320)


def test_one_utterance_times():
    probs = [0.0] * 10 + [0.9] * 20 + [0.0] * 30
    _, ev = run(probs, prefix_padding_ms=64, silence_duration_ms=320)
    assert ev == [SpeechStarted(at_ms=10 * W, detected_ms=12 * W),
                  SpeechEnded(at_ms=30 * W, detected_ms=40 * W, start_ms=10 * W)]


def test_prefix_padding_rejects_short_blips():
    blip = [0.0] * 5 + [0.9] * 3 + [0.0] * 5
    assert run(blip, prefix_padding_ms=200)[1] == []  # 96 ms < 200 ms
    _, ev = run(blip, prefix_padding_ms=96)
    assert [type(e) for e in ev] == [SpeechStarted]
    assert ev[0].at_ms == 5 * W and ev[0].detected_ms == 8 * W


def test_prefix_padding_zero_starts_on_first_window():
    _, ev = run([0.0, 0.9], prefix_padding_ms=0)
    assert ev == [SpeechStarted(at_ms=W, detected_ms=2 * W)]


def test_silence_duration_bridges_pauses():
    speech = [0.9] * 10 + [0.0] * 8 + [0.9] * 10 + [0.0] * 40  # 256 ms pause
    _, long_wait = run(speech, silence_duration_ms=500)
    assert [type(e) for e in long_wait] == [SpeechStarted, SpeechEnded]
    assert long_wait[1].at_ms == 28 * W
    _, short_wait = run(speech, silence_duration_ms=200)
    assert [type(e) for e in short_wait] == [SpeechStarted, SpeechEnded] * 2
    assert short_wait[1].at_ms == 10 * W and short_wait[1].detected_ms == 17 * W


@pytest.mark.parametrize("start,expect", [("START_SENSITIVITY_HIGH", 1),
                                          ("START_SENSITIVITY_LOW", 0)])
def test_start_sensitivity(start, expect):
    probs = [0.0] * 3 + [0.65] * 10 + [0.0] * 30  # moderate speech probability
    _, ev = run(probs, start_sensitivity=start)
    assert sum(isinstance(e, SpeechStarted) for e in ev) == expect


def test_start_sensitivity_low_still_takes_clear_speech():
    _, ev = run([0.95] * 5, start_sensitivity="START_SENSITIVITY_LOW")
    assert isinstance(ev[0], SpeechStarted)


@pytest.mark.parametrize("end,ended", [("END_SENSITIVITY_HIGH", True),
                                       ("END_SENSITIVITY_LOW", False)])
def test_end_sensitivity(end, ended):
    probs = [0.9] * 10 + [0.25] * 30  # trailing murmur at 0.25
    _, ev = run(probs, end_sensitivity=end, silence_duration_ms=320)
    assert any(isinstance(e, SpeechEnded) for e in ev) is ended


def test_hysteresis_between_thresholds_neither_counts_nor_resets_pending_start():
    # HIGH: start >= 0.5, silence < 0.35. 0.4 is in between.
    probs = [0.9, 0.4, 0.4, 0.9]
    _, ev = run(probs, prefix_padding_ms=64)
    assert ev == [SpeechStarted(at_ms=0.0, detected_ms=4 * W)]
    _, ev = run([0.9, 0.1, 0.9, 0.9], prefix_padding_ms=64)  # a real gap resets the run
    assert ev == [SpeechStarted(at_ms=2 * W, detected_ms=4 * W)]


def test_flush_closes_ongoing_and_drops_pending():
    d, ev = run([0.9] * 5)
    out = d.flush()
    assert out == [SpeechEnded(at_ms=5 * W, detected_ms=5 * W, start_ms=0.0)]
    d, _ = run([0.9], prefix_padding_ms=200)
    assert d.flush() == []
    assert d.step(0.9) == []  # pending run was dropped: counting restarts


def test_from_live_parses_both_key_styles_and_unspecified():
    c = VadConfig.from_live({"startOfSpeechSensitivity": "START_SENSITIVITY_LOW",
                             "end_of_speech_sensitivity": "END_SENSITIVITY_UNSPECIFIED",
                             "prefixPaddingMs": 20, "silence_duration_ms": "100"})
    assert c.start_sensitivity == "START_SENSITIVITY_LOW"
    assert c.end_sensitivity == "END_SENSITIVITY_HIGH"
    assert (c.prefix_padding_ms, c.silence_duration_ms) == (20, 100)
    assert VadConfig.from_live(None) == VadConfig()
    with pytest.raises(ValueError, match="start_sensitivity"):
        VadConfig(start_sensitivity="LOUD")
