"""Typed send helpers: each builds one client message (or a paced stream of them) and hands
it to :meth:`LiveSession.send <openlive.client.session.LiveSession.send>`. A mixin, so the
helpers are methods of the session; the class using it supplies ``send``."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import numpy as np

from ..wire.base import Empty
from ..wire.client_messages import (
    ClientContent,
    ClientMessage,
    ContextUpdate,
    RealtimeInput,
    ToolResponse,
    ToolsUpdate,
)
from ..wire.content import Blob, Content, FunctionResponse, Part, Scheduling
from ..wire.setup import Tool
from . import audio


class SendHelpers:
    """``send_text``, ``send_audio``, ``stream_audio``, ``send_tool_response``, … on top of
    ``send``."""

    async def send(self, message: ClientMessage | dict[str, Any]) -> None:
        raise NotImplementedError

    async def send_client_content(self, turns: list[Content] | Content | str | None = None, *,
                                  turn_complete: bool = True) -> None:
        """``clientContent``: turns appended to the conversation (a str is one user turn).
        It interrupts a reply in progress, as on Google's service."""
        if isinstance(turns, str):
            turns = [Content(role="user", parts=[Part(text=turns)])]
        elif isinstance(turns, Content):
            turns = [turns]
        await self.send(ClientMessage(client_content=ClientContent(
            turns=turns, turn_complete=turn_complete)))

    async def send_text(self, text: str, *, turn_complete: bool = True,
                        role: Literal["user", "model"] = "user") -> None:
        """One text turn as ``clientContent``."""
        await self.send_client_content([Content(role=role, parts=[Part(text=text)])],
                                       turn_complete=turn_complete)

    async def send_realtime_text(self, text: str) -> None:
        """``realtimeInput.text``: text that goes through the realtime (VAD) path."""
        await self.send(ClientMessage(realtime_input=RealtimeInput(text=text)))

    async def send_audio(self, pcm: bytes | np.ndarray, *, sample_rate: int = audio.INPUT_RATE,
                         channels: int = 1) -> None:
        """Audio as ``realtimeInput.audio``: PCM16 bytes or float samples at any rate and
        channel count, sent as 16 kHz mono PCM16 (resampled with soxr when needed)."""
        if isinstance(pcm, np.ndarray):
            data = audio.to_input_pcm(pcm.reshape(-1, channels) if pcm.ndim == 1 and channels > 1
                                      else pcm, sample_rate)
        else:
            data = audio.pcm16_to_input(pcm, sample_rate, channels)
        await self.send(ClientMessage(realtime_input=RealtimeInput(
            audio=Blob(mime_type=audio.INPUT_MIME, data=data))))

    async def stream_audio(self, pcm: bytes, *, chunk_ms: int = 100, realtime: bool = True,
                           on_chunk: Callable[[int, float], None] | None = None) -> float:
        """Send 16 kHz mono PCM16 in ``chunk_ms`` chunks, at real-time pace unless
        ``realtime=False``. Returns the audio's duration in seconds."""
        start = time.monotonic()
        sent = 0.0
        for i, chunk in enumerate(audio.chunks(pcm, audio.INPUT_RATE, chunk_ms)):
            if realtime:
                wait = start + sent - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
            await self.send_audio(chunk)
            if on_chunk is not None:
                on_chunk(i, time.monotonic() - start)
            sent += audio.duration(chunk)
        return sent

    async def stream_audio_file(self, path: str | Path, *, chunk_ms: int = 100,
                                realtime: bool = True, end: bool = True) -> float:
        """Stream a WAV file (any rate or channel count) as 16 kHz mono PCM16; then
        ``audioStreamEnd`` if ``end``. Returns the duration in seconds."""
        pcm = audio.load_input_audio(path)
        seconds = await self.stream_audio(pcm, chunk_ms=chunk_ms, realtime=realtime)
        if end:
            await self.send_audio_stream_end()
        return seconds

    async def send_video_frame(self, image: bytes, mime_type: str = "image/jpeg") -> None:
        """One video frame (JPEG by default) as ``realtimeInput.video``; about 1 per second."""
        if not mime_type.startswith("image/"):
            raise ValueError("a video frame's mime type must be image/*")
        await self.send(ClientMessage(realtime_input=RealtimeInput(
            video=Blob(mime_type=mime_type, data=image))))

    async def send_activity_start(self) -> None:
        """``activityStart`` (only with automatic activity detection disabled)."""
        await self.send(ClientMessage(realtime_input=RealtimeInput(activity_start=Empty())))

    async def send_activity_end(self) -> None:
        await self.send(ClientMessage(realtime_input=RealtimeInput(activity_end=Empty())))

    async def send_audio_stream_end(self) -> None:
        """``audioStreamEnd``: the microphone paused (automatic activity detection on)."""
        await self.send(ClientMessage(realtime_input=RealtimeInput(audio_stream_end=True)))

    async def send_tool_response(self, responses: FunctionResponse | list[FunctionResponse]
                                 ) -> None:
        if isinstance(responses, FunctionResponse):
            responses = [responses]
        await self.send(ClientMessage(tool_response=ToolResponse(function_responses=responses)))

    async def respond(self, call_id: str, response: dict[str, Any], *, name: str | None = None,
                      scheduling: Scheduling | None = None,
                      will_continue: bool | None = None) -> None:
        """Answer one function call by id (for calls the registry does not handle)."""
        await self.send_tool_response(FunctionResponse(
            id=call_id, name=name, response=response, scheduling=scheduling,
            will_continue=will_continue))

    async def send_context_update(self, *, system_instruction: str | Content | None = None,
                                  tools: list[Tool] | None = None) -> None:
        """``contextUpdate`` (google-genai 3.4): new system instruction and/or tools."""
        if isinstance(system_instruction, str):
            system_instruction = Content(role="user", parts=[Part(text=system_instruction)])
        await self.send(ClientMessage(context_update=ContextUpdate(
            system_instruction=system_instruction,
            tools=ToolsUpdate(tools=tools) if tools is not None else None)))
