"""What the local LLM is asked: the system instruction and the whole conversation as OpenAI
chat messages (text turns, realtime text and transcribed speech share one history; function
calls and results as plain text; what was detected in the video, when there is video), and
``generationConfig`` (temperature, topP, topK, maxOutputTokens, seed) as sampling parameters.
"""

from __future__ import annotations

import json
from typing import Any

from ...wire.content import Content
from ...wire.setup import Setup

DEFAULT_MAX_TOKENS = 256


def _text(content: Content | None) -> str:
    return content.text() if content is not None else ""


def chat_messages(setup: Setup, history: list[Content], seen: str | None = None
                  ) -> list[dict[str, str]]:
    """The conversation in OpenAI chat form (function calls and results as plain text).
    ``seen``: what was detected in the user's video at this turn
    (:meth:`~openlive.engines.vision.description.Description.for_prompt`), put before the
    user's last words so the LLM reads it as context, not as something the user said."""
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
    if seen:
        if messages[-1]["role"] == "user":
            messages[-1]["content"] = f"{seen}\n\n{messages[-1]['content']}"
        else:
            messages.append({"role": "user", "content": seen})
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
