"""openlive as a model server: `openlive serve --engine local` answers OpenAI's
transcription, speech and chat-completion routes from its loaded models, behind its API
keys, driven by the official `openai` Python client."""

from __future__ import annotations

import io
import json
import urllib.request
import wave

import openai
import pytest

from conftest import BACK_KEY

PHRASE = "Hello there. The weather in Paris is sunny today."


def client(back, key: str = BACK_KEY) -> openai.OpenAI:
    return openai.OpenAI(base_url=back.http_url + "/v1", api_key=key, timeout=120,
                         max_retries=0)


def as_wav(pcm: bytes, rate: int) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm)
    return out.getvalue()


@pytest.fixture(scope="module")
def spoken(back) -> bytes:
    """PHRASE as 24 kHz PCM16 from the back end's speech route, streamed."""
    with client(back).audio.speech.with_streaming_response.create(
            model="tts-1", voice="alloy", input=PHRASE, response_format="pcm") as reply:
        assert reply.headers["content-type"] == "audio/pcm"
        return b"".join(reply.iter_bytes())


def test_speech_streams_24khz_pcm(spoken):
    assert len(spoken) % 2 == 0
    assert 1.0 < len(spoken) / 48_000 < 10.0  # seconds of 24 kHz PCM16


def test_speech_as_wav(back):
    wav = client(back).audio.speech.create(model="tts-1", voice="alloy", input="Hi.",
                                           response_format="wav").read()
    with wave.open(io.BytesIO(wav)) as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (24_000, 1, 2)


def test_transcription_of_the_speech(back, spoken):
    text = client(back).audio.transcriptions.create(
        model="whisper-1", file=("hello.wav", as_wav(spoken, 24_000), "audio/wav")).text
    # (Piper samples noise: "Paris" is sometimes heard as "pairs"; these words are stable)
    assert "weather" in text.lower() and "sunny" in text.lower(), text
    plain = client(back).audio.transcriptions.create(
        model="whisper-1", response_format="text",
        file=("hello.wav", as_wav(spoken, 24_000), "audio/wav"))
    assert "sunny" in str(plain).lower()


def test_chat_completions_plain_and_streamed(back):
    messages = [{"role": "user", "content": "Say hello in one short sentence."}]
    done = client(back).chat.completions.create(model="openlive-local", messages=messages,
                                                max_tokens=24, temperature=0)
    assert done.choices[0].message.content.strip()
    assert done.choices[0].finish_reason == "stop"
    assert done.usage.completion_tokens >= 1
    stream = client(back).chat.completions.create(
        model="openlive-local", messages=messages, max_tokens=24, temperature=0, stream=True,
        stream_options={"include_usage": True})
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text.strip()
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens >= 1


def test_model_list_for_openai_clients_and_google_clients(back):
    assert [m.id for m in client(back).models.list()] == ["openlive-local"]
    req = urllib.request.Request(back.http_url + "/v1beta/models",
                                 headers={"x-goog-api-key": BACK_KEY})
    with urllib.request.urlopen(req, timeout=30) as r:
        assert "models" in json.loads(r.read())
    req = urllib.request.Request(back.http_url + "/v1/models",
                                 headers={"x-goog-api-key": BACK_KEY})
    with urllib.request.urlopen(req, timeout=30) as r:
        assert "models" in json.loads(r.read())  # Google's ListModels shape


def test_routes_need_the_servers_key(back):
    with pytest.raises(openai.AuthenticationError):
        client(back, key="wrong").chat.completions.create(
            model="openlive-local", messages=[{"role": "user", "content": "hi"}])
    with pytest.raises(openai.AuthenticationError):
        client(back, key="wrong").audio.speech.create(model="tts-1", voice="alloy",
                                                      input="hi", response_format="pcm")
    with pytest.raises(openai.AuthenticationError):
        client(back, key="wrong").models.list()


def test_bad_requests_get_openai_errors(back):
    with pytest.raises(openai.BadRequestError, match="not served"):
        client(back).audio.speech.create(model="tts-1", voice="alloy", input="hi",
                                         response_format="mp3")
    with pytest.raises(openai.BadRequestError, match="WAV"):
        client(back).audio.transcriptions.create(
            model="whisper-1", file=("x.mp3", b"ID3 not a wav", "audio/mpeg"))
