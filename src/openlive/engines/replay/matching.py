"""How the replay compares a client's message with the recorded one, tunable like VCR.py's
``match_on`` (https://vcrpy.readthedocs.io/en/latest/configuration.html#request-matching):
fields to ignore, and a function that normalises a message before the comparison. Both
sides go through the same :class:`Matcher`, after openlive's own normalisation (camelCase,
one base64 flavour: :func:`openlive.engines.replay.script.normalise`). No I/O.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from typing import Any

#: ``normalise(message) -> message``: a client message (normalised camelCase JSON) as it
#: should be compared; called on the recorded message and the one that came alike.
Normalise = Callable[[dict], dict]


def _drop(value: Any, path: list[str]) -> None:
    if not path:
        return
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        keys = list(value) if head == "*" else [head] if head in value else []
        for key in keys:
            if rest:
                _drop(value[key], rest)
            else:
                del value[key]
    elif isinstance(value, list) and (head == "*" or head.isdigit()):
        items = range(len(value)) if head == "*" else [int(head)]
        if not rest:
            for i in sorted((i for i in items if i < len(value)), reverse=True):
                del value[i]
            return
        for i in items:
            if i < len(value):
                _drop(value[i], rest)


class Matcher:
    """``ignore``: dotted paths into a client message, camelCase as the wire has them,
    ``*`` for every key or list item (``"setup.generationConfig.temperature"``,
    ``"clientContent.turns.*.parts.*.text"``); ``normalise``: any other change, applied
    after ``ignore``. ``Matcher()`` compares messages whole."""

    def __init__(self, ignore: Iterable[str] = (), normalise: Normalise | None = None) -> None:
        if isinstance(ignore, str):
            ignore = [ignore]
        self.ignore = [p.split(".") for p in ignore]
        for path in self.ignore:
            if not all(path):
                raise ValueError(f"match_ignore: an empty name in {'.'.join(path)!r}")
        self.normalise = normalise

    @property
    def exact(self) -> bool:
        return not self.ignore and self.normalise is None

    def key(self, message: dict) -> dict:
        """``message`` as it is compared (a copy; ``message`` is left as it was)."""
        if self.exact:
            return message
        out = copy.deepcopy(message)
        for path in self.ignore:
            _drop(out, path)
        if self.normalise is not None:
            out = self.normalise(out)
        return out

    def setup_key(self, setup: dict) -> dict:
        """A setup (the body, without ``sessionResumption.handle``) as it is compared."""
        return self.key({"setup": setup}).get("setup", {})

    def same(self, recorded: dict, got: dict) -> bool:
        return self.key(recorded) == self.key(got)
