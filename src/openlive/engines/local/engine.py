"""The local engine: a real model answers, offline on a CPU.

Speech in (Silero VAD + Whisper) and out (Piper) come from
:mod:`openlive.engines.audio.voice`, the same stages the emulator uses; this module adds the
LLM (:class:`~openlive.engines.audio.llm.LocalLLM`): the system instruction and the whole
conversation (text turns, realtime text and transcribed speech share one history),
``generationConfig`` (temperature, topP, topK, maxOutputTokens, seed), and function calling
from the setup's ``functionDeclarations`` (a grammar-constrained choice between calling a
declared function and answering; the turn continues after the toolResponse).

Function calling (docs/local-engine.md): arguments are validated against the declaration's
JSON schema (one constrained retry, else the model answers in text: invalid arguments are
never sent); call -> response -> another call loops up to :data:`MAX_TOOL_ROUNDS` times per
turn, never repeating an identical call. A ``NON_BLOCKING`` function's toolCall does not
hold the turn: the model says it has started it and ends its turn; the session core turns
each later toolResponse (``scheduling`` SILENT / WHEN_IDLE / INTERRUPT, ``willContinue``)
into history, or a new model turn that speaks about the result.

``usageMetadata`` holds the LLM server's own token counts (its tokenizer) for text, and
:data:`AUDIO_TOKENS_PER_SECOND` per second of audio heard and spoken.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import threading
from typing import Any

from ...session import events as ev
from ...session.history import estimate_text_tokens
from ...wire.content import Content, FunctionCall
from ...wire.server_messages import ModalityTokenCount, UsageMetadata
from ...wire.setup import FunctionDeclaration, Schema, Setup
from ..audio.voice import Listener, SpeakingTurn, VoiceModels
from ..base import Engine, EngineSession, SessionInput, Turn

log = logging.getLogger("openlive.local")

DEFAULT_MAX_TOKENS = 256
MAX_TOOL_ROUNDS = 3  # function calls the model may make in one turn, one after another
AUDIO_TOKENS_PER_SECOND = 32  # Gemini's count for audio (ai.google.dev token docs)


class LocalEngine(Engine):
    name = "local"

    def __init__(self, *, voice: VoiceModels | None = None, llm_model: str | None = None,
                 threads: int = 2, n_ctx: int = 4096, llm: Any = None) -> None:
        """``llm``: a ready LLM back end (e.g. an
        :class:`~openlive.engines.audio.openai_llm.OpenAILLM`) instead of the in-process
        llama.cpp on ``llm_model`` (default: the shipped GGUF)."""
        self.voice = voice or VoiceModels.shared()
        self.llm_model = llm_model
        self.threads = threads
        self.n_ctx = n_ctx
        self._llm: Any = llm
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

    async def aclose(self) -> None:
        if self._llm is not None and hasattr(self._llm, "aclose"):
            await self._llm.aclose()


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
                pieces.append(f"({fr.name} finished. Its result: "
                              f"{json.dumps(fr.response or {})})")
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


def invalid_arguments(args: Any, schema: dict[str, Any]) -> str | None:
    """Why ``args`` do not match the declaration's JSON ``schema`` (None: they do)."""
    import jsonschema

    try:
        validator = jsonschema.validators.validator_for(schema)(schema)
        validator.check_schema(schema)
    except jsonschema.SchemaError as exc:  # the client's schema: use it as far as it goes
        log.debug("cannot validate against the declared schema: %s", exc.message)
        return None if isinstance(args, dict) else "the arguments are not an object"
    error = jsonschema.exceptions.best_match(validator.iter_errors(args))
    if error is None:
        return None
    where = "/".join(str(p) for p in error.absolute_path)
    return f"{where}: {error.message}" if where else error.message


async def choose_call(llm: Any, messages: list[dict[str, Any]], tools: list[dict[str, Any]],
                      usage: Any) -> Any:
    """The model's tool choice with arguments valid against the declaration; one retry
    (telling the model what was wrong), then no call (the model answers in text)."""
    from ..audio.llm import ToolChoice

    by_name = {t["name"]: t for t in tools}
    attempt = messages
    for _ in range(2):
        choice = await llm.achoose_tool(attempt, tools, usage=usage)
        if choice.name is None:
            return choice
        tool = by_name.get(choice.name)
        problem = (f"there is no function {choice.name!r}" if tool is None
                   else invalid_arguments(choice.arguments, tool["parameters"]))
        if problem is None:
            return choice
        log.info("model's call %s(%s) is invalid: %s", choice.name, choice.arguments, problem)
        attempt = [*messages,
                   {"role": "assistant", "content": json.dumps(
                       {"tool": choice.name, "arguments": choice.arguments})},
                   {"role": "user", "content": f"That call is invalid ({problem}). Call the "
                                               "function with valid arguments, or choose none."}]
    return ToolChoice(None)


def _calls_since_user(history: list[Content]) -> set[str]:
    """Calls already made (name + arguments) since the user last said something."""
    seen: set[str] = set()
    for content in reversed(history):
        parts = content.parts or ()
        if content.role != "model" and any(p.text for p in parts):
            break
        for p in parts:
            if p.function_call is not None:
                seen.add(_call_key(p.function_call.name or "", p.function_call.args or {}))
    return seen


