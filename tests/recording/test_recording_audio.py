"""The recorder hears client audio as the session core does (one PCM parser,
:mod:`openlive.wire.pcm`): no mime type is 16 kHz PCM, only the first ``mediaChunks``
entry counts; and frames of one event-loop pass share one time."""

from __future__ import annotations

import asyncio
import base64
import json
import wave

import numpy as np
import pytest

from live_client import MODEL
from openlive.engines.replay.script import audio_seconds, load_recording
from openlive.recording import Recorder, read_recording
from openlive.recording.recorder import client_audio, server_audio
from openlive.wire.errors import LiveError
from openlive.wire.pcm import PCM_RATES, pcm_rate, pcm_rate_or_none

SETUP = {"setup": {"model": MODEL}}


def pcm(seconds: float, rate: int, hz: float = 440) -> bytes:
    t = np.arange(int(seconds * rate)) / rate
    return (np.sin(2 * np.pi * hz * t) * 8000).astype("<i2").tobytes()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def client_wav(tmp_path) -> tuple[int, bytes]:
    [path] = tmp_path.glob("*.client.wav")
    with wave.open(str(path)) as w:
        return w.getframerate(), w.readframes(w.getnframes())


def test_the_pcm_parser():
    assert PCM_RATES == (8_000, 192_000)
    assert pcm_rate(None) == pcm_rate("") == pcm_rate("audio/pcm") == 16_000
    assert pcm_rate("audio/pcm;rate=24000") == pcm_rate("Audio/L16; rate = 24000 ") == 24_000
    assert pcm_rate("audio/pcm", default=24_000) == 24_000
    for bad in ("audio/webm", "audio/pcm;rate=fast", "audio/pcm;rate=4000"):
        with pytest.raises(LiveError) as caught:
            pcm_rate(bad)
        assert caught.value.code == 1007
        assert pcm_rate_or_none(bad) is None
    assert pcm_rate_or_none(None) == 16_000


def test_audio_without_a_mime_type_is_recorded_as_16_khz(tmp_path):
    speech = pcm(0.1, 16_000)
    message = {"realtimeInput": {"audio": {"data": b64(speech)}}}
    assert client_audio(message) == [(speech, 16_000)]
    assert audio_seconds(message) == pytest.approx(0.1)  # the replay's audio position
    recorder = Recorder(tmp_path, wav=True)
    recorder("[session 1]", "open", {"api_version": "v1beta", "auth": "none"})
    recorder("[session 1]", "client", json.dumps(SETUP))
    recorder("[session 1]", "client", json.dumps(message))
    recorder("[session 1]", "close", {"code": 1000})
    assert client_wav(tmp_path) == (16_000, speech)


def test_only_the_first_media_chunk_is_recorded(tmp_path):
    first, second = pcm(0.1, 8_000, 440), pcm(0.1, 8_000, 880)
    message = {"realtime_input": {"media_chunks": [
        {"mime_type": "audio/pcm;rate=8000", "data": b64(first)},
        {"mime_type": "audio/pcm;rate=8000", "data": b64(second)}]}}
    assert client_audio(message) == [(first, 8_000)]
    assert audio_seconds(message) == pytest.approx(0.1)
    recorder = Recorder(tmp_path, wav=True)
    recorder("[session 2]", "open", {"api_version": "v1beta", "auth": "none"})
    recorder("[session 2]", "client", json.dumps(SETUP))
    recorder("[session 2]", "client", json.dumps(message))
    recorder("[session 2]", "close", {"code": 1000})
    assert client_wav(tmp_path) == (8_000, first)


def test_what_the_core_would_not_hear_as_audio_is_not_audio():
    image = {"realtimeInput": {"mediaChunks": [{"mimeType": "image/jpeg", "data": "AAAA"}]}}
    assert client_audio(image) == [] and audio_seconds(image) == 0.0
    webm = {"realtimeInput": {"audio": {"mimeType": "audio/webm", "data": "AAAA"}}}
    assert client_audio(webm) == []
    speech = pcm(0.05, 24_000)
    assert server_audio({"serverContent": {"modelTurn": {"parts": [{"inlineData": {
        "mimeType": "audio/pcm", "data": b64(speech)}}]}}}) == [(speech, 24_000)]


def test_a_replay_script_counts_audio_without_a_mime_type(tmp_path):
    """The recorded turn boundary is a position in the client's audio: audio without a
    mime type moves it, as the session core hears that audio."""
    path = tmp_path / "r.jsonl"
    chunk = {"realtimeInput": {"audio": {"data": b64(pcm(0.25, 16_000))}}}
    records = [{"t": 0.0, "direction": "open"}, {"t": 0.01, "direction": "client",
                                                  "message": SETUP},
               {"t": 0.02, "direction": "server", "message": {"setupComplete": {}}},
               {"t": 0.3, "direction": "client", "message": chunk},
               {"t": 0.6, "direction": "client", "message": chunk},
               {"t": 0.7, "direction": "server", "message": {"serverContent": {
                   "turnComplete": True}}}]
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    steps = load_recording(path).steps
    assert [(s.trigger, s.audio_at) for s in steps] == [(0, 0.0), (None, 0.5)]


async def test_frames_of_one_event_loop_pass_share_one_time(tmp_path):
    """A server's burst (turnComplete and the resumption update after it, written in one
    go) is recorded at one time, however long writing the lines takes."""
    recorder = Recorder(tmp_path, wav=True)
    recorder("[session 3]", "open", {"api_version": "v1beta", "auth": "none"})
    recorder("[session 3]", "client", json.dumps(SETUP))
    await asyncio.sleep(0.01)
    for message in ({"serverContent": {"turnComplete": True}},
                    {"sessionResumptionUpdate": {"newHandle": "h", "resumable": True}}):
        recorder("[session 3]", "server", json.dumps(message).encode())
    await asyncio.sleep(0.01)
    recorder("[session 3]", "server", json.dumps({"setupComplete": {}}).encode())
    recorder("[session 3]", "close", {"code": 1000})
    [path] = tmp_path.glob("*.jsonl")
    t = [r["t"] for r in read_recording(path)]
    assert t[2] == t[3] and t[1] < t[2] < t[4] <= t[5], t
