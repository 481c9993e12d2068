"""The session core's audio rules (pure: no models, no sockets)."""

from __future__ import annotations

import json

import pytest

from openlive.session import events as ev
from openlive.session.state import MAX_AUDIO_PART, LiveSession, pcm_rate
from openlive.wire.errors import LiveError

MODEL = "models/gemini-2.5-flash-native-audio-preview-12-2025"


def live(**setup) -> LiveSession:
    s = LiveSession()
    s.receive_frame(json.dumps({"setup": {"model": MODEL, **setup}}))
    s.outbox.clear()
    s.events.clear()
    return s


def audio(mime: str, data: str = "AAAA") -> str:
    return json.dumps({"realtimeInput": {"audio": {"mimeType": mime, "data": data}}})


@pytest.mark.parametrize(("mime", "rate"), [
    (None, 16000), ("audio/pcm", 16000), ("audio/pcm;rate=48000", 48000),
    ("audio/pcm; rate=8000", 8000), ("AUDIO/PCM;rate=24000", 24000)])
def test_pcm_rate(mime, rate):
    assert pcm_rate(mime) == rate


@pytest.mark.parametrize("mime", ["audio/wav", "audio/pcm;rate=0", "audio/pcm;rate=x",
                                  "audio/pcm;rate=1000000", "image/jpeg"])
def test_pcm_rate_refuses(mime):
    with pytest.raises(LiveError) as err:
        pcm_rate(mime)
    assert err.value.code == 1007


def test_audio_checked_only_when_the_engine_listens():
    s = live()
    s.receive_frame(audio("audio/wav"))  # nobody listens: accepted as before
    assert isinstance(s.events.popleft(), ev.MediaReceived)
    s.audio_input = True
    s.receive_frame(audio("audio/pcm;rate=24000", "AAAA/w=="))
    media = s.events.popleft()
    assert media.rate == 24000 and len(media.blob.data) == 4
    with pytest.raises(LiveError) as err:
        s.receive_frame(audio("audio/pcm;rate=16000", "AAAA"))  # 3 bytes
    assert err.value.code == 1007 and "odd" in err.value.reason


def test_speech_interrupts_and_becomes_a_turn():
    s = live(outputAudioTranscription={})
    s.user_speech("hello there")
    (ready,) = s.events
    assert isinstance(ready, ev.TurnReady) and ready.text() == "hello there"
    s.events.clear()
    pcm = b"\x01\x00" * MAX_AUDIO_PART  # two parts' worth
    assert s.model_audio(ready.turn_id, pcm, 24000, "Hi")
    out = [m.to_json_dict() for m in s.outbox]
    s.outbox.clear()
    parts = [m["serverContent"]["modelTurn"]["parts"][0]["inlineData"] for m in out[:-1]]
    assert len(parts) == 2 and parts[0]["mimeType"] == "audio/pcm;rate=24000"
    assert out[-1] == {"serverContent": {"outputTranscription": {"text": "Hi"}}}
    s.speech_started()
    assert [m.to_json_dict() for m in s.outbox] == [
        {"serverContent": {"interrupted": True}}, {"serverContent": {"turnComplete": True}}]
    assert s.history[-1].role == "model" and s.history[-1].text() == "Hi"


def test_no_interruption_keeps_the_turn():
    s = live(realtimeInputConfig={"activityHandling": "NO_INTERRUPTION"})
    s.user_speech("first")
    s.speech_started()
    assert s.turn is not None and not s.outbox
    s.user_speech("   ")  # nothing recognized: no turn
    assert s.turn.turn_id == 1
