"""Local audio/model stages: VAD (Silero), ASR (faster-whisper), TTS (Piper), model files.

Heavy packages (the ``local`` extra: ``pip install 'openlive[local]'``) are imported only
when a model is first loaded, so importing this package is cheap.
"""

from .asr import Transcriber
from .models import ModelCorrupt, ModelError, ModelNotFound
from .tts import ClauseSplitter, Synthesizer, resolve_voice
from .vad import ActivityDecider, SpeechEnded, SpeechStarted, VadConfig, VadSegmenter

__all__ = [
    "ActivityDecider",
    "ClauseSplitter",
    "ModelCorrupt",
    "ModelError",
    "ModelNotFound",
    "SpeechEnded",
    "SpeechStarted",
    "Synthesizer",
    "Transcriber",
    "VadConfig",
    "VadSegmenter",
    "resolve_voice",
]
