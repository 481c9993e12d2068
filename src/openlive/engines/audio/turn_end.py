"""Whether a transcript taken at a pause ends the user's turn (openlive's own rules).

Google documents no end-of-turn model, only that ``endOfSpeechSensitivity``
``END_SENSITIVITY_HIGH`` "ends speech more often" and ``END_SENSITIVITY_LOW`` "less
often" (ai.google.dev/api/live, spec/protocol.md). When the setup gives no
``silenceDurationMs``, the listener asks, at the first pause of 160 ms:

1. :func:`sounds_finished`, a lexical rule (no trailing "…", article, conjunction,
   preposition, possessive or auxiliary at the end);
2. if that passes and the engine has an in-process LLM, :class:`LLMTurnEnd`: the
   probability that the user's message ends here, read off the LLM's next-token
   distribution (the approach of LiveKit's turn detector, with the engine's own model, not a
   fine-tuned one). At or above :func:`end_threshold` the turn ends at once.

Otherwise the turn ends after :data:`SMART_END_SILENCE_MS` of silence. Measured on
bench/voice_quality.py's sets (docs/voice.md): an acoustic model (Smart Turn v3.2) did
not separate finished from paused synthetic speech, so none is used.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any, Protocol

#: Without ``silenceDurationMs`` in the setup, the turn ends at the first pause whose
#: transcript sounds finished, and otherwise after this much silence (openlive's own
#: choice: mid-sentence pauses of 300-700 ms are common, see bench/voice_quality.py
#: --set pauses; Google documents no default).
SMART_END_SILENCE_MS = 800

# A transcript ending in one of these words is unfinished ("Set a timer for …").
_UNFINISHED = frozenset("""
a an the and or but nor so because if when while whereas that which who whom whose whether
than as to for of in on at by with from about into onto over under after before between
through during without within towards toward near per via my your his her its our their
this these those some any every each no is are was were be been am do does did can could
would should will shall may might must have has had please um uh er erm hmm""".split())
# ... except an auxiliary that ends a question: "How many legs does a spider have?"
_AUXILIARIES = frozenset("""is are was were be been am do does did can could would should
will shall may might must have has had""".split())


def sounds_finished(text: str) -> bool:
    """Whether a transcript taken at a pause sounds like a complete turn: not trailing off
    (``...``, a dash) and not ending in an article, conjunction, preposition, possessive
    or auxiliary (unless a question mark follows it). Empty text (a cough, noise) counts
    as finished. A cheap lexical rule:
    "What is the best way" passes although more may follow."""
    t = text.strip()
    if not t:
        return True
    if t.endswith(("...", "…", "-", "—", ",")):
        return False
    words = t.lower().replace("’", "'").split()
    last = words[-1].strip(".?!,;:\"'()") if words else ""
    if t.endswith("?") and last in _AUXILIARIES:
        return True
    return last not in _UNFINISHED


#: P(the message ends here) at or above which the turn ends at the pause, by
#: ``endOfSpeechSensitivity`` (openlive's values, measured with bench/turn_end.py and
#: bench/voice_quality.py --set pauses; docs/voice.md). Google: HIGH "ends speech more
#: often", LOW "less often", and an unspecified sensitivity is HIGH on the Gemini API
#: (spec/protocol.md, from the SDK's enum docs): so the default is HIGH's value.
END_THRESHOLDS = {"END_SENSITIVITY_HIGH": 0.1, "END_SENSITIVITY_LOW": 0.3}
DEFAULT_END_THRESHOLD = END_THRESHOLDS["END_SENSITIVITY_HIGH"]


def end_threshold(sensitivity: str | None) -> float:
    return END_THRESHOLDS.get(sensitivity or "", DEFAULT_END_THRESHOLD)


class TurnEndScorer(Protocol):
    def p_end(self, text: str) -> float:
        """P(the user's message is complete after ``text``); blocking."""
        ...


#: The prompt up to the user's words: a system line that says messages are complete
#: spoken requests (without it, imperatives such as "Turn up the volume" scored low).
_PREFIX = ("<|im_start|>system\nYou are a voice assistant. Each user message is a complete "
           "spoken request, question or command, transcribed.<|im_end|>\n<|im_start|>user\n")
_TRAILING = re.compile(r"[\s.?!,;:…]+$")
_TOP = 20  # next tokens read


class LLMTurnEnd:
    """:class:`TurnEndScorer` on an in-process llama.cpp server (``xllamacpp.Server``) with
    a ChatML model (the shipped Qwen2.5): the probability, among the ``_TOP`` likeliest
    next tokens, of ending the message (``<|im_end|>``) or the sentence (a token starting
    with ``.``, ``?`` or ``!``), for the transcript without its final punctuation (Whisper
    puts a full stop after fragments too). One prompt-only request (1 token), about 60-120
    ms on 2 cores; the system line stays in llama.cpp's prompt cache.

    ``server``: returns the server (called in the scoring thread: it may load the model)."""

    def __init__(self, server: Callable[[], Any]) -> None:
        self.server = server

    def p_end(self, text: str) -> float:
        words = _TRAILING.sub("", text.strip())
        if not words:
            return 1.0
        r = self.server().handle_completions({
            "prompt": _PREFIX + words, "max_tokens": 1, "n_probs": _TOP, "temperature": 0,
            "cache_prompt": True})
        if "error" in r:
            raise RuntimeError(f"llama.cpp: {r['error']}")
        top = r["choices"][0]["logprobs"]["content"][0]["top_logprobs"]
        return sum(math.exp(t["logprob"]) for t in top
                   if t["token"] == "<|im_end|>" or t["token"].lstrip()[:1] in (".", "?", "!"))
