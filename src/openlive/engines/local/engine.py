"""The local engine: a real model answers, offline on a CPU.

Speech in (Silero VAD + Whisper, :mod:`openlive.engines.audio.listener`) and out (Piper,
:mod:`openlive.engines.audio.speaking`) are the same stages the emulator uses; this module
adds the LLM (:class:`~openlive.engines.audio.llm.LocalLLM`, or an OpenAI-compatible
server): :class:`LocalEngine` holds the shared models, :class:`LocalSession` answers each
turn from the conversation (:mod:`.prompt`), after any function calls (:mod:`.tools`), with
its ``usageMetadata`` (:mod:`.usage`).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from typing import Any

from ...session import events as ev
from ...wire import errors
from ...wire.content import Content, Part
from ...wire.setup import Setup
from ..audio import stage_metrics
from ..audio.listener import Listener
from ..audio.remote_backend import BackendError
from ..audio.speaking import SpeakingTurn
from ..audio.turn_end import LLMTurnEnd, TurnEndScorer
from ..audio.voice_models import VoiceModels
from ..base import Engine, EngineSession, SessionInput, Turn
from ..vision.session import SessionVision, SpeechHook, Vision
from .answer_stream import AnswerStream
from .prompt import chat_messages, sampling
from .speculation import Speculation
from .tools import use_tools
from .usage import usage_metadata

log = logging.getLogger("openlive.engine")


class LocalEngine(Engine):
    name = "local"

    def __init__(self, *, voice: VoiceModels | None = None, llm_model: str | None = None,
                 threads: int = 2, n_ctx: int = 4096, llm: Any = None,
                 vision: Vision | None = None, slots: int | None = None) -> None:
        """``llm``: a ready LLM back end (e.g. an
        :class:`~openlive.engines.audio.openai_llm.OpenAILLM`) instead of the in-process
        llama.cpp on ``llm_model`` (default: the shipped GGUF). ``vision``: what describes
        the video (:mod:`openlive.engines.vision`); None: frames are not looked at.
        ``slots``: the in-process LLM's llama.cpp slots (default ``llm.PARALLEL``)."""
        self.voice = voice or VoiceModels.shared()
        self.llm_model = llm_model
        self.threads = threads
        self.n_ctx = n_ctx
        self.slots = slots
        self._llm: Any = llm
        self._lock = threading.Lock()
        self.vision = vision

    def served_models(self) -> list[str]:
        return ["openlive-local"]

    def llm(self) -> Any:
        """The shared LocalLLM (loaded on first use)."""
        with self._lock:
            if self._llm is None:
                from ..audio.llm import LocalLLM

                self._llm = LocalLLM(self.llm_model, n_ctx=self.n_ctx, threads=self.threads,
                                     parallel=self.slots)
            return self._llm

    def loaded_llm(self) -> Any:
        """The LLM if it is loaded (or given), else None (never loads it)."""
        return self._llm

    def turn_end(self) -> TurnEndScorer | None:
        """What judges a pause's transcript (:mod:`..audio.turn_end`): the in-process LLM's
        next-token probabilities when it is a packaged (ChatML) model; None (the lexical
        rule alone) with an LLM over HTTP or a GGUF of the user's own."""
        from ..audio.models import PACKAGED_LLMS

        if self._llm is not None and not hasattr(self._llm, "server"):
            return None
        if self.llm_model is not None and str(self.llm_model) not in PACKAGED_LLMS:
            return None
        return LLMTurnEnd(lambda: self.llm().server)

    def load(self) -> None:
        """Load every model now (server start) rather than at the first turn."""
        self.llm()
        self.voice.load()

    def open_session(self, setup: Setup, model: str) -> EngineSession:
        return LocalSession(self, setup, model)

    async def aclose(self) -> None:
        if self._llm is not None and hasattr(self._llm, "aclose"):
            await self._llm.aclose()
        if self.vision is not None:
            await self.vision.aclose()


