"""session/media.py: realtime input media (the fast path, audio rules when the engine listens,
mediaChunks) and model output cut into messages under the SDK's 1 MiB frame limit."""

from __future__ import annotations

import pytest

from openlive.session import events as ev
from openlive.session.media import MAX_AUDIO_PART, MAX_TEXT_PART, check_audio
from openlive.session.models import ModelCatalog
from openlive.wire import errors
from openlive.wire.codec import encode_server_message
from openlive.wire.content import Blob
from openlive.wire.errors import LiveError
from openlive.wire.pcm import pcm_rate

from .harness import Driver, audio, live, video

LIMIT = 1 << 20  # the Python SDK's frame limit (spec/sdk-wire.md §2)


# ------------------------------------------------------------- input audio

@pytest.mark.parametrize(("mime", "rate"), [
    (None, 16000), ("audio/pcm", 16000), ("audio/pcm;rate=48000", 48000),
    ("audio/pcm; rate=8000", 8000), ("AUDIO/PCM;rate=24000", 24000)])
def test_pcm_rate(mime, rate):
    assert pcm_rate(mime) == rate
    assert check_audio(Blob(mime_type=mime, data=b"\x00\x00")) == rate


@pytest.mark.parametrize("mime", ["audio/wav", "audio/pcm;rate=0", "audio/pcm;rate=x",
                                  "audio/pcm;rate=1000000", "image/jpeg"])
def test_pcm_rate_refuses(mime):
    with pytest.raises(LiveError) as err:
        pcm_rate(mime)
    assert err.value.code == 1007
    with pytest.raises(LiveError) as err:
        check_audio(Blob(mime_type=mime, data=b"\x00\x00"))
    assert err.value.code == 1007


def test_audio_checked_only_when_the_engine_listens():
    d = live()
    d.feed(audio("audio/wav"))  # nobody listens: accepted as before
    (media,) = d.events()
    assert isinstance(media, ev.MediaReceived) and media.rate is None
    d.core.hears_audio = True
    d.feed(audio("audio/pcm;rate=24000", "AAAA/w=="))
    (media,) = d.events()
    assert media.rate == 24000 and len(media.blob.data) == 4
    err = d.refused(audio("audio/pcm;rate=16000", "AAAA"))  # 3 bytes
    assert err.code == 1007 and "odd" in err.reason


def test_an_audio_chunk_over_a_minute_is_refused():
    d = live()
    d.core.hears_audio = True
    with pytest.raises(LiveError) as err:
        check_audio(Blob(mime_type="audio/pcm;rate=8000", data=b"\x00" * (8000 * 2 * 61)))
    assert err.value.code == 1007 and "too large" in err.value.reason
    assert check_audio(Blob(mime_type="audio/pcm;rate=8000", data=b"\x00" * (8000 * 2 * 60)))


def test_media_chunks_uses_only_the_first_chunk():
    d = live()
    d.feed({"realtimeInput": {"mediaChunks": [
        {"mimeType": "image/jpeg", "data": "/9g="},
        {"mimeType": "audio/pcm", "data": "AAAA"}]}})
    (media,) = d.events()
    assert media.kind == "video" and media.blob.data == b"\xff\xd8"


# ---------------------------------------------------------------- fast path

def test_session_gives_same_errors_and_events_through_the_fast_path() -> None:
    d = Driver().live()
    d.feed(video())
    (event,) = d.events()
    assert isinstance(event, ev.MediaReceived) and event.kind == "video"
    assert d.core.deadlines.video_seen  # the video session limit applies
    err = d.refused('{"realtimeInput": {"audio": {"data": "!!!", "mimeType": "audio/pcm"}}}')
    assert err.code == 1007
    assert err.reason.startswith(
        errors.INVALID_JSON + "Invalid value at 'realtime_input.audio.data'")


def test_media_before_setup_is_still_refused() -> None:
    err = Driver().refused(audio("audio/pcm;rate=16000"))
    assert err.reason == errors.SETUP_ORDER


# ------------------------------------------------------- output under 1 MiB

def text_turn() -> tuple[Driver, int]:
    # TEXT replies: openlive's own emulator model (Google's Live models answer in AUDIO only)
    d = Driver(catalog=ModelCatalog(["openlive-emulator"])).live(
        "openlive-emulator", generationConfig={"responseModalities": ["TEXT"]})
    return d, d.start_turn("go")


def test_huge_emoji_reply_is_split_below_one_mebibyte() -> None:
    d, turn_id = text_turn()
    reply = "🎉" * 300_000  # 12 bytes per character once ASCII-escaped: 3.6 MB in one part
    assert d.core.model_text(turn_id, reply)
    sent = d.core.messages_to_send()
    frames = [encode_server_message(m) for m in sent]
    assert len(frames) > 1
    assert max(len(f) for f in frames) < LIMIT
    texts = "".join(m.server_content.model_turn.parts[0].text for m in sent)
    assert texts == reply


def test_huge_ascii_reply_is_split_and_kept_whole() -> None:
    d, turn_id = text_turn()
    reply = "x" * (3 * LIMIT)
    assert d.core.model_text(turn_id, reply)
    sent = d.core.messages_to_send()
    frames = [encode_server_message(m) for m in sent]
    assert max(len(f) for f in frames) < LIMIT
    assert sum(len(m.server_content.model_turn.parts[0].text) for m in sent) == len(reply)
    assert max(len(m.server_content.model_turn.parts[0].text) for m in sent) == MAX_TEXT_PART


def test_speech_interrupts_and_becomes_a_turn():
    d = live(outputAudioTranscription={})
    core = d.core
    core.user_speech("hello there")
    (ready,) = d.events()
    assert isinstance(ready, ev.TurnReady) and ready.text() == "hello there"
    pcm = b"\x01\x00" * MAX_AUDIO_PART  # two parts' worth
    assert core.model_audio(ready.turn_id, pcm, 24000, "Hi")
    out = d.drain()
    parts = [m["serverContent"]["modelTurn"]["parts"][0]["inlineData"] for m in out[:-1]]
    assert len(parts) == 2 and parts[0]["mimeType"] == "audio/pcm;rate=24000"
    assert out[-1] == {"serverContent": {"outputTranscription": {"text": "Hi"}}}
    core.speech_started()
    d.assert_sent({"voiceActivity": {"type": "ACTIVITY_START"}},
                  {"serverContent": {"interrupted": True}},
                  {"serverContent": {"turnComplete": True}})
    assert core.history[-1].role == "model" and core.history[-1].text() == "Hi"


def test_audio_transcript_is_sent_only_when_the_setup_asks():
    d = live()
    tid = d.start_turn()
    assert d.core.model_audio(tid, b"\x00\x00" * 10, transcript="quiet")
    (only,) = d.drain()
    assert "inlineData" in only["serverContent"]["modelTurn"]["parts"][0]
    d.core.complete_turn(tid)
    assert d.core.history[-1].text() == "quiet"  # the history keeps it all the same
