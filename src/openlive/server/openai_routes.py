"""openlive as a model server: OpenAI-compatible routes on ``openlive serve --engine local``,
answered by the models it has loaded, behind the same API keys.

* ``POST /v1/audio/transcriptions`` (multipart ``file``: a PCM16 WAV file at any rate,
  mono or stereo; ``response_format`` ``json`` (default) or ``text``) -> ``{"text": ...}``;
* ``POST /v1/audio/speech`` (JSON ``input``; ``response_format`` ``pcm`` (24 kHz 16-bit
  little-endian mono) or ``wav``; ``model`` and ``voice`` are accepted and ignored: the
  node speaks with its Piper voice) -> audio, streamed clause by clause;
* ``POST /v1/chat/completions`` (``messages``; ``stream`` with server-sent events and
  ``stream_options.include_usage``; ``max_tokens``/``max_completion_tokens``,
  ``temperature``, ``top_p``, ``seed``, ``stop``) -> a completion from the node's LLM.

Shapes follow OpenAI's API reference ("Create transcription", "Create speech", "Create
chat completion"), so the official ``openai`` client and any OpenAI-compatible front end
(another openlive with ``--asr-url``/``--tts-url``/``--llm-url``) can use them. A key is
``Authorization: Bearer KEY`` (what the ``openai`` client sends) or ``x-goog-api-key``.
Errors are OpenAI's ``{"error": {"message", "type", "param", "code"}}``.

``GET /v1/models`` is Google's ListModels, except for a request that carries
``Authorization: Bearer`` and no Google credential (``x-goog-api-key``, ``?key=``): that is
an OpenAI client (Google's clients send keys in ``x-goog-api-key`` and ephemeral tokens as
``Authorization: Token``), and gets OpenAI's model list (``{"object": "list", "data": [...]}``)
with this node's one model, ``openlive-local``. openlive's own rule: the two APIs share the
path.
"""

from __future__ import annotations

import asyncio
import io
import json
import time
import uuid
import wave
from collections.abc import Awaitable, Callable, Iterator
from email import policy as email_policy
from email.parser import BytesParser
from typing import Any

import numpy as np
from aiohttp import web

from .auth import Credentials, KeyChecker

PCM_RATE = 24_000  # OpenAI's "pcm": 24 kHz, 16-bit signed little-endian, mono
ASR_RATE = 16_000
MAX_AUDIO_BYTES = 25 * 1024 * 1024  # OpenAI's own upload limit for transcriptions
SPEECH_FORMATS = ("pcm", "wav")
CHAT_PARAMS = ("temperature", "top_p", "top_k", "seed", "stop", "response_format")


def openai_error(status: int, message: str, kind: str = "invalid_request_error",
                 code: str | None = None, param: str | None = None) -> web.Response:
    return web.json_response({"error": {"message": message, "type": kind, "param": param,
                                        "code": code}}, status=status)


MODEL_ID = "openlive-local"


