"""Partial input transcripts: the ``inputTranscription`` deltas of one utterance while the
user speaks, built from successive recognitions so that no delta contradicts what was
already sent (:class:`PartialTranscript`).
"""

from __future__ import annotations

_TRAILING = ".,;:!?"


def _norm(word: str) -> str:
    return "".join(ch for ch in word.lower() if ch.isalnum() or ch == "'")


class PartialTranscript:
    """The ``inputTranscription`` deltas of one utterance, never contradicting what was sent.

    Rule: a word is sent while the user speaks only once two successive hypotheses agree on
    it (and on every word before it; words compared without case and punctuation), with the
    last sent word's trailing punctuation held back. The final transcription then adds what
    it has beyond the text sent: its remainder when it begins with that text, or its words
    beyond the sent words' count when it agrees on those words. If the final transcription
    disagrees with words already sent, the last message carries no new text (only
    ``finished: true``); the user's turn (the history) always holds the final text.
    """

    def __init__(self) -> None:
        self.sent = ""  # concatenation of the deltas sent so far
        self._sent_words: list[str] = []
        self._previous: list[str] | None = None

    def hypothesis(self, text: str) -> str:
        """A transcription of the utterance so far; returns the delta to send ('' if none)."""
        words = text.split()
        previous, self._previous = self._previous, words
        if previous is None:
            return ""
        agreed = 0
        while (agreed < min(len(words), len(previous))
               and _norm(words[agreed]) == _norm(previous[agreed])):
            agreed += 1
        n = len(self._sent_words)
        if agreed <= n or [_norm(w) for w in words[:n]] != [_norm(w) for w in self._sent_words]:
            return ""
        new = words[n:agreed]
        new[-1] = new[-1].rstrip(_TRAILING) or new[-1]
        delta = (" " if self.sent else "") + " ".join(new)
        self.sent += delta
        self._sent_words += new
        return delta

    def final(self, text: str) -> str:
        """The last delta for the utterance's final transcription ``text``."""
        if text.startswith(self.sent):
            delta = text[len(self.sent):]
        else:
            words = text.split()
            n = len(self._sent_words)
            if [_norm(w) for w in words[:n]] != [_norm(w) for w in self._sent_words]:
                return ""
            delta = (" " if self.sent and n < len(words) else "") + " ".join(words[n:])
        self.sent += delta
        return delta
