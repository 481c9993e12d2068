"""Write every session as it runs: DIR/<timestamp>-<session>.jsonl (audio included).

Each JSONL line is one JSON object: ``{"t": seconds since the session opened (monotonic;
frames sent or received in one event-loop pass share one t), "direction": "open" |
"client" | "server" | "close", ...}``; client and server lines hold
the message JSON under ``"message"`` (a client frame that is not JSON is kept as text under
``"invalid"``, and so is one nested too deeply for Python's json to rebuild). Every line
is flushed as it is written, so a crash loses nothing already recorded. A line holding a
lone surrogate (a ``"\\ud800"`` escape), which UTF-8 cannot hold, is written ASCII-escaped:
the recorder never drops a message for what it holds. Files are created 0600 and the
directory, when the recorder creates it, 0700, whatever the umask. The WebSocket
handshake (URL query, headers: API keys and tokens) is never written: the ``open`` line
says only which kind of credential was used. Session resumption handles are bearer
credentials too: ``sessionResumptionUpdate.newHandle`` and
``setup.sessionResumption.handle`` are written as :func:`handle_digest` (``"sha256:"`` and
12 hex digits), so a recording still shows which handle resumed which session. The
``close`` line holds the close code and, when the server knows it, the reason.

Audio is stored once, base64 in its message as it was sent. ``Recorder(DIR, wav=True)``
also writes it as it runs to ``<stem>.client.wav`` (the app's input, usually 16 kHz) and
``<stem>.server.wav`` (the model's output, usually 24 kHz), and :func:`export_audio`
(``openlive recordings audio FILE``) writes the same files from a recording afterwards:
16-bit mono PCM, the header updated on every write so the file is valid at every moment. A
chunk at another rate than the side's first one goes to ``<stem>.<side>.<rate>.wav``.
Client audio is read as the session core reads it (:func:`client_audio`): no mime type is
16 kHz PCM, and of the deprecated ``mediaChunks`` only the first counts.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import json
import logging
import os
import time
import wave
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO, TextIO

from ..wire.pcm import pcm_rate_or_none

log = logging.getLogger("openlive.recording")

_SECRET_KEYS = frozenset(("key", "apikey", "api_key", "access_token", "accesstoken",
                          "authorization", "x-goog-api-key", "token"))


def _b64(data: Any) -> bytes:
    if not isinstance(data, str):
        return b""
    text = data.replace("-", "+").replace("_", "/")
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return b""


def _get(obj: dict, camel: str) -> Any:
    """A field under its camelCase or snake_case name (clients may send either)."""
    if camel in obj:
        return obj[camel]
    snake = "".join("_" + c.lower() if c.isupper() else c for c in camel)
    return obj.get(snake)


def _private_file(path: Path, *, exclusive: bool = False) -> int:
    """Create (or truncate) ``path`` readable and writable by its owner only, whatever the
    umask (which can only narrow the mode ``os.open`` is given, so the file is never wider
    than 0600, even for a moment); the descriptor, open for writing."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | (os.O_EXCL if exclusive else 0)
    fd = os.open(path, flags, 0o600)
    try:
        os.chmod(fd if os.chmod in os.supports_fd else path, 0o600)
    except BaseException:
        os.close(fd)
        raise
    return fd


def private_directory(directory: Path) -> None:
    """Create ``directory`` (and its parents) if missing; the one created is 0700, whatever
    the umask. A directory that exists already keeps its mode: the files are 0600."""
    if directory.is_dir():
        return
    directory.parent.mkdir(parents=True, exist_ok=True)
    try:
        directory.mkdir(mode=0o700)
    except FileExistsError:  # made meanwhile by another worker process
        return
    os.chmod(directory, 0o700)


def handle_digest(handle: str) -> str:
    """A resumption handle as recordings hold it: stable, short, not usable to resume."""
    raw = handle.encode("utf-8", "surrogatepass")  # a lone surrogate must not fail it
    return "sha256:" + hashlib.sha256(raw).hexdigest()[:12]


def _hide_handle(obj: Any, camel: str) -> None:
    if not isinstance(obj, dict):
        return
    snake = "".join("_" + c.lower() if c.isupper() else c for c in camel)
    for key in {camel, snake}:  # ("handle" is both)
        if isinstance(obj.get(key), str):
            obj[key] = handle_digest(obj[key])


def redact(direction: str, message: Any) -> Any:
    """``message`` with its resumption handles replaced by their digests (in place)."""
    if not isinstance(message, dict):
        return message
    if direction == "server":
        _hide_handle(message.get("sessionResumptionUpdate"), "newHandle")
    else:
        setup = _get(message, "setup")
        if isinstance(setup, dict):
            _hide_handle(_get(setup, "sessionResumption"), "handle")
    return message