def add_openai_routes(app: web.Application, engine: Any, keys: KeyChecker,
                      google: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> None:
    """The routes, answered by ``engine`` (a LocalEngine: ``voice``, ``llm()``);
    ``google`` answers a ``GET /v1/models`` that is not an OpenAI client's."""
    routes = OpenAIRoutes(engine, keys)

    async def models(request: web.Request) -> web.StreamResponse:
        creds = Credentials.from_request(request.query, request.headers)
        bearer = request.headers.get("Authorization", "")[:7].lower() == "bearer "
        if not bearer or creds.api_key or creds.access_token:
            return await google(request)
        if (refused := routes._refused(request)) is not None:
            return refused
        return web.json_response({"object": "list", "data": [
            {"id": MODEL_ID, "object": "model", "created": 0, "owned_by": "openlive"}]})

    app.router.add_get("/v1/models", models)
    app.router.add_post("/v1/audio/transcriptions", routes.transcriptions)
    app.router.add_post("/v1/audio/speech", routes.speech)
    app.router.add_post("/v1/chat/completions", routes.chat_completions)


class OpenAIRoutes:
    def __init__(self, engine: Any, keys: KeyChecker) -> None:
        self.engine = engine
        self.keys = keys

    def _refused(self, request: web.Request) -> web.Response | None:
        if self.keys.open:
            return None
        auth = request.headers.get("Authorization", "")
        bearer = auth[7:].strip() if auth[:7].lower() == "bearer " else None
        key = bearer or Credentials.from_request(request.query, request.headers).api_key
        if key and self.keys.check(Credentials(api_key=key)) is None:
            return None
        return openai_error(401, "openlive: this server needs one of its API keys "
                                 "(Authorization: Bearer KEY)", "invalid_request_error",
                            "invalid_api_key")

    # ------------------------------------------------------------ transcriptions

    async def transcriptions(self, request: web.Request) -> web.StreamResponse:
        if (refused := self._refused(request)) is not None:
            return refused
        if request.content_length and request.content_length > MAX_AUDIO_BYTES + 65_536:
            return openai_error(413, "openlive: the audio file is over 25 MB")
        form = form_fields(request.headers.get("Content-Type", ""), await request.read())
        upload = form.get("file")
        if upload is None:
            return openai_error(400, "openlive: send multipart/form-data with a file field",
                                param="file")
        fmt = form.get("response_format", b"json").decode("utf-8", "replace")
        if fmt not in ("json", "text"):
            return openai_error(400, f"openlive: response_format {fmt!r} is not served "
                                     "(json or text)", param="response_format")
        try:
            pcm = wav_to_pcm16k(upload)
        except ValueError as exc:
            return openai_error(400, f"openlive: {exc}", param="file")
        voice = self.engine.voice

        def run() -> str:
            with voice.asr_running():
                return str(voice.transcriber().transcribe(pcm)).strip()

        text = await asyncio.to_thread(run)
        if fmt == "text":
            return web.Response(text=text + "\n")
        return web.json_response({"text": text})

    # -------------------------------------------------------------------- speech

    async def speech(self, request: web.Request) -> web.StreamResponse:
        if (refused := self._refused(request)) is not None:
            return refused
        body = await _json_body(request)
        if isinstance(body, web.Response):
            return body
        text = body.get("input")
        if not isinstance(text, str) or not text.strip():
            return openai_error(400, "openlive: input must be a non-empty string",
                                param="input")
        fmt = body.get("response_format") or "mp3"
        if fmt not in SPEECH_FORMATS:
            return openai_error(400, f"openlive: response_format {fmt!r} is not served "
                                     "(pcm or wav)", param="response_format")
        synth = await asyncio.to_thread(self.engine.voice.synthesizer)
        response = web.StreamResponse(headers={
            "Content-Type": "audio/pcm" if fmt == "pcm" else "audio/wav"})
        await response.prepare(request)
        if fmt == "wav":
            await response.write(_streaming_wav_header(PCM_RATE))
        chunks = _speak(synth, text)
        while (chunk := await asyncio.to_thread(next, chunks, None)) is not None:
            await response.write(chunk)
        await response.write_eof()
        return response

    # ---------------------------------------------------------- chat completions

    async def chat_completions(self, request: web.Request) -> web.StreamResponse:
        if (refused := self._refused(request)) is not None:
            return refused
        body = await _json_body(request)
        if isinstance(body, web.Response):
            return body
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages or not all(
                isinstance(m, dict) for m in messages):
            return openai_error(400, "openlive: messages must be a non-empty list of "
                                     "objects", param="messages")
        if int(body.get("n") or 1) != 1:
            return openai_error(400, "openlive: n must be 1", param="n")
        params = {k: body[k] for k in CHAT_PARAMS if body.get(k) is not None}
        limit = body.get("max_completion_tokens") or body.get("max_tokens")
        params["max_tokens"] = int(limit) if limit else 512
        from ..engines.audio.llm import Usage

        llm = await asyncio.to_thread(self.engine.llm)
        usage = Usage()
        model = str(body.get("model") or "openlive-local")
        ident = f"chatcmpl-{uuid.uuid4().hex[:24]}"
        created = int(time.time())
        deltas = llm.astream(messages, usage=usage, **params)
        if not body.get("stream"):
            text = "".join([d async for d in deltas])
            return web.json_response({
                "id": ident, "object": "chat.completion", "created": created, "model": model,
                "choices": [{"index": 0, "finish_reason": "stop",
                             "message": {"role": "assistant", "content": text}}],
                "usage": _usage(usage)})
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream",
                                               "Cache-Control": "no-cache"})
        await response.prepare(request)

        async def event(choices: list[dict[str, Any]], **extra: Any) -> None:
            chunk = {"id": ident, "object": "chat.completion.chunk", "created": created,
                     "model": model, "choices": choices, **extra}
            await response.write(b"data: " + json.dumps(chunk).encode() + b"\n\n")

        await event([{"index": 0, "delta": {"role": "assistant", "content": ""},
                      "finish_reason": None}])
        async for delta in deltas:
            await event([{"index": 0, "delta": {"content": delta}, "finish_reason": None}])
        await event([{"index": 0, "delta": {}, "finish_reason": "stop"}])
        if (body.get("stream_options") or {}).get("include_usage"):
            await event([], usage=_usage(usage))
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        return response


