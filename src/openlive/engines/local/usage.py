"""The local engine's ``usageMetadata``: the LLM server's own token counts (its tokenizer)
for text (estimated only if it reports none), and :data:`AUDIO_TOKENS_PER_SECOND` per second
of audio heard and spoken.
"""

from __future__ import annotations

import math
from typing import Any

from ...session.history import estimate_text_tokens
from ...wire.server_messages import ModalityTokenCount, UsageMetadata

AUDIO_TOKENS_PER_SECOND = 32  # Gemini's count for audio (ai.google.dev token docs)


def audio_tokens(seconds: float) -> int:
    return math.ceil(seconds * AUDIO_TOKENS_PER_SECOND - 1e-9) if seconds > 0 else 0


def usage_metadata(messages: list[dict[str, Any]], reply: str, tool_usage: Any,
                   answer_usage: Any, heard_seconds: float,
                   spoken_seconds: float | None) -> UsageMetadata:
    """One turn's token counts: ``messages`` the answer's prompt, ``reply`` its text,
    ``tool_usage``/``answer_usage`` the LLM's counts for the function choices and the
    answer, ``heard_seconds`` the session's audio received, ``spoken_seconds`` the reply's
    audio (None: the reply was text)."""
    text_in = answer_usage.prompt_tokens or sum(
        estimate_text_tokens(str(m["content"])) for m in messages)
    text_out = tool_usage.completion_tokens + (
        answer_usage.completion_tokens or estimate_text_tokens(reply))
    audio_in = audio_tokens(heard_seconds)
    prompt = [ModalityTokenCount(modality="TEXT", token_count=text_in)]
    if audio_in:
        prompt.append(ModalityTokenCount(modality="AUDIO", token_count=audio_in))
    response = [ModalityTokenCount(modality="TEXT", token_count=text_out)]
    if spoken_seconds is not None:  # the words were spoken: the reply is audio
        audio_out = audio_tokens(spoken_seconds)
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