def client_audio(message: dict) -> list[tuple[bytes, int]]:
    """(PCM bytes, rate) of the audio in one client message, as the session core hears it:
    the first ``mediaChunks`` entry only (the deprecated field: the rest are ignored), then
    ``audio``; a blob without a mime type is 16 kHz PCM; an image is not audio; audio the
    core refuses (not PCM, a rate out of range) is left out."""
    realtime = _get(message, "realtimeInput")
    if not isinstance(realtime, dict):
        return []
    chunks = _get(realtime, "mediaChunks")
    blobs = (chunks[:1] if isinstance(chunks, list) else []) + [_get(realtime, "audio")]
    out = []
    for blob in blobs:
        if not isinstance(blob, dict):
            continue
        mime = _get(blob, "mimeType")
        if isinstance(mime, str) and mime.startswith("image/"):
            continue  # a video frame sent as a media chunk
        rate = pcm_rate_or_none(mime if isinstance(mime, str) else None)
        if rate is not None:
            out.append((_b64(blob.get("data")), rate))
    return out


def server_audio(message: dict) -> list[tuple[bytes, int]]:
    """(PCM bytes, rate) of the audio in one server message."""
    content = message.get("serverContent")
    if not isinstance(content, dict):
        return []
    out = []
    for part in (content.get("modelTurn") or {}).get("parts") or []:
        blob = part.get("inlineData") if isinstance(part, dict) else None
        mime = blob.get("mimeType") if isinstance(blob, dict) else None
        if isinstance(mime, str) and mime:  # the model's audio always names its type
            rate = pcm_rate_or_none(mime, default=24_000)
            if rate is not None:
                out.append((_b64(blob.get("data")), rate))
    return out


#: ``before_record(direction, message)``: called with each client or server message (a
#: dict, resumption handles already hidden) before it is written; returns the message to
#: write (changed in place or a new one), or None to leave that message out.
BeforeRecord = Callable[[str, dict], "dict | None"]