async def _json_body(request: web.Request) -> dict[str, Any] | web.Response:
    try:
        body = await request.json()
    except (ValueError, UnicodeDecodeError):
        return openai_error(400, "openlive: the body must be JSON")
    if not isinstance(body, dict):
        return openai_error(400, "openlive: the body must be a JSON object")
    return body


def _usage(usage: Any) -> dict[str, int]:
    return {"prompt_tokens": usage.prompt_tokens, "completion_tokens": usage.completion_tokens,
            "total_tokens": usage.prompt_tokens + usage.completion_tokens}


def _speak(synth: Any, text: str) -> Iterator[bytes]:
    """24 kHz PCM16, clause by clause (the first clause is out before the rest is made)."""
    from ..engines.audio.tts import ClauseSplitter

    rate = int(getattr(synth, "output_rate", PCM_RATE))
    splitter = ClauseSplitter()
    clauses = [*splitter.feed(text), *splitter.flush()]
    for pcm in (chunk for clause in clauses for chunk in synth.synthesize(clause)):
        if rate != PCM_RATE:
            import soxr

            samples = np.frombuffer(pcm, dtype="<i2")
            pcm = np.asarray(soxr.resample(samples, rate, PCM_RATE), dtype="<i2").tobytes()
        yield pcm


def _streaming_wav_header(rate: int) -> bytes:
    """A WAV header for audio of unknown length (sizes at their maximum, as streaming
    encoders write them)."""
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
    header = bytearray(out.getvalue())
    header[4:8] = (0xFFFFFFFF).to_bytes(4, "little")
    header[40:44] = (0xFFFFFFFF - 36).to_bytes(4, "little")
    return bytes(header)


def form_fields(content_type: str, body: bytes) -> dict[str, bytes]:
    """multipart/form-data fields by name (the body is read whole by the server's
    slow-body middleware before the handler runs, so it is parsed here from bytes, with
    the standard library's MIME parser)."""
    if not content_type.lower().startswith("multipart/form-data"):
        return {}
    message = BytesParser(policy=email_policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body)
    fields: dict[str, bytes] = {}
    for part in message.iter_parts() if message.is_multipart() else ():
        name = part.get_param("name", header="content-disposition")
        if isinstance(name, str):
            fields[name] = part.get_payload(decode=True) or b""
    return fields


def wav_to_pcm16k(data: bytes) -> bytes:
    """A PCM16 WAV file (any rate, mono or stereo) -> 16 kHz mono PCM16 for recognition."""
    try:
        with wave.open(io.BytesIO(data), "rb") as w:
            if w.getsampwidth() != 2:
                raise ValueError("the WAV file must hold 16-bit PCM")
            channels, rate = w.getnchannels(), w.getframerate()
            frames = w.readframes(w.getnframes())
    except (wave.Error, EOFError) as exc:
        raise ValueError(f"openlive reads WAV (16-bit PCM) files only: {exc}") from None
    samples = np.frombuffer(frames[:len(frames) - len(frames) % (2 * channels)], dtype="<i2")
    if channels > 1:
        samples = samples.reshape(-1, channels).mean(axis=1).astype("<i2")
    if rate != ASR_RATE:
        import soxr

        samples = np.asarray(soxr.resample(samples, rate, ASR_RATE), dtype="<i2")
    return samples.tobytes()
