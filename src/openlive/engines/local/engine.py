"""The local engine: a real model answers, offline on a CPU.

Speech in (Silero VAD + Whisper) and out (Piper) come from
:mod:`openlive.engines.audio.voice`, the same stages the emulator uses; this module adds the
LLM (:class:`~openlive.engines.audio.llm.LocalLLM`): the system instruction and the whole
conversation (text turns, realtime text and transcribed speech share one history),
``generationConfig`` (temperature, topP, topK, maxOutputTokens, seed), and function calling
from the setup's ``functionDeclarations`` (a grammar-constrained choice between calling a
declared function and answering; the turn continues after the toolResponse).
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import threading
from collections.abc import AsyncIterator
from typing import Any

from ...wire.content import Content, FunctionCall
from ...wire.server_messages import ModalityTokenCount, UsageMetadata
from ...wire.setup import FunctionDeclaration, Schema, Setup
from ..audio.voice import Listener, SpeakingTurn, VoiceModels
from ..base import Engine, EngineSession, SessionInput, Turn

log = logging.getLogger("openlive.local")

DEFAULT_MAX_TOKENS = 256
_END = object()


class LocalEngine(Engine):
    name = "local"

    def __init__(self, *, voice: VoiceModels | None = None, llm_model: str | None = None,
                 threads: int = 2, n_ctx: int = 4096) -> None:
        self.voice = voice or VoiceModels.shared()
        self.llm_model = llm_model
        self.threads = threads
        self.n_ctx = n_ctx
        self._llm: Any = None
        self._lock = threading.Lock()

    def served_models(self) -> list[str]:
        return ["openlive-local"]

    def llm(self) -> Any:
        """The shared LocalLLM (loaded on first use)."""
        with self._lock:
            if self._llm is None:
                from ..audio.llm import LocalLLM

                self._llm = LocalLLM(self.llm_model, n_ctx=self.n_ctx, threads=self.threads)
            return self._llm

    def load(self) -> None:
        """Load every model now (server start) rather than at the first turn."""
        self.llm()
        self.voice.load()

    def open_session(self, setup: Setup, model: str) -> EngineSession:
        return LocalSession(self, setup)


def schema_to_json(schema: Schema | None) -> dict[str, Any]:
    """The Live API's OpenAPI subset -> a JSON schema (lower-case types)."""
    if schema is None:
        return {"type": "object", "properties": {}}
    out: dict[str, Any] = {}
    if schema.type and schema.type != "TYPE_UNSPECIFIED":
        out["type"] = schema.type.lower()
    if schema.description:
        out["description"] = schema.description
    if schema.enum:
        out["enum"] = list(schema.enum)
    if schema.properties is not None:
        out["properties"] = {k: schema_to_json(v) for k, v in schema.properties.items()}
    if schema.required:
        out["required"] = list(schema.required)
    if schema.items is not None:
        out["items"] = schema_to_json(schema.items)
    if schema.any_of:
        out["anyOf"] = [schema_to_json(s) for s in schema.any_of]
    for key in ("minimum", "maximum", "min_items", "max_items", "min_length", "max_length"):
        value = getattr(schema, key)
        if value is not None:
            camel = key.split("_")[0] + "".join(w.title() for w in key.split("_")[1:])
            out[camel] = value
    if out.get("type") == "object" and "properties" not in out:
        out["properties"] = {}
    return out


def tool_spec(decl: FunctionDeclaration) -> dict[str, Any]:
    params = (decl.parameters_json_schema if decl.parameters_json_schema is not None
              else schema_to_json(decl.parameters))
    return {"name": decl.name or "", "description": decl.description or "",
            "parameters": params}


def _text(content: Content | None) -> str:
    return content.text() if content is not None else ""


