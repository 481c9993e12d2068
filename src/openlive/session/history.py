"""The conversation history: token estimates and context-window compression.

``contextWindowCompression.slidingWindow`` (spec/protocol.md §2, "Context window
compression"; Google's Live API guide, "Context window compression"): past
``triggerTokens`` the oldest turns are dropped down to ``targetTokens``, and the window
always opens at the start of a user turn. Google does not publish its tokenizer: the
estimate is about 4 characters a token, as Google's docs estimate for English.
"""

from __future__ import annotations

from collections.abc import Callable

from ..wire.content import Content
from ..wire.setup import Setup


def estimate_text_tokens(text: str) -> int:
    """About 4 characters a token, as Google's docs estimate for English."""
    return -(-len(text) // 4)


def estimate_tokens(content: Content) -> int:
    """Tokens in one Content by :func:`estimate_text_tokens` (the default tokenizer;
    engines pass their own)."""
    chars = 0
    for part in content.parts or ():
        if part.text:
            chars += len(part.text)
        elif part.function_call is not None or part.function_response is not None:
            chars += len(str((part.function_call or part.function_response).model_dump(
                exclude_none=True)))
        elif part.inline_data is not None and part.inline_data.data:
            chars += len(part.inline_data.data) // 8
    return -(-chars // 4)


def starts_user_turn(content: Content) -> bool:
    """A user's own words (not a model turn, not a tool response) can open the window."""
    if content.role == "model":
        return False
    return not any(p.function_response is not None for p in content.parts or ())


def compress(history: list[Content], setup: Setup | None, context_window: int,
             count: Callable[[Content], int]) -> list[Content]:
    """The history after sliding-window compression (the same list when nothing is cut).
    Without ``triggerTokens`` the trigger is 80 % of the context window and the target
    half the trigger. The system instruction is not part of the history and always stays
    (its tokens count toward the total), and so does the latest user turn."""
    cfg = setup and setup.context_window_compression
    if cfg is None or not history:
        return history
    trigger = cfg.trigger_tokens or int(context_window * 0.8)
    target = trigger // 2
    if cfg.sliding_window is not None and cfg.sliding_window.target_tokens is not None:
        target = min(cfg.sliding_window.target_tokens, trigger)
    system = setup.system_instruction if setup else None
    fixed = count(system) if system is not None else 0
    sizes = [count(c) for c in history]
    total = fixed + sum(sizes)
    if total <= trigger:
        return history
    cut = 0
    while cut < len(history) and total > target:
        total -= sizes[cut]
        cut += 1
    while cut < len(history) and not starts_user_turn(history[cut]):
        cut += 1  # a model turn or a tool response never opens the window
    # the turn being answered always stays (Google is silent; a window without the
    # question would leave the model nothing to answer)
    last_user = next((i for i in range(len(history) - 1, -1, -1)
                      if starts_user_turn(history[i])), 0)
    return history[min(cut, last_user):]
