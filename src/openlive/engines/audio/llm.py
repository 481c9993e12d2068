"""In-process LLM (llama.cpp through xllamacpp), default Qwen2.5-Coder-0.5B-Instruct Q4_K_M.

* :meth:`LocalLLM.stream` — streamed chat completion, yields text deltas.
* :meth:`LocalLLM.choose_tool` — grammar-constrained tool choice. Qwen2.5-Coder does not
  emit llama.cpp's native ``<tool_call>`` tags reliably, so the model is forced (via a JSON
  schema, LLGuidance inside llama.cpp) to answer ``{"tool": <name>, "arguments": {...}}``
  with ``"none"`` as one allowed tool (spec/models.md: 6/6 on its tool test set).

Both record llama.cpp's own token counts (its tokenizer, the chat template applied) in a
:class:`Usage` when given one. :meth:`LocalLLM.astream` / :meth:`LocalLLM.achoose_tool` are
the async interface the local engine uses (shared with
:class:`~openlive.engines.audio.openai_llm.OpenAILLM`, the HTTP back end).

The ``xllamacpp.Server`` is shared per (model, n_ctx, threads); llama.cpp queues
concurrent requests on its slots. Calls block: the async methods run them in a thread.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import os
import queue
import threading
import time
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from .models import llm_model_path

__all__ = ["LocalLLM", "ToolChoice", "Usage", "load_llama", "tool_choice_schema"]

log = logging.getLogger("openlive.local")
_servers: dict[tuple[Any, ...], Any] = {}
_lock = threading.Lock()
_DONE = object()


#: Requests llama.cpp decodes side by side (its slots). With one slot, sessions queue
#: behind each other's whole answers: with 4 voice sessions a short answer's first token
#: came after 5.0-5.6 s; with 4 slots after 0.85-0.96 s (continuous batching).
PARALLEL = 4

#: Threads that wait on llama.cpp (a streamed answer's next delta, a tool choice, an
#: end-of-turn score). Each blocks while llama.cpp has no free slot, so they have a pool of
#: their own: on the event loop's default executor (6 threads on 2 cores) waiting answers
#: starved speech recognition and synthesis (one recognition waited 42 s behind queued
#: answers begun at pauses; bench/voice_quality.py --set pauses --silence-ms 800).
LLM_WAITS = ThreadPoolExecutor(max_workers=64, thread_name_prefix="llm-wait")


def load_llama(model: str | os.PathLike[str] | None = None, *, n_ctx: int = 4096,
               threads: int = 2, cache: str | os.PathLike[str] | None = None,
               parallel: int = PARALLEL) -> Any:
    """The shared ``xllamacpp.Server`` for these settings (loaded on first use); ``n_ctx``
    is each of the ``parallel`` slots' context."""
    path = llm_model_path(model, cache=cache)
    key = (str(path), n_ctx, threads, parallel)
    with _lock:
        server = _servers.get(key)
        if server is None:
            import xllamacpp as xlc

            started = time.monotonic()
            log.info("loading the LLM %s (%.0f MB, %d threads, %d slots)…", path.name,
                     path.stat().st_size / 1e6, threads, parallel)
            server = xlc.Server(llama_params(path, n_ctx=n_ctx, threads=threads,
                                             parallel=parallel))
            log.info("LLM loaded in %.1f s", time.monotonic() - started)
            _servers[key] = server
        return server


def llama_params(path: str | os.PathLike[str], *, n_ctx: int = 4096, threads: int = 2,
                 parallel: int = PARALLEL) -> Any:
    """The ``xllamacpp.CommonParams`` openlive runs the GGUF at ``path`` with: ``parallel``
    slots of ``n_ctx`` tokens each, greedy unless a request says otherwise, offline."""
    import xllamacpp as xlc

    p = xlc.CommonParams()
    p.model.path = str(path)
    p.n_ctx = n_ctx * parallel  # split evenly between the slots
    p.n_parallel = parallel
    p.cpuparams.n_threads = p.cpuparams_batch.n_threads = threads
    # threads wait for work without polling: the LLM shares the cores with Whisper and
    # Piper (see tts._load_voice for what spinning waits cost; alone it costs nothing)
    p.cpuparams.poll = p.cpuparams_batch.poll = 0
    p.use_jinja = True
    p.offline = True  # never fetch anything
    p.sampling.temp = 0
    p.verbosity = -1  # llama.cpp's own log: errors only
    return p


@dataclass(frozen=True)
class ToolChoice:
    name: str | None  # None: the model chose no tool
    arguments: dict[str, Any] = field(default_factory=dict)


