"""One test's recording ("cassette", as VCR.py and pytest-recording call it): every session
a test opened, in one JSONL file, each session starting with its ``open`` line.

The lines are those of :mod:`openlive.recording.recorder` (the same reader, the same
``openlive recordings show``); audio is kept once, base64 in its message, with no WAV copy
beside it. The file is written when the test ends (:meth:`CassetteRecorder.save`), whole,
through a temporary file and a rename: an interrupted run never leaves half a cassette.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .recorder import (
    BeforeRecord,
    SessionLines,
    _private_file,
    json_line,
    private_directory,
    read_recording,
)


class RecordingFailed(Exception):
    """A test's sessions could not be recorded (the message says why)."""


class _Buffered(SessionLines):
    def __init__(self, name: str, info: dict, before_record: BeforeRecord | None) -> None:
        self.lines: list[dict] = []
        super().__init__(name, info, before_record)

    def write(self, record: dict) -> None:
        self.lines.append(record)


def split_sessions(records: list[dict]) -> list[list[dict]]:
    """The sessions of a cassette: each run of lines from one ``open`` line to the next (a
    file made by ``serve --record`` is one session)."""
    sessions: list[list[dict]] = []
    for record in records:
        if record.get("direction") == "open" or not sessions:
            sessions.append([])
        sessions[-1].append(record)
    return sessions


def read_cassette(path: str | Path) -> list[list[dict]]:
    """The sessions recorded in ``path``, in the order they opened."""
    return split_sessions(read_recording(path))


class CassetteRecorder:
    """A ``ServerConfig.observer`` that keeps every session of one test for ``path``.

    ``keep``: sessions already recorded, written first (``new_episodes``, ``all``);
    ``skip``: how many of the first sessions not to record (``new_episodes`` replays
    them); ``before_record``: see :data:`openlive.recording.recorder.BeforeRecord`.
    """

    def __init__(self, path: str | Path, *, keep: list[list[dict]] | None = None,
                 skip: int = 0, before_record: BeforeRecord | None = None) -> None:
        self.path = Path(path)
        self.keep = list(keep or [])
        self.skip = skip
        self.before_record = before_record
        self.sessions: list[_Buffered] = []  # new ones, in the order they opened
        self.error: Exception | None = None  # the first failure while recording
        self._open: dict[str, _Buffered] = {}

    def __call__(self, label: str, direction: str, message: Any) -> None:
        try:
            self._observe(label, direction, message)
        except Exception as exc:  # a before_record hook that fails: raised again by save()
            if self.error is None:
                self.error = exc

    def _observe(self, label: str, direction: str, message: Any) -> None:
        if direction == "open":
            if self.skip > 0:
                self.skip -= 1
                return
            number = len(self.keep) + len(self.sessions) + 1
            session = _Buffered(f"{self.path.stem}#{number}", dict(message), self.before_record)
            self.sessions.append(session)
            self._open[label] = session
            return
        session = self._open.get(label)
        if session is None:
            return
        if direction == "close":
            del self._open[label]
            session.write(session.closing_record(dict(message)))
        else:
            session.frame(direction, message)

    @property
    def recorded(self) -> int:
        """How many new sessions were recorded."""
        return len(self.sessions)

    def save(self) -> Path:
        """Write the cassette (kept sessions, then the new ones); a session still open is
        written as it is, with no ``close`` line. Private (0600), as every recording.
        Raises :class:`RecordingFailed` instead, writing nothing, when recording failed
        (a ``before_record`` hook raised): a recording with holes would not replay."""
        if self.error is not None:
            raise RecordingFailed(f"recording {self.path} failed: {self.error!r}") \
                from self.error
        private_directory(self.path.parent)
        temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        with os.fdopen(_private_file(temporary), "w", encoding="utf-8") as out:
            for lines in self.keep + [s.lines for s in self.sessions]:
                for record in lines:
                    out.write(json_line(record))
        os.replace(temporary, self.path)
        return self.path
