"""Speech recognition and synthesis on OpenAI-compatible HTTP back ends (``--asr-url``,
``--tts-url``): speaches, faster-whisper-server, vLLM's Whisper, Kokoro-FastAPI, LocalAI,
or another ``openlive serve --engine local`` (docs/deploy.md).

They stand in for :class:`~openlive.engines.audio.asr.Transcriber` and
:class:`~openlive.engines.audio.tts.Synthesizer` (the same synchronous methods, called from
worker threads), so the listener and the speaking turn use either unchanged; voice
activity detection stays on the node.

* :class:`RemoteTranscriber`: ``POST {url}/audio/transcriptions`` with the utterance as a
  16 kHz mono WAV file (multipart ``file``), ``response_format: json``; the reply's
  ``text`` (OpenAI's API reference, "Create transcription").
* :class:`RemoteSynthesizer`: ``POST {url}/audio/speech`` with ``response_format: pcm``,
  read as it streams: raw 24 kHz 16-bit little-endian mono samples (OpenAI's API
  reference, "Create speech": *pcm: raw samples in 24kHz (16-bit signed, low-endian),
  without the header*). One request per clause, so the first clause plays while the rest
  of the reply is still being written and synthesized.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from .remote_backend import (
    DEFAULT_RETRIES,
    DEFAULT_TIMEOUT,
    failed,
    openai_client,
    served_models,
    wav_bytes,
)

log = logging.getLogger("openlive.voice")

PCM_RATE = 24_000  # OpenAI's response_format "pcm"
DEFAULT_VOICE = "alloy"  # OpenAI's first voice; openlive's own speech route takes any name
CHUNK_BYTES = 4800  # 100 ms of 24 kHz PCM16 per read


class RemoteTranscriber:
    """``transcribe(pcm16_16k) -> text`` on an OpenAI-compatible transcription endpoint."""

    def __init__(self, url: str, *, model: str | None = None, api_key: str | None = None,
                 timeout: float = DEFAULT_TIMEOUT, retries: int = DEFAULT_RETRIES,
                 language: str | None = None) -> None:
        self.url = url.rstrip("/")
        self.model = model
        self.language = language
        self._client = openai_client(self.url, api_key, timeout=timeout, retries=retries)

    def check(self) -> list[str]:
        """The models the back end serves (it answers now), and the model to ask for."""
        served = served_models(self._client, "asr", "speech recognition", self.url)
        if self.model is None:
            self.model = served[0] if served else "whisper-1"
        return served

    def describe(self) -> str:
        return f"{self.url} ({self.model})"

    def transcribe(self, pcm: bytes, **_: Any) -> str:
        extra = {"language": self.language} if self.language else {}
        try:
            reply = self._client.audio.transcriptions.create(
                model=self.model or "whisper-1", response_format="json",
                file=("utterance.wav", wav_bytes(bytes(pcm)), "audio/wav"), **extra)
        except Exception as exc:
            raise failed("asr", "speech recognition", self.url, exc) from None
        text = reply if isinstance(reply, str) else getattr(reply, "text", "")
        return str(text or "").strip()

    def warm_up(self) -> None:
        """Nothing to warm here (the back end warms its own model)."""


class RemoteSynthesizer:
    """``synthesize(text)`` yields 24 kHz PCM16 as an OpenAI-compatible speech endpoint
    streams it."""

    output_rate = PCM_RATE

    def __init__(self, url: str, *, model: str | None = None, voice: str | None = None,
                 api_key: str | None = None, timeout: float = DEFAULT_TIMEOUT,
                 retries: int = DEFAULT_RETRIES) -> None:
        self.url = url.rstrip("/")
        self.model = model
        self.voice = voice or DEFAULT_VOICE
        self._client = openai_client(self.url, api_key, timeout=timeout, retries=retries)

    def check(self) -> list[str]:
        served = served_models(self._client, "tts", "speech synthesis", self.url)
        if self.model is None:
            self.model = served[0] if served else "tts-1"
        return served

    def describe(self) -> str:
        return f"{self.url} ({self.model}, voice {self.voice})"

    def synthesize(self, text: str, *, due: float | None = None) -> Iterator[bytes]:
        """``due`` (when the audio is needed) is not used: the server orders its work."""
        carry = b""  # a sample split between two reads waits for its second byte
        try:
            with self._client.audio.speech.with_streaming_response.create(
                    model=self.model or "tts-1", voice=self.voice, input=text,
                    response_format="pcm") as reply:
                for chunk in reply.iter_bytes(CHUNK_BYTES):
                    data = carry + chunk
                    cut = len(data) - len(data) % 2
                    carry = data[cut:]
                    if cut:
                        yield data[:cut]
        except Exception as exc:
            raise failed("tts", "speech synthesis", self.url, exc) from None
