"""A recording (``serve --record``) read as what to replay: the setup it answers, then steps.

A step is one run of server messages and the client message that preceded it, its
trigger: a significant client message (setup, clientContent, realtimeInput text or
activity, toolResponse…), compared with what the client sends, or a position in the
client's audio stream (seconds of realtimeInput audio since the session began), since
audio is matched by where the recorded turn boundary fell, never by its bytes. No I/O
beyond reading the file; no clocks.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...recording.describe import shorten
from ...recording.recorder import client_audio, read_recording
from ...wire.codec import parse_client_frame
from ...wire.errors import LiveError

# realtimeInput keys that carry media: neither compared nor counted as a turn
_MEDIA = frozenset(("audio", "video", "mediaChunks", "media_chunks"))


class RecordingError(Exception):
    """A recording cannot be replayed (the message names the file and why)."""


@dataclass
class Step:
    """Server messages (seconds after the trigger, message) sent once the trigger is met."""

    trigger: int | None  # index of a significant client message (0 = setup); None: audio
    audio_at: float = 0.0  # the trigger when ``trigger`` is None: seconds of client audio
    replies: list[tuple[float, dict]] = field(default_factory=list)


@dataclass
class Recording:
    name: str
    setup: dict  # the setup as the client sent it (normalised), without the resume handle
    handle: str | None  # the digest of the handle it resumed with (None: a new session)
    turns: list[dict]  # the significant client messages after the setup (normalised)
    steps: list[Step]
    close: dict | None  # the close line, when the server closed (code other than 1000)


def normalise(message: Any) -> dict:
    """A client message as openlive's parser reads it: camelCase, one base64 flavour."""
    try:
        return parse_client_frame(json.dumps(message)).to_json_dict()
    except (LiveError, TypeError, ValueError, RecursionError):
        try:
            return {"invalid": message if isinstance(message, str) else json.dumps(message)}
        except (TypeError, ValueError, RecursionError):  # nested too deep to write again
            return {"invalid": "(a JSON value nested too deep)"}


def audio_seconds(message: Any) -> float | None:
    """Seconds of PCM audio in a media-only realtimeInput (0.0 for video), else None: the
    audio as the session core hears it (:func:`openlive.recording.recorder.client_audio`,
    by :func:`openlive.wire.pcm.pcm_rate`: no mime type is 16 kHz, one ``mediaChunks``
    entry at most), so that the replay's audio position moves as the recorded one did."""
    if not isinstance(message, dict) or len(message) != 1:
        return None
    body = message.get("realtimeInput", message.get("realtime_input"))
    if not isinstance(body, dict) or not body or not set(body) <= _MEDIA:
        return None
    return sum(len(pcm) / 2 / rate for pcm, rate in client_audio(message))


def split_setup(setup: dict) -> tuple[dict, str | None]:
    """(the setup without ``sessionResumption.handle``, that handle)."""
    setup = json.loads(json.dumps(setup))
    resumption = setup.get("sessionResumption")
    handle = resumption.pop("handle", None) if isinstance(resumption, dict) else None
    return setup, handle


def load_recording(path: Path) -> Recording:
    return recording_from_records(path.stem, path.name, read_recording(path))


def load_cassette(path: str | Path) -> list[Recording]:
    """Every session of one test's recording (:mod:`openlive.recording.cassette`), in the
    order they were recorded, named ``<stem>#1``, ``<stem>#2``…"""
    from ...recording.cassette import read_cassette

    path = Path(path)
    return [recording_from_records(f"{path.stem}#{i}", f"{path.name} (session {i})", lines)
            for i, lines in enumerate(read_cassette(path), 1)]


def recording_from_records(stem: str, shown: str, records: list[dict]) -> Recording:
    """One session's lines as a :class:`Recording`; ``shown`` names it in errors."""
    turns: list[dict] = []
    steps: list[Step] = []
    setup: dict | None = None
    current: Step | None = None
    t_trigger = 0.0
    audio = 0.0
    pending_audio: tuple[float, float] | None = None  # (position, time) of the last chunk
    close = None
    for r in records:
        direction, t = r.get("direction"), float(r.get("t", 0.0))
        if direction == "client":
            message = r.get("message")
            seconds = audio_seconds(message)
            if seconds is not None and setup is not None:
                audio += seconds
                pending_audio = (audio, t) if seconds else pending_audio
                continue
            normal = normalise(message) if "message" in r else {"invalid": r.get("invalid")}
            if setup is None:
                if "setup" not in normal:
                    raise RecordingError(f"{shown}: the first client message is not a setup")
                setup = normal["setup"]
                current = Step(trigger=0)
            else:
                turns.append(normal)
                current = Step(trigger=len(turns))
            steps.append(current)
            t_trigger, pending_audio = t, None
        elif direction == "server" and "message" in r:
            if pending_audio is not None:
                current = Step(trigger=None, audio_at=pending_audio[0])
                steps.append(current)
                t_trigger, pending_audio = pending_audio[1], None
            if current is None:
                raise RecordingError(f"{shown}: a server message before the setup")
            current.replies.append((max(0.0, t - t_trigger), r["message"]))
        elif direction == "close" and r.get("code") not in (None, 1000, 1005, 1006):
            close = r
    if setup is None:
        raise RecordingError(f"{shown}: no setup message (not a recording of a session?)")
    bare, handle = split_setup(setup)
    return Recording(stem, bare, handle, turns, steps, close)


def load_recordings(directory: str | Path, name: str | None = None) -> list[Recording]:
    """Every ``*.jsonl`` recording in ``directory`` by name (the time it was recorded), or
    only the one whose name (file stem) is ``name``."""
    directory = Path(directory)
    if not directory.is_dir():
        raise RecordingError(f"no such directory: {directory}")
    paths = sorted(directory.glob("*.jsonl"))
    if name is not None:
        paths = [p for p in paths if p.stem == name or p.name == name]
        if not paths:
            raise RecordingError(f"no recording named {name} in {directory}")
    if not paths:
        raise RecordingError(f"no recordings (*.jsonl) in {directory}")
    return [load_recording(p) for p in paths]


def first_difference(expected: Any, got: Any, path: str = "") -> str | None:
    """Where two JSON values first differ: ``"a.b[2]: expected X, got Y"`` (None if equal)."""
    if isinstance(expected, dict) and isinstance(got, dict):
        for key in list(expected) + [k for k in got if k not in expected]:
            if key not in got:
                return f"{path}{key}: missing (expected {_short(expected[key])})"
            if key not in expected:
                return f"{path}{key}: not expected (got {_short(got[key])})"
            found = first_difference(expected[key], got[key], f"{path}{key}.")
            if found:
                return found
        return None
    if isinstance(expected, list) and isinstance(got, list) and len(expected) == len(got):
        for i, (a, b) in enumerate(zip(expected, got, strict=True)):
            found = first_difference(a, b, f"{path.rstrip('.')}[{i}].")
            if found:
                return found
        return None
    if expected == got:
        return None
    return f"{path.rstrip('.') or 'message'}: expected {_short(expected)}, got {_short(got)}"


def _short(value: Any) -> str:
    return shorten(json.dumps(value, ensure_ascii=False), 40)