def chat_messages(setup: Setup, history: list[Content]) -> list[dict[str, str]]:
    """The conversation in OpenAI chat form (function calls and results as plain text)."""
    messages: list[dict[str, str]] = []
    system = _text(setup.system_instruction).strip()
    messages.append({"role": "system", "content": system or
                     "You are a helpful voice assistant. Answer briefly."})
    for content in history:
        role = "assistant" if content.role == "model" else "user"
        pieces: list[str] = []
        for part in content.parts or ():
            if part.text:
                pieces.append(part.text)
            elif part.function_call is not None:
                fc = part.function_call
                pieces.append(f"(called {fc.name} with {json.dumps(fc.args or {})})")
            elif part.function_response is not None:
                fr = part.function_response
                pieces.append(f"(result of {fr.name}: {json.dumps(fr.response or {})})")
        text = "\n".join(pieces).strip()
        if not text:
            continue
        if messages and messages[-1]["role"] == role and role != "system":
            messages[-1]["content"] += "\n" + text
        else:
            messages.append({"role": role, "content": text})
    return messages


def sampling(setup: Setup) -> dict[str, Any]:
    """generationConfig -> llama.cpp chat-completion parameters."""
    gc = setup.generation_config
    out: dict[str, Any] = {"max_tokens": DEFAULT_MAX_TOKENS}
    if gc is None:
        return out
    if gc.max_output_tokens:
        out["max_tokens"] = gc.max_output_tokens
    if gc.temperature is not None:
        out["temperature"] = gc.temperature
    if gc.top_p is not None:
        out["top_p"] = gc.top_p
    if gc.top_k is not None:
        out["top_k"] = gc.top_k
    if gc.seed is not None:
        out["seed"] = gc.seed
    return out


def _tokens(text: str) -> int:
    return math.ceil(len(text) / 4) if text else 0


class LocalSession(EngineSession):
    hears_audio = True

    def __init__(self, engine: LocalEngine, setup: Setup) -> None:
        self.engine = engine
        self.setup = setup
        self.speaks = setup.response_modality() == "AUDIO"
        self.listener = Listener(setup, engine.voice)

    def attach(self, inputs: SessionInput) -> None:
        self.listener.inputs = inputs

    def on_event(self, event: object) -> None:
        self.listener.on_event(event)

    async def aclose(self) -> None:
        await self.listener.aclose()

    async def _stream(self, messages: list[dict[str, str]], params: dict[str, Any]
                      ) -> AsyncIterator[str]:
        llm = await asyncio.to_thread(self.engine.llm)
        it = iter(llm.stream(messages, **params))
        while True:
            delta = await asyncio.to_thread(next, it, _END)
            if delta is _END:
                return
            yield delta  # type: ignore[misc]

    async def respond(self, turn: Turn) -> None:
        setup = turn.setup  # contextUpdate may have changed instructions and tools
        if self.speaks:
            turn = SpeakingTurn(turn, await asyncio.to_thread(self.engine.voice.synthesizer))
        history = list(turn.history)
        messages = chat_messages(setup, history)
        prompt_tokens = sum(_tokens(m["content"]) for m in messages)
        reply_tokens = 0
        decls = [d for d in setup.function_declarations() if d.name]
        last = history[-1] if history else None
        answering_results = last is not None and any(
            p.function_response is not None for p in last.parts or ())
        if decls and not answering_results:
            llm = await asyncio.to_thread(self.engine.llm)
            tools = [tool_spec(d) for d in decls]
            choice = await asyncio.to_thread(llm.choose_tool, messages, tools)
            if choice.name is not None:
                log.info("turn %d: calling %s(%s)", turn.turn_id, choice.name, choice.arguments)
                call = FunctionCall(name=choice.name, args=choice.arguments)
                reply_tokens += _tokens(json.dumps(choice.arguments))
                responses = await turn.call_tools([call])
                messages.append({"role": "assistant", "content":
                                 f"(called {call.name} with {json.dumps(call.args)})"})
                messages.append({"role": "user", "content": "\n".join(
                    f"(result of {r.name}: {json.dumps(r.response or {})})"
                    for r in responses) + "\nAnswer the user's question with this result."})
        async for delta in self._stream(messages, sampling(setup)):
            reply_tokens += 1
            await turn.send_text(delta)
        modality = "AUDIO" if self.speaks else "TEXT"
        await turn.complete(UsageMetadata(
            prompt_token_count=prompt_tokens, response_token_count=reply_tokens,
            total_token_count=prompt_tokens + reply_tokens,
            prompt_tokens_details=[ModalityTokenCount(modality="TEXT",
                                                      token_count=prompt_tokens)],
            response_tokens_details=[ModalityTokenCount(modality=modality,
                                                        token_count=reply_tokens)]))