@dataclass
class Usage:
    """Token counts reported by the LLM server (summed over the calls that share it)."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    finish_reason: str | None = None  # a streamed answer's last ("stop", "length")

    def add(self, usage: Mapping[str, Any] | None) -> None:
        if usage:
            self.prompt_tokens += int(usage.get("prompt_tokens") or 0)
            self.completion_tokens += int(usage.get("completion_tokens") or 0)


def tool_choice_schema(tools: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """JSON schema: one of ``{"tool": name, "arguments": <that tool's parameters>}`` or
    ``{"tool": "none"}``. ``tools`` are function declarations (name, parameters)."""
    options: list[dict[str, Any]] = []
    for t in tools:
        params = dict(t.get("parameters") or t.get("parametersJsonSchema")
                      or {"type": "object", "properties": {}})
        options.append({"type": "object",
                        "properties": {"tool": {"const": t["name"]}, "arguments": params},
                        "required": ["tool", "arguments"]})
    options.append({"type": "object", "properties": {"tool": {"const": "none"}},
                    "required": ["tool"]})
    return {"anyOf": options}


def tool_prompt(tools: Sequence[Mapping[str, Any]]) -> str:
    lines = ["Decide whether the user's last message needs one of these tools.",
             'Reply with JSON {"tool": name, "arguments": {...}}, or {"tool": "none"} if no '
             "tool fits, or if a tool result already answers it."]
    for t in tools:
        props = (t.get("parameters") or {}).get("properties", {})
        args = ", ".join(f"{k}: {v.get('type', 'any')}" for k, v in props.items())
        lines.append(f"- {t['name']}({args}): {t.get('description', '')}".rstrip(": "))
    return "\n".join(lines)


class LocalLLM:
    #: runs on this machine's cores, beside speech recognition and synthesis
    in_process = True

    def __init__(self, model: str | os.PathLike[str] | None = None, *, n_ctx: int = 4096,
                 threads: int = 2, cache: str | os.PathLike[str] | None = None,
                 parallel: int | None = None) -> None:
        self.server = load_llama(model, n_ctx=n_ctx, threads=threads, cache=cache,
                                 parallel=parallel or PARALLEL)

    def describe(self) -> str:
        return "llama.cpp in-process"

    def complete(self, messages: Sequence[Mapping[str, Any]], *, max_tokens: int = 256,
                 usage: Usage | None = None, **extra: Any) -> str:
        r = self.server.handle_chat_completions(
            {"messages": list(messages), "max_tokens": max_tokens, **extra})
        if "error" in r:
            raise RuntimeError(f"llama.cpp: {r['error']}")
        if usage is not None:
            usage.add(r.get("usage"))
        return r["choices"][0]["message"].get("content") or ""

    def stream(self, messages: Sequence[Mapping[str, Any]], *, max_tokens: int = 256,
               usage: Usage | None = None, stop: threading.Event | None = None,
               **extra: Any) -> Iterator[str]:
        """Yield content deltas as llama.cpp produces them (generation runs in a thread).
        Setting ``stop`` (or closing the iterator) ends the generation at the next token."""
        q: queue.Queue[Any] = queue.Queue()
        stop = stop or threading.Event()

        def on_chunk(item: Any) -> bool:
            q.put(item)
            return stop.is_set()  # True: llama.cpp stops generating

        def run() -> None:
            try:
                r = self.server.handle_chat_completions(
                    {"messages": list(messages), "max_tokens": max_tokens, "stream": True,
                     "stream_options": {"include_usage": True}, **extra}, on_chunk)
                if isinstance(r, dict) and "error" in r:
                    q.put(RuntimeError(f"llama.cpp: {r['error']}"))
            except Exception as e:  # surfaced in the consumer
                q.put(e)
            finally:
                q.put(_DONE)

        threading.Thread(target=run, name="llm-stream", daemon=True).start()
        try:
            while (item := q.get()) is not _DONE:
                if isinstance(item, Exception):
                    raise item
                if "error" in item:
                    raise RuntimeError(f"llama.cpp: {item['error']}")
                if usage is not None:
                    usage.add(item.get("usage"))
                for choice in item.get("choices", []):
                    if usage is not None and choice.get("finish_reason"):
                        usage.finish_reason = choice["finish_reason"]
                    text = (choice.get("delta") or {}).get("content")
                    if text:
                        yield text
        finally:
            stop.set()

    def choose_tool(self, messages: Sequence[Mapping[str, Any]],
                    tools: Sequence[Mapping[str, Any]], *, max_tokens: int = 128,
                    usage: Usage | None = None) -> ToolChoice:
        """Grammar-constrained: which tool (if any) and its arguments."""
        text = self.complete(tool_messages(messages, tools), max_tokens=max_tokens,
                             usage=usage, response_format={
                                 "type": "json_object", "schema": tool_choice_schema(tools)})
        return parse_tool_choice(text)

    # ------------------------------------------------------------- async interface

    async def astream(self, messages: Sequence[Mapping[str, Any]], *,
                      usage: Usage | None = None, stop: threading.Event | None = None,
                      **params: Any) -> AsyncIterator[str]:
        """:meth:`stream` from async code. Setting ``stop`` ends the generation at the
        next token (it is also set when this consumer goes away, e.g. on barge-in)."""
        stop = stop or threading.Event()
        it = iter(self.stream(messages, usage=usage, stop=stop, **params))
        try:
            loop = asyncio.get_running_loop()
            while True:
                delta = await loop.run_in_executor(LLM_WAITS, next, it, None)
                if delta is None:
                    return
                yield delta
        finally:
            stop.set()

    async def achoose_tool(self, messages: Sequence[Mapping[str, Any]],
                           tools: Sequence[Mapping[str, Any]], *,
                           usage: Usage | None = None) -> ToolChoice:
        return await asyncio.get_running_loop().run_in_executor(
            LLM_WAITS, functools.partial(self.choose_tool, messages, tools, usage=usage))

    async def aclose(self) -> None:
        """Nothing to release: the llama.cpp server is shared by the process."""


def tool_messages(messages: Sequence[Mapping[str, Any]],
                  tools: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The conversation with the tool-choice instruction as its system message."""
    return [{"role": "system", "content": tool_prompt(tools)},
            *[dict(m) for m in messages if m.get("role") != "system"]]


def parse_tool_choice(text: str) -> ToolChoice:
    """``{"tool": name, "arguments": {...}}`` (or ``"none"``) -> a :class:`ToolChoice`;
    text that is not such JSON counts as no tool."""
    try:
        data = json.loads(text)
    except ValueError:
        return ToolChoice(None)
    if not isinstance(data, dict):
        return ToolChoice(None)
    name = data.get("tool")
    if not isinstance(name, str) or not name or name == "none":
        return ToolChoice(None)
    args = data.get("arguments")
    return ToolChoice(name, dict(args) if isinstance(args, dict) else {})
