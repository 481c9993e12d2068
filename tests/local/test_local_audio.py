"""VAD, ASR and TTS on the real shipped models, with audio made at test time by Piper."""

from __future__ import annotations

import asyncio
import logging

import numpy as np
import pytest
import soxr

from openlive.engines.audio.tts import GEMINI_VOICES, ClauseSplitter, resolve_voice
from openlive.engines.audio.vad import SpeechEnded, SpeechStarted, VadConfig, VadSegmenter

LEAD_MS, TAIL_MS = 1000, 1500


def padded(utterance: np.ndarray) -> bytes:
    sil = lambda ms: np.zeros(ms * 16, np.int16)  # noqa: E731
    return np.concatenate([sil(LEAD_MS), utterance, sil(TAIL_MS)]).tobytes()


def speech_bounds_ms(utterance: np.ndarray) -> tuple[float, float]:
    loud = np.nonzero(np.abs(utterance.astype(np.int32)) > 500)[0]
    return LEAD_MS + loud[0] / 16, LEAD_MS + loud[-1] / 16


def feed_20ms(seg: VadSegmenter, pcm: bytes) -> list:
    events = []
    for i in range(0, len(pcm), 640):  # 20 ms of 16 kHz PCM16
        events += seg.feed(pcm[i:i + 640])
    return events


def test_vad_finds_exactly_one_utterance(utterance_16k):
    seg = VadSegmenter()
    events = feed_20ms(seg, padded(utterance_16k)) + seg.flush()
    assert [type(e) for e in events] == [SpeechStarted, SpeechEnded]
    start, end = events
    first, last = speech_bounds_ms(utterance_16k)
    assert abs(start.at_ms - first) <= 100, (start, first)
    assert abs(end.at_ms - last) <= 250, (end, last)
    assert end.detected_ms - end.at_ms == pytest.approx(320, abs=32)  # silenceDurationMs
    assert end.start_ms == start.at_ms
    # the utterance audio: pre-roll + speech + post-roll, all of the loud part included
    dur_ms = len(end.audio) / 32
    assert end.at_ms - start.at_ms + 300 <= dur_ms <= end.at_ms - start.at_ms + 300 + 160 + 1
    u = np.frombuffer(end.audio, np.int16)
    assert np.abs(u.astype(np.int32)).max() == np.abs(utterance_16k.astype(np.int32)).max()


def test_vad_odd_chunks_and_flush_mid_utterance(utterance_16k):
    pcm = padded(utterance_16k)[: (LEAD_MS + 800) * 32 + 7]  # cut inside the speech, odd size
    seg = VadSegmenter(VadConfig(silence_duration_ms=2000))
    events = []
    for i in range(0, len(pcm), 333):
        events += seg.feed(pcm[i:i + 333])
    assert [type(e) for e in events] == [SpeechStarted]
    tail = seg.flush()  # audioStreamEnd
    assert [type(e) for e in tail] == [SpeechEnded] and tail[0].audio
    assert seg.flush() == []
    # the stream clock keeps running and a second utterance is found after the flush
    again = feed_20ms(seg, padded(utterance_16k)) + seg.flush()
    assert [type(e) for e in again] == [SpeechStarted, SpeechEnded]
    assert again[0].at_ms > tail[0].at_ms


def test_vad_silence_only_and_buffer_stays_small():
    seg = VadSegmenter()
    assert feed_20ms(seg, bytes(16000 * 2 * 10)) == []
    assert len(seg._buf) <= (300 + 64) * 32 + 1024


def test_vad_segment_transcribes(asr, utterance_16k):
    seg = VadSegmenter()
    end = [e for e in feed_20ms(seg, padded(utterance_16k)) if isinstance(e, SpeechEnded)][0]
    text = asr.transcribe(end.audio).lower()
    assert "weather" in text and "paris" in text, text


def test_asr_transcribes_piper_speech(asr, utterance_16k):
    text = asr.transcribe(utterance_16k.tobytes()).lower()
    assert "weather" in text and "paris" in text, text
    assert asr.transcribe(b"") == ""


async def test_asr_async_runs_off_the_loop(asr, utterance_16k):
    ticks = 0

    async def ticker():
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    t = asyncio.create_task(ticker())
    text = await asr.atranscribe(utterance_16k)
    t.cancel()
    assert "paris" in text.lower()
    assert ticks >= 5  # the loop kept running while Whisper worked


def test_tts_is_24k_pcm16_one_chunk_per_sentence_and_round_trips(tts, asr):
    chunks = list(tts.synthesize("The weather in Paris is sunny. It is twenty degrees."))
    assert len(chunks) == 2 and all(len(c) % 2 == 0 and c for c in chunks)
    assert tts.output_rate == 24000 and tts.sample_rate == 22050
    pcm = np.frombuffer(b"".join(chunks), np.int16)
    assert 2.0 < len(pcm) / 24000 < 6.0
    text = asr.transcribe(soxr.resample(pcm, 24000, 16000)).lower()
    for word in ("weather", "paris", "sunny"):
        assert word in text, text
    assert "twenty" in text or "20" in text, text
    assert list(tts.synthesize("   ")) == []


def test_tts_stream_speaks_clauses_as_they_complete(tts):
    deltas = ["Sure", ", here", " it is", ": the", " forecast", " says rain. Bye"]
    spoken = list(tts.synthesize_stream(deltas, ClauseSplitter(soft_min_chars=8)))
    assert len(spoken) == 3  # "Sure, here it is:" / "the forecast says rain." / "Bye"


def test_clause_splitter_rules():
    s = ClauseSplitter(soft_min_chars=12, max_chars=40)
    assert s.feed("Hi, there. ") == ["Hi, there."]  # soft comma too early, hard stop wins
    assert s.feed("Pi is 3.14 and Dr. Smith agrees") == []
    assert s.feed("! Next") == ["Pi is 3.14 and Dr. Smith agrees!"]
    assert s.feed(", then; more words here, ") == ["Next, then; more words here,"]
    long = "word " * 12
    out = s.feed(long)
    assert out and all(len(c) <= 40 for c in out)
    assert s.flush() and s.flush() == []
    assert ClauseSplitter().feed('He said "stop." Then') == ['He said "stop."']


def test_every_voice_name_maps_to_the_installed_voice(caplog):
    assert len(GEMINI_VOICES) == 30 and "Puck" in GEMINI_VOICES
    with caplog.at_level(logging.INFO, logger="openlive.engines.audio.tts"):
        assert {resolve_voice(v) for v in (*GEMINI_VOICES, None, "")} == {"en_US-joe-medium"}
        assert resolve_voice("NoSuchVoice") == "en_US-joe-medium"
        resolve_voice("NoSuchVoice")
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "NoSuchVoice" in warnings[0].getMessage()


def test_vad_utterance_so_far_is_exactly_the_ended_utterance(utterance_16k):
    """The audio transcribed speculatively at the pause equals SpeechEnded.audio, so the
    speculative text is the utterance's text when the silence lasts."""
    seg = VadSegmenter()
    at_pause: list[tuple[float, bytes]] = []
    events = []
    for i in range(0, len(padded(utterance_16k)), 640):
        events += seg.feed(padded(utterance_16k)[i:i + 640])
        if seg.speaking and seg.decider.silence_ms >= 160:
            audio = seg.utterance_audio()
            if audio is not None:
                at_pause.append((seg.decider.speech_end_ms, audio))
    assert seg.utterance_audio() is None  # no utterance open
    (end,) = [e for e in events if isinstance(e, SpeechEnded)]
    last_end, last_audio = at_pause[-1]
    assert last_end == end.at_ms and last_audio == end.audio
