"""The local engine: VAD -> ASR -> LLM (llama.cpp, in-process) -> TTS on shipped models."""

from .. import lazy_exports

__all__ = ["LocalEngine", "LocalSession"]
__getattr__ = lazy_exports(__name__, dict.fromkeys(__all__, "engine"))