class SessionLines:
    """The lines of one recorded session (the JSONL format above), handed to
    :meth:`write`; :class:`_SessionFile` writes them to a file, the cassette recorder
    (:mod:`openlive.recording.cassette`) keeps them for the test's one file."""

    def __init__(self, name: str, info: dict, before_record: BeforeRecord | None = None
                 ) -> None:
        self.start = time.monotonic()
        self.before_record = before_record
        self._burst: float | None = None  # the t of frames in this event-loop pass
        safe = {k: v for k, v in info.items() if k.lower() not in _SECRET_KEYS}
        self.write({"t": 0.0, "direction": "open", "session": name,
                    "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), **safe})

    def write(self, record: dict) -> None:
        raise NotImplementedError

    def audio(self, side: str, pcm: bytes, rate: int) -> None:
        """Audio of one message (only the file recorder keeps it a second time, as WAV)."""

    def _stamp(self) -> float:
        """Seconds since the session opened; frames of one event-loop pass share the first
        one's time: no I/O was read between them (nothing the peer did in reply to one could
        have come before the next), so they were sent in one go, and a replay must send
        them so too. The time the recorder itself takes to write them is not the session's."""
        if self._burst is not None:
            return self._burst
        t = round(time.monotonic() - self.start, 6)
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # called outside an event loop: every frame has its own time
            return t
        self._burst = t
        loop.call_soon(self._end_burst)
        return t

    def _end_burst(self) -> None:
        self._burst = None

    def frame(self, direction: str, frame: str | bytes) -> None:
        t = self._stamp()
        try:
            message = json.loads(frame)
            message = redact(direction, message)
        except (ValueError, RecursionError):  # not JSON, or nested too deep to rebuild
            text = frame.decode("utf-8", "replace") if isinstance(frame, bytes) else frame
            self.write({"t": t, "direction": direction, "invalid": text})
            return
        if self.before_record is not None and isinstance(message, dict):
            message = self.before_record(direction, message)
            if message is None:
                return
        self.write({"t": t, "direction": direction, "message": message})
        if isinstance(message, dict):
            chunks = client_audio(message) if direction == "client" else server_audio(message)
            for pcm, rate in chunks:
                self.audio(direction, pcm, rate)

    def closing_record(self, info: dict) -> dict:
        t = round(time.monotonic() - self.start, 6)
        return {"t": t, "direction": "close",
                **{k: v for k, v in info.items() if v is not None or k == "code"}}


class _SessionFile(SessionLines):
    def __init__(self, directory: Path, label: str, info: dict,
                 before_record: BeforeRecord | None = None, wav: bool = False) -> None:
        self.directory = directory
        number = "".join(c for c in label if c.isdigit()) or "0"
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
        millis = f"{int(time.time() * 1000) % 1000:03d}"
        base = f"{stamp}.{millis}Z-s{number}"
        self.stem = base
        n = 1
        while True:
            try:
                fd = _private_file(directory / f"{self.stem}.jsonl", exclusive=True)
                break
            except FileExistsError:  # another worker process, same millisecond and number
                n += 1
                self.stem = f"{base}-{os.getpid()}-{n}"
        self.file: TextIO = os.fdopen(fd, "w", encoding="utf-8")
        self.wav = WavFiles(directory, self.stem) if wav else None
        super().__init__(self.stem, info, before_record)

    def write(self, record: dict) -> None:
        self.file.write(json_line(record))
        self.file.flush()

    def audio(self, side: str, pcm: bytes, rate: int) -> None:
        if self.wav is not None:
            self.wav.audio(side, pcm, rate)

    def close(self, info: dict) -> None:
        self.write(self.closing_record(info))
        self.file.close()
        if self.wav is not None:
            self.wav.close()


class WavFiles:
    """A session's audio as WAV files beside its recording: ``<stem>.client.wav``,
    ``<stem>.server.wav``, ``<stem>.<side>.<rate>.wav`` for another rate than the side's
    first; 16-bit mono PCM, private (0600), the header patched on every write so that each
    file is valid at every moment."""

    def __init__(self, directory: Path, stem: str) -> None:
        self.directory, self.stem = directory, stem
        self.wavs: dict[tuple[str, int], wave.Wave_write] = {}
        self.files: list[BinaryIO] = []
        self.first_rate: dict[str, int] = {}
        self.paths: list[Path] = []

    def audio(self, side: str, pcm: bytes, rate: int) -> None:
        if not pcm:
            return
        first = self.first_rate.setdefault(side, rate)
        wav = self.wavs.get((side, rate))
        if wav is None:
            name = f"{self.stem}.{side}.wav" if rate == first else f"{self.stem}.{side}.{rate}.wav"
            self.paths.append(self.directory / name)
            file = os.fdopen(_private_file(self.paths[-1]), "wb")
            self.files.append(file)  # wave.open leaves a file it did not open to us
            wav = wave.open(file, "wb")
            wav.setnchannels(1)
            wav.setsampwidth(2)
            wav.setframerate(rate)
            self.wavs[(side, rate)] = wav
        wav.writeframes(pcm[: len(pcm) - len(pcm) % 2])  # patches the header each time
        wav._file.flush()  # noqa: SLF001 - the stdlib keeps the file private

    def close(self) -> None:
        for wav in self.wavs.values():
            wav.close()
        for file in self.files:
            file.close()


def export_audio(path: str | Path, directory: str | Path | None = None) -> list[Path]:
    """The audio held in the recording ``path`` written as WAV files (named as the recorder
    names them) in ``directory`` (default: beside it); the files written."""
    path = Path(path)
    folder = Path(directory) if directory is not None else path.parent
    private_directory(folder)
    out = WavFiles(folder, path.stem)
    try:
        for record in read_recording(path):
            message = record.get("message") if isinstance(record, dict) else None
            if not isinstance(message, dict):
                continue
            side = record.get("direction")
            chunks = (client_audio(message) if side == "client" else
                      server_audio(message) if side == "server" else [])
            for pcm, rate in chunks:
                out.audio(side, pcm, rate)
    finally:
        out.close()
    return out.paths


def json_line(record: dict) -> str:
    """One JSONL line: UTF-8 as it is; a line holding a lone surrogate (a "\\ud800" escape
    in a frame), which has no UTF-8 form, ASCII-escaped instead (it reads back the same)."""
    line = json.dumps(record, separators=(",", ":"), ensure_ascii=False)
    try:
        line.encode("utf-8")
    except UnicodeEncodeError:
        line = json.dumps(record, separators=(",", ":"))
    return line + "\n"


class Recorder:
    """A ``ServerConfig.observer`` that records every session under ``directory``;
    ``before_record`` (see :data:`BeforeRecord`) may change or leave out each message;
    ``wav``: also write each session's audio as WAV files as it runs (a second copy: the
    JSONL holds it; :func:`export_audio` writes the same files from it later)."""

    def __init__(self, directory: str | Path, *,
                 before_record: BeforeRecord | None = None, wav: bool = False) -> None:
        self.directory = Path(directory)
        self.before_record = before_record
        self.wav = wav
        private_directory(self.directory)
        self._open: dict[str, _SessionFile] = {}

    def __call__(self, label: str, direction: str, message: Any) -> None:
        try:
            if direction == "open":
                self._open[label] = _SessionFile(self.directory, label, dict(message),
                                                 self.before_record, self.wav)
                return
            session = self._open.get(label)
            if session is None:
                return
            if direction == "close":
                del self._open[label]
                session.close(dict(message))
            else:
                session.frame(direction, message)
        except Exception:  # a full disk must not take the session down
            log.exception("%s recording failed", label)

    def close(self) -> None:
        for label in list(self._open):
            self(label, "close", {"code": None, "note": "server stopped"})


def read_recording(path: str | Path) -> list[dict]:
    """The records of one JSONL recording (a last line cut by a crash is left out)."""
    records = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            try:
                records.append(json.loads(line))
            except ValueError:
                break
    return records
