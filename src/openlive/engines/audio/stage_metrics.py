"""Where the voice stages report their timings and failures, for whoever listens.

The engines measure (end-of-speech commit, recognition, the LLM's first token, the first
audio of a reply) and count back-end failures here; the server's metrics
(:mod:`openlive.server.metrics`) install a sink. With no sink (tests, the library used on
its own) a report costs one attribute read. Engines never import the server.
"""

from __future__ import annotations

from typing import Protocol

#: stage names, in the order a spoken turn passes them
END_OF_SPEECH = "end_of_speech"  # VAD: end of the last speech window -> end committed
RECOGNITION = "recognition"  # end committed -> the utterance's text
LLM_FIRST_TOKEN = "llm_first_token"  # the turn's prompt sent -> the LLM's first text
FIRST_AUDIO = "first_audio"  # the turn starts -> its first synthesized audio sent
STAGES = (END_OF_SPEECH, RECOGNITION, LLM_FIRST_TOKEN, FIRST_AUDIO)


class StageSink(Protocol):
    def stage(self, name: str, seconds: float) -> None: ...

    def backend_error(self, backend: str) -> None: ...


sink: StageSink | None = None


def stage(name: str, seconds: float) -> None:
    """One stage of one turn took ``seconds``."""
    if sink is not None:
        sink.stage(name, seconds)


def backend_error(backend: str) -> None:
    """A model back end (``asr``, ``tts``, ``llm``) failed a request."""
    if sink is not None:
        sink.backend_error(backend)
