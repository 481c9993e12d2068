"""The conversation history: token estimates and context-window compression.

``contextWindowCompression.slidingWindow`` (spec/protocol.md §2, "Context window
compression"; Google's Live API guide, "Context window compression"): past
``triggerTokens`` the oldest turns are dropped down to ``targetTokens``, and the window
always opens at the start of a user turn. Google does not publish its tokenizer: the
estimate is about 4 characters a token, as Google's docs estimate for English.

**The history is bounded by the model's input token limit.** Without compression a session
whose context outgrows the model's window ends: "Exceeding these limits without compression
will terminate the connection" (ai.google.dev/gemini-api/docs/live, "Maximum session
duration", quoted in github.com/pipecat-ai/pipecat pull 1701: "the Gemini API will
disconnect the session once the context limit is hit"). Google does not publish the Live
close for it: openlive closes with 1007 and the text Google's REST API gives for the same
excess, HTTP 400 INVALID_ARGUMENT "The input token count (N) exceeds the maximum number of
tokens allowed (M)." (quoted in github.com/tiann/hapi issue 711), INVALID_ARGUMENT being
1007 on the Live endpoint (spec/protocol.md §5). With compression the oldest turns go; a
context that still does not fit (one user turn larger than the window) ends the same way.

:class:`History` keeps a running token count, so that no check or compression recounts
the conversation: the work per message does not grow with its length.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from ..wire.content import Content
from ..wire.errors import LiveError
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


class History(list[Content]):
    """The conversation, oldest first, with each Content's tokens counted once, when it is
    added (:attr:`tokens` is their sum). Grow it only with :meth:`append`, :meth:`extend`
    and :meth:`replace`; :func:`compress` cuts it."""

    def __init__(self, items: Iterable[Content] = (),
                 count: Callable[[Content], int] = estimate_tokens) -> None:
        super().__init__()
        self.count = count
        self.sizes: list[int] = []
        self.tokens = 0
        self.extend(items)

    def append(self, content: Content) -> None:
        super().append(content)
        size = self.count(content)
        self.sizes.append(size)
        self.tokens += size

    def extend(self, items: Iterable[Content]) -> None:
        for content in items:
            self.append(content)

    def replace(self, items: Iterable[Content]) -> None:
        """Everything in it becomes ``items`` (a resumed session's history)."""
        del self[:]
        self.sizes, self.tokens = [], 0
        self.extend(items)

    def tail(self, start: int) -> History:
        """A History of ``self[start:]`` (the counts come along, nothing is recounted)."""
        kept = History(count=self.count)
        list.extend(kept, self[start:])
        kept.sizes = self.sizes[start:]
        kept.tokens = sum(kept.sizes)
        return kept


def context_exceeded(tokens: int, limit: int) -> LiveError:
    """The close of a session whose context outgrew the model's window (module docstring)."""
    return LiveError(1007, f"The input token count ({tokens}) exceeds the maximum number of "
                           f"tokens allowed ({limit}).")


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
    if isinstance(history, History):  # counted once, when each part was added
        sizes, total = history.sizes, fixed + history.tokens
    else:
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
    start = min(cut, last_user)
    return history.tail(start) if isinstance(history, History) else history[start:]