def _call_key(name: str, args: dict[str, Any]) -> str:
    return name + json.dumps(args, sort_keys=True)


def _audio_tokens(seconds: float) -> int:
    return math.ceil(seconds * AUDIO_TOKENS_PER_SECOND - 1e-9) if seconds > 0 else 0


class LocalSession(EngineSession):
    hears_audio = True

    def __init__(self, engine: LocalEngine, setup: Setup) -> None:
        self.engine = engine
        self.setup = setup
        self.speaks = setup.response_modality() == "AUDIO"
        self.listener = Listener(setup, engine.voice)
        self.heard_seconds = 0.0  # realtimeInput audio received (usageMetadata AUDIO)

    def attach(self, inputs: SessionInput) -> None:
        self.listener.inputs = inputs

    def on_event(self, event: object) -> None:
        if isinstance(event, ev.MediaReceived) and event.kind == "audio" and event.blob.data:
            self.heard_seconds += len(event.blob.data) / (2 * (event.rate or 16_000))
        self.listener.on_event(event)

    async def aclose(self) -> None:
        await self.listener.aclose()

    async def respond(self, turn: Turn) -> None:
        from ..audio.llm import Usage

        setup = turn.setup  # contextUpdate may have changed instructions and tools
        speaking: SpeakingTurn | None = None
        if self.speaks:
            speaking = SpeakingTurn(turn, await asyncio.to_thread(self.engine.voice.synthesizer))
            turn = speaking
        llm = await asyncio.to_thread(self.engine.llm)
        history = list(turn.history)
        messages: list[dict[str, Any]] = list(chat_messages(setup, history))
        results_turn = bool(history) and any(p.function_response for p in history[-1].parts
                                             or ())
        if results_turn:  # a NON_BLOCKING call's result started it (WHEN_IDLE/INTERRUPT)
            messages[-1]["content"] += "\nTell me this result in one sentence."
        tool_usage, answer_usage = Usage(), Usage()
        decls = {d.name: d for d in setup.function_declarations() if d.name}
        tools = [tool_spec(d) for d in decls.values()]
        seen = _calls_since_user(history)
        for _ in range(MAX_TOOL_ROUNDS if tools and not results_turn else 0):
            choice = await choose_call(llm, messages, tools, tool_usage)
            key = _call_key(choice.name or "", choice.arguments)
            if choice.name is None or key in seen:
                break
            seen.add(key)
            log.info("turn %d: calling %s(%s)", turn.turn_id, choice.name, choice.arguments)
            call = FunctionCall(name=choice.name, args=choice.arguments)
            responses = await turn.call_tools([call])
            messages.append({"role": "assistant", "content":
                             f"(called {call.name} with {json.dumps(call.args)})"})
            if decls[choice.name].behavior == "NON_BLOCKING":
                # the result comes later (toolResponse scheduling): say it has started
                messages.append({"role": "user", "content":
                                 f"({call.name} is running; its result comes later.) Tell "
                                 "the user in one short sentence that you have started it."})
                break
            messages.append({"role": "user", "content": "\n".join(
                f"(result of {r.name}: {json.dumps(r.response or {})})"
                for r in responses) + "\nAnswer the user's question with this result."})
        reply = []
        async for delta in llm.astream(messages, usage=answer_usage, **sampling(setup)):
            reply.append(delta)
            await turn.send_text(delta)
        await turn.generation_complete()  # all speech is synthesized: its length is known
        await turn.complete(self._usage(messages, "".join(reply), tool_usage, answer_usage,
                                        speaking))

    def _usage(self, messages: list[dict[str, Any]], reply: str, tool_usage: Any,
               answer_usage: Any, speaking: SpeakingTurn | None) -> UsageMetadata:
        """Token counts from the LLM server (estimated only if it reports none)."""
        text_in = answer_usage.prompt_tokens or sum(
            estimate_text_tokens(str(m["content"])) for m in messages)
        text_out = tool_usage.completion_tokens + (
            answer_usage.completion_tokens or estimate_text_tokens(reply))
        audio_in = _audio_tokens(self.heard_seconds)
        prompt = [ModalityTokenCount(modality="TEXT", token_count=text_in)]
        if audio_in:
            prompt.append(ModalityTokenCount(modality="AUDIO", token_count=audio_in))
        response = [ModalityTokenCount(modality="TEXT", token_count=text_out)]
        if speaking is not None:  # the words were spoken: the reply is audio
            audio_out = _audio_tokens(speaking.audio_seconds)
            response = [ModalityTokenCount(modality="AUDIO", token_count=audio_out)]
            if tool_usage.completion_tokens:  # function calls are text
                response.append(ModalityTokenCount(
                    modality="TEXT", token_count=tool_usage.completion_tokens))
            text_out = audio_out + tool_usage.completion_tokens
        tool_prompt = tool_usage.prompt_tokens
        total = text_in + audio_in + text_out + tool_prompt
        return UsageMetadata(
            prompt_token_count=text_in + audio_in, response_token_count=text_out,
            tool_use_prompt_token_count=tool_prompt or None, total_token_count=total,
            prompt_tokens_details=prompt, response_tokens_details=response)
