"""The local engine: VAD -> ASR -> LLM (llama.cpp, in-process) -> TTS on shipped models."""

from .engine import LocalEngine, LocalSession

__all__ = ["LocalEngine", "LocalSession"]
