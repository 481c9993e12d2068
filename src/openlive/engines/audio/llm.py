"""In-process LLM (llama.cpp through xllamacpp), default Qwen2.5-Coder-0.5B-Instruct Q4_K_M.

* :meth:`LocalLLM.stream` — streamed chat completion, yields text deltas.
* :meth:`LocalLLM.choose_tool` — grammar-constrained tool choice. Qwen2.5-Coder does not
  emit llama.cpp's native ``<tool_call>`` tags reliably, so the model is forced (via a JSON
  schema, LLGuidance inside llama.cpp) to answer ``{"tool": <name>, "arguments": {...}}``
  with ``"none"`` as one allowed tool (spec/models.md: 6/6 on its tool test set).

The ``xllamacpp.Server`` is shared per (model, n_ctx, threads); llama.cpp queues
concurrent requests on its slots. Calls block: run them in a thread from async code.
"""

from __future__ import annotations

import json
import os
import queue
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .models import llm_model_path

__all__ = ["LocalLLM", "ToolChoice", "tool_choice_schema", "load_llama"]

_servers: dict[tuple[Any, ...], Any] = {}
_lock = threading.Lock()
_DONE = object()


def load_llama(model: str | os.PathLike[str] | None = None, *, n_ctx: int = 4096,
               threads: int = 2, cache: str | os.PathLike[str] | None = None) -> Any:
    """The shared ``xllamacpp.Server`` for these settings (loaded on first use)."""
    path = llm_model_path(model, cache=cache)
    key = (str(path), n_ctx, threads)
    with _lock:
        server = _servers.get(key)
        if server is None:
            import xllamacpp as xlc

            p = xlc.CommonParams()
            p.model.path = str(path)
            p.n_ctx = n_ctx
            p.cpuparams.n_threads = p.cpuparams_batch.n_threads = threads
            p.use_jinja = True
            p.offline = True  # never fetch anything
            p.sampling.temp = 0
            p.verbosity = -1  # llama.cpp's own log: errors only
            server = xlc.Server(p)
            _servers[key] = server
        return server


@dataclass(frozen=True)
class ToolChoice:
    name: str | None  # None: the model chose no tool
    arguments: dict[str, Any] = field(default_factory=dict)


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


def _tool_prompt(tools: Sequence[Mapping[str, Any]]) -> str:
    lines = ["Decide whether the user's last message needs one of these tools.",
             'Reply with JSON {"tool": name, "arguments": {...}}, or {"tool": "none"} if no '
             "tool fits."]
    for t in tools:
        props = (t.get("parameters") or {}).get("properties", {})
        args = ", ".join(f"{k}: {v.get('type', 'any')}" for k, v in props.items())
        lines.append(f"- {t['name']}({args}): {t.get('description', '')}".rstrip(": "))
    return "\n".join(lines)


class LocalLLM:
    def __init__(self, model: str | os.PathLike[str] | None = None, *, n_ctx: int = 4096,
                 threads: int = 2, cache: str | os.PathLike[str] | None = None) -> None:
        self.server = load_llama(model, n_ctx=n_ctx, threads=threads, cache=cache)

    def complete(self, messages: Sequence[Mapping[str, Any]], *, max_tokens: int = 256,
                 **extra: Any) -> str:
        r = self.server.handle_chat_completions(
            {"messages": list(messages), "max_tokens": max_tokens, **extra})
        if "error" in r:
            raise RuntimeError(f"llama.cpp: {r['error']}")
        return r["choices"][0]["message"].get("content") or ""

    def stream(self, messages: Sequence[Mapping[str, Any]], *, max_tokens: int = 256,
               **extra: Any) -> Iterator[str]:
        """Yield content deltas as llama.cpp produces them (generation runs in a thread)."""
        q: queue.Queue[Any] = queue.Queue()

        def run() -> None:
            try:
                r = self.server.handle_chat_completions(
                    {"messages": list(messages), "max_tokens": max_tokens, "stream": True,
                     **extra}, q.put)
                if isinstance(r, dict) and "error" in r:
                    q.put(RuntimeError(f"llama.cpp: {r['error']}"))
            except Exception as e:  # surfaced in the consumer
                q.put(e)
            finally:
                q.put(_DONE)

        threading.Thread(target=run, name="llm-stream", daemon=True).start()
        while (item := q.get()) is not _DONE:
            if isinstance(item, Exception):
                raise item
            if "error" in item:
                raise RuntimeError(f"llama.cpp: {item['error']}")
            for choice in item.get("choices", []):
                text = (choice.get("delta") or {}).get("content")
                if text:
                    yield text

    def choose_tool(self, messages: Sequence[Mapping[str, Any]],
                    tools: Sequence[Mapping[str, Any]], *, max_tokens: int = 128) -> ToolChoice:
        """Grammar-constrained: which tool (if any) and its arguments."""
        msgs = [{"role": "system", "content": _tool_prompt(tools)},
                *[m for m in messages if m.get("role") != "system"]]
        text = self.complete(msgs, max_tokens=max_tokens, response_format={
            "type": "json_object", "schema": tool_choice_schema(tools)})
        data = json.loads(text)
        name = data.get("tool")
        if not name or name == "none":
            return ToolChoice(None)
        return ToolChoice(name, dict(data.get("arguments") or {}))
