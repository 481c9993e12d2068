"""The ``setup`` message from a typed config: the wire ``Setup`` model itself, or a few
keyword shortcuts on top of it. No second schema: everything is :mod:`openlive.wire`."""

from __future__ import annotations

from typing import Any, Literal

from ..wire.content import Content, Part
from ..wire.setup import (
    AudioTranscriptionConfig,
    GenerationConfig,
    PrebuiltVoiceConfig,
    SessionResumptionConfig,
    Setup,
    SpeechConfig,
    VoiceConfig,
)
from .tools import ToolRegistry
from .url import model_name


def make_setup(model: str, config: Setup | dict[str, Any] | None = None, *,
               modality: Literal["TEXT", "AUDIO"] | None = None,
               system_instruction: str | None = None,
               voice: str | None = None,
               input_transcription: bool = False,
               output_transcription: bool = False,
               tools: ToolRegistry | None = None,
               resumption: bool = False,
               handle: str | None = None) -> Setup:
    """A Setup for ``model``: ``config`` (a Setup, or a dict in camelCase or snake_case, as
    the wire accepts) with the shortcuts applied on top."""
    if config is None:
        setup = Setup()
    elif isinstance(config, Setup):
        setup = config.model_copy(deep=True)
    else:
        data = dict(config)
        data.pop("model", None)
        setup = Setup.model_validate(data, context={"strict": True})
    setup.model = model_name(model)
    gen = setup.generation_config
    if modality is not None or voice is not None:
        gen = gen.model_copy() if gen is not None else GenerationConfig()
        if modality is not None:
            gen.response_modalities = [modality]
        if voice is not None:
            gen.speech_config = SpeechConfig(voice_config=VoiceConfig(
                prebuilt_voice_config=PrebuiltVoiceConfig(voice_name=voice)))
        setup.generation_config = gen
    if system_instruction is not None:
        setup.system_instruction = Content(role="user", parts=[Part(text=system_instruction)])
    if input_transcription and setup.input_audio_transcription is None:
        setup.input_audio_transcription = AudioTranscriptionConfig()
    if output_transcription and setup.output_audio_transcription is None:
        setup.output_audio_transcription = AudioTranscriptionConfig()
    if tools is not None and len(tools):
        setup.tools = [*(setup.tools or []), tools.tool()]
    if resumption or handle:
        current = setup.session_resumption
        setup.session_resumption = SessionResumptionConfig(
            handle=handle or (current.handle if current else None))
    return setup
