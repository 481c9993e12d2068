"""The LLM stage over HTTP: any OpenAI-compatible chat-completions endpoint (llama.cpp's
``llama-server``, vLLM, …), for deployments that run inference on other machines.

:class:`OpenAILLM` has the async interface of :class:`~openlive.engines.audio.llm.LocalLLM`
(``astream``, ``achoose_tool``), so the local engine uses either unchanged:

* ``astream`` — ``POST {url}/chat/completions`` with ``stream: true``; content deltas are
  read from the server-sent events as they arrive; ``stream_options.include_usage`` asks
  for the server's token counts (recorded in a :class:`~openlive.engines.audio.llm.Usage`).
* ``achoose_tool`` — which declared function to call, two ways (``tool_mode``):

  - ``"schema"`` (default): the same constrained choice as in-process — the reply must match
    ``{"tool": name, "arguments": <its parameters>}`` or ``{"tool": "none"}``, sent as an
    OpenAI ``response_format`` JSON schema (llama.cpp and vLLM enforce it with a grammar).
    Works with small models that do not emit native tool calls.
  - ``"native"``: OpenAI ``tools`` with ``tool_choice: "auto"``; the first entry of the
    reply's ``tool_calls`` is the choice (for models and servers with a tool-call parser).

:meth:`OpenAILLM.check` (at server start) says clearly when the endpoint cannot be reached.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

import aiohttp

from ..http_endpoint import OpenAIEndpoint
from . import stage_metrics
from .llm import ToolChoice, Usage, parse_tool_choice, tool_choice_schema, tool_messages
from .remote_backend import BackendError

__all__ = ["LLMEndpointError", "OpenAILLM"]

log = logging.getLogger("openlive.llm")

TOOL_MODES = ("schema", "native")


class LLMEndpointError(BackendError):
    """The HTTP endpoint failed or cannot be reached (the message names the URL)."""

    def __init__(self, message: str) -> None:
        super().__init__("llm", message)


class OpenAILLM(OpenAIEndpoint):
    WHAT = "LLM"
    ERROR = LLMEndpointError

    def __init__(self, url: str, *, model: str | None = None, api_key: str | None = None,
                 tool_mode: str = "schema", timeout: float = 120.0) -> None:
        if tool_mode not in TOOL_MODES:
            raise ValueError(f"tool_mode must be one of {TOOL_MODES}, not {tool_mode!r}")
        super().__init__(url, api_key=api_key, timeout=timeout)
        self.model = model
        self.tool_mode = tool_mode

    def describe(self) -> str:
        return f"{self.url} ({self.model or 'its default model'}, tools: {self.tool_mode})"

    # ------------------------------------------------------------------- requests

    def _body(self, messages: Sequence[Mapping[str, Any]], params: Mapping[str, Any]
              ) -> dict[str, Any]:
        return self._with_model({"messages": [dict(m) for m in messages], **params},
                                self.model)

    async def _post(self, body: dict[str, Any]) -> aiohttp.ClientResponse:
        try:
            return await self._post_once_or_twice(body)
        except LLMEndpointError:
            stage_metrics.backend_error("llm")
            raise

    async def _post_once_or_twice(self, body: dict[str, Any]) -> aiohttp.ClientResponse:
        for attempt in (1, 2):
            try:
                r = await self._client().post(self.url + "/chat/completions", json=body)
                break
            except (aiohttp.ClientOSError, aiohttp.ServerDisconnectedError) as exc:
                if attempt == 2 or isinstance(exc, aiohttp.ClientConnectorError):
                    raise LLMEndpointError(f"the LLM endpoint {self.url} failed: {exc}"
                                           ) from None
                log.debug("LLM endpoint dropped the connection (%s): retrying once", exc)
            except aiohttp.ClientError as exc:
                raise LLMEndpointError(f"the LLM endpoint {self.url} failed: {exc}") from None
        if r.status != 200:
            detail = (await r.text())[:300]
            r.release()
            raise LLMEndpointError(f"the LLM endpoint {self.url} answered HTTP {r.status}: "
                                   f"{detail}")
        return r

    async def complete(self, messages: Sequence[Mapping[str, Any]], *,
                       usage: Usage | None = None, **params: Any) -> dict[str, Any]:
        """One non-streamed chat completion: the reply's ``message``."""
        async with await self._post(self._body(messages, params)) as r:
            data = await r.json(content_type=None)
        if usage is not None:
            usage.add(data.get("usage"))
        choices = data.get("choices") or [{}]
        return choices[0].get("message") or {}

    async def astream(self, messages: Sequence[Mapping[str, Any]], *,
                      usage: Usage | None = None, **params: Any) -> AsyncIterator[str]:
        """Content deltas from a streamed chat completion (server-sent events)."""
        body = self._body(messages, {**params, "stream": True,
                                     "stream_options": {"include_usage": True}})
        async with await self._post(body) as r:
            async for raw in r.content:
                line = raw.decode("utf-8", "replace").strip()
                if not line.startswith("data:"):
                    continue
                payload = line[5:].strip()
                if payload == "[DONE]":
                    return
                try:
                    chunk = json.loads(payload)
                except ValueError:
                    continue
                if "error" in chunk:
                    raise LLMEndpointError(f"the LLM endpoint {self.url}: {chunk['error']}")
                if usage is not None:
                    usage.add(chunk.get("usage"))
                for choice in chunk.get("choices") or ():
                    text = (choice.get("delta") or {}).get("content")
                    if text:
                        yield text

    async def achoose_tool(self, messages: Sequence[Mapping[str, Any]],
                           tools: Sequence[Mapping[str, Any]], *,
                           usage: Usage | None = None) -> ToolChoice:
        if self.tool_mode == "native":
            message = await self.complete(
                messages, usage=usage, max_tokens=256, temperature=0, tool_choice="auto",
                tools=[{"type": "function", "function": dict(t)} for t in tools])
            for call in message.get("tool_calls") or ():
                fn = call.get("function") or {}
                try:
                    args = json.loads(fn.get("arguments") or "{}")
                except ValueError:
                    args = None  # not JSON: the engine's validation refuses it
                return ToolChoice(fn.get("name"), args if isinstance(args, dict) else
                                  {"_invalid": fn.get("arguments")})
            return ToolChoice(None)
        message = await self.complete(
            tool_messages(messages, tools), usage=usage, max_tokens=128, temperature=0,
            response_format={"type": "json_schema", "json_schema": {
                "name": "tool_choice", "schema": tool_choice_schema(tools)}})
        return parse_tool_choice(message.get("content") or "")