class LocalSession(EngineSession):
    hears_audio = True

    def __init__(self, engine: LocalEngine, setup: Setup, model: str | None = None) -> None:
        self.engine = engine
        self.setup = setup
        self.speaks = setup.response_modality() == "AUDIO"
        self.listener = Listener(setup, engine.voice, turn_end=engine.turn_end())
        self.heard_seconds = 0.0  # realtimeInput audio received (usageMetadata AUDIO)
        self.responding = False  # frames are analysed in the background only when False
        self._inputs: SessionInput | None = None
        self._speculation: Speculation | None = None  # an answer begun at a pause
        self.vision: SessionVision | None = None
        if engine.vision is not None:
            self.vision = engine.vision.open(setup, model, cpu_free=lambda: not self.responding)

    def attach(self, inputs: SessionInput) -> None:
        self.listener.close_session = getattr(inputs, "close", None)  # (server/connection.py)
        self.listener.inputs = SpeechHook(inputs, self.vision) if self.vision else inputs
        self._inputs = inputs
        self.listener.on_pause = self._on_pause

    # ------------------------------------------------------- speculative answers

    def _on_pause(self, text: str | None) -> None:
        """A pause's transcript that may end the turn (None: the user spoke on): start
        the answer to it now (:mod:`.speculation`), unless the answer would need more
        than the LLM (tools) or a model turn is running (its end changes the history).
        (With video, a turn that has seen something builds other messages: it does not
        adopt the speculation.)"""
        self._drop_speculation()
        llm = self.engine.loaded_llm()
        if text is None or llm is None or self.responding:
            return
        conversation = getattr(self._inputs, "conversation", None)
        if conversation is None:
            return
        setup, history = conversation()
        if setup.function_declarations():
            return
        user = Content(role="user", parts=[Part(text=text)])
        messages = chat_messages(setup, [*history, user])
        self._speculation = Speculation(llm, messages, sampling(setup))

    def _drop_speculation(self) -> None:
        spec, self._speculation = self._speculation, None
        if spec is not None and not spec.adopted:
            spec.cancel()

    def on_event(self, event: object) -> None:
        if isinstance(event, ev.MediaReceived) and event.kind == "audio" and event.blob.data:
            self.heard_seconds += len(event.blob.data) / (2 * (event.rate or 16_000))
        if self.vision is not None:
            self.vision.on_event(event)
        self.listener.on_event(event)

    async def aclose(self) -> None:
        self._drop_speculation()
        if self.vision is not None:
            await self.vision.aclose()
        await self.listener.aclose()

    async def respond(self, turn: Turn) -> None:
        self.responding = True
        try:
            await self._respond(turn)
        except BackendError as exc:  # a remote stage failed mid-turn: the session ends
            log.error("%s; closing the session (1011)", exc)
            await turn.close(1011, errors.UNAVAILABLE)
        finally:
            self.responding = False

    async def _respond(self, turn: Turn) -> None:
        from ..audio.llm import Usage

        setup = turn.setup  # contextUpdate may have changed instructions and tools
        speaking: SpeakingTurn | None = None
        if self.speaks:
            speaking = SpeakingTurn(turn, await asyncio.to_thread(self.engine.voice.synthesizer))
            turn = speaking
        llm = await asyncio.to_thread(self.engine.llm)
        history = list(turn.history)
        seen = await self.vision.note_for_turn(turn.user.text()) if self.vision else None
        messages: list[dict[str, Any]] = list(chat_messages(setup, history, seen))
        results_turn = bool(history) and any(p.function_response for p in history[-1].parts
                                             or ())
        if results_turn:  # a NON_BLOCKING call's result started it (WHEN_IDLE/INTERRUPT)
            messages[-1]["content"] += "\nTell me this result in one sentence."
        tool_usage, answer_usage = Usage(), Usage()
        if not results_turn:
            await use_tools(turn, llm, messages, setup, history, tool_usage)
        reply = []
        asked = time.monotonic()
        params = sampling(setup)
        spec, self._speculation = self._speculation, None
        if spec is not None and spec.matches(messages, params):
            log.debug("turn %d: adopting the answer begun %.0f ms ago at the pause",
                      turn.turn_id, (asked - spec.started) * 1000)
            answer_usage = spec.usage
            stream = spec.adopt()
            answer = spec.answer
        else:
            if spec is not None:
                log.debug("turn %d: the answer begun at the pause does not fit the turn "
                          "(%d vs %d messages)", turn.turn_id, len(spec.messages),
                          len(messages))
                spec.cancel()
            answer = AnswerStream(llm, messages, params, answer_usage)
            stream = aiter(answer)
        if speaking is not None:
            speaking.first_clause_hold = answer
        async for delta in stream:
            if not reply:
                stage_metrics.stage(stage_metrics.LLM_FIRST_TOKEN, time.monotonic() - asked)
            reply.append(delta)
            await turn.send_text(delta)
        await turn.generation_complete()  # all speech is synthesized: its length is known
        await turn.complete(usage_metadata(
            messages, "".join(reply), tool_usage, answer_usage, self.heard_seconds,
            speaking.audio_seconds if speaking is not None else None))
