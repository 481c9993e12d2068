"""``--engine replay``: each connection is answered from a recording, message for message.

The replay works on whole connections, not model turns: what it sends is the recorded
server messages themselves (``setupComplete`` included), so it plugs in through the
server's pass-through hook (``pass_through``, as the relay does) instead of the session
core. See docs/recording.md for the matching rules.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ...recording.recorder import BeforeRecord
from ...session.admission import Gate
from ...websocket_edge import WebSocketEdge
from ...wire.setup import Setup
from ..base import Engine, EngineSession
from .connection import ReplayConnection
from .matching import Matcher
from .script import Recording, load_recordings
from .source import ReplaySource


class ReplayEngine(Engine):
    name = "replay"

    def __init__(self, recordings: str | Path | list[Recording], *, speed: float = 1.0,
                 name: str | None = None, matcher: Matcher | None = None,
                 before_record: BeforeRecord | None = None) -> None:
        """``recordings``: a directory of ``*.jsonl`` recordings (or loaded ones); ``speed``:
        recorded delays are divided by it (0: no waiting); ``name``: replay only the
        recording with this file stem; ``matcher``: how client messages are compared
        (fields ignored, a normalising function); ``before_record``: the hook the
        recordings were made with, applied to client messages before they are compared."""
        if speed < 0:
            raise ValueError("speed must be 0 (no waiting) or more")
        self.directory = None if isinstance(recordings, list) else Path(recordings)
        self.source = ReplaySource(recordings if isinstance(recordings, list)
                                   else load_recordings(recordings, name), speed,
                                   matcher=matcher or Matcher(), before_record=before_record)

    @property
    def recordings(self) -> list[Recording]:
        return self.source.recordings

    @property
    def speed(self) -> float:
        return self.source.speed

    def served_models(self) -> list[str]:
        models = set()
        for r in self.recordings:
            model = str(r.setup.get("model", ""))
            if model and not model.removeprefix("models/").startswith("gemini"):
                models.add(model.removeprefix("models/"))
        return sorted(models)

    def pass_through(self, edge: WebSocketEdge, gate: Gate, **context: Any) -> ReplayConnection:
        """The server's hook: this connection is replayed, not run by the session core."""
        return ReplayConnection(self.source, edge, gate, **context)

    def open_session(self, setup: Setup, model: str) -> EngineSession:
        raise RuntimeError("the replay engine answers whole connections (pass_through)")
