"""One replayed connection: the client's messages checked against recordings, the recorded
server messages sent back as recorded, with their recorded timing.

The server has checked the client's credentials: a refusal (the :class:`Gate`'s deferred
error) closes the session at the client's first frame, as Google does. Then two tasks: the
reader takes each client frame (audio advances the audio position; any other message must
be the next one recorded, or the session closes with :data:`DIVERGED`), and the sender
walks the chosen recording's steps, waiting for each step's trigger, then sending its
messages at the recorded offsets divided by the speed.
Until a client message tells them apart, every recording whose messages so far are the
same stays a candidate; the first by name leads.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
from collections.abc import Callable
from typing import Any

from ...recording.describe import describe, shorten
from ...session.admission import Gate
from ...websocket_edge import WebSocketEdge, admit_first_frame
from ...wire.errors import INTERNAL, LiveError
from .script import Recording, audio_seconds, first_difference, normalise, split_setup
from .source import ReplaySource

log = logging.getLogger("openlive.replay")

#: The close code of a session whose client did not do what the recording did (an
#: application code, RFC 6455 §7.4.2: Google never sends it, so no test mistakes it for a
#: real protocol error; 409 as in HTTP's Conflict). docs/recording.md.
DIVERGED = 4409
_EPSILON = 1e-6  # seconds of audio: rounding between chunkings of the same stream
# Recorded messages within this span (recorded seconds) of a burst's first one are one
# burst, sent together when the first is due: the recorded server sent them together (a
# sleep between them would let a client that closes on the first, e.g. on turnComplete, end
# the session before the next: the recording holds it, the replay would not). The span is
# bounded, so no message goes out more than this early, however long a run of small gaps.
_BURST = 0.005


def encode_replayed(message: dict) -> bytes:
    """A recorded server message as a frame: compact JSON, ASCII only (non-ASCII as
    \\uXXXX), as :func:`openlive.wire.codec.encode_server_message` sends Google's: the
    cookbook's raw client decodes frames as ASCII. The message itself is sent as recorded,
    not re-parsed (a field openlive does not know is replayed too)."""
    return json.dumps(message, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def _kind(message: dict) -> str:
    """One short line for a client message (as ``openlive recordings show`` writes it)."""
    if "invalid" in message:
        return "a frame that is not a client message"
    return describe("client", message)


class ReplayConnection:
    def __init__(self, source: ReplaySource, edge: WebSocketEdge, gate: Gate, *,
                 api_version: str, store: Any) -> None:
        self.source = source  # the recordings, the speed, the handles issued
        self.edge = edge  # frames in and out (the server's observer sees them there)
        self.gate = gate  # the core's admission rules: credentials, token uses and expiry
        self.store = store  # where the token's uses are counted
        self.api_version = api_version
        self.label = edge.label
        self.candidates: list[Recording] = []
        self.turns = 0  # significant client messages matched after the setup
        self.turn_times: list[float] = []  # when each was matched (index 0: the setup)
        self.audio = 0.0  # seconds of client audio so far
        self.audio_times: list[tuple[float, float]] = []  # (position, when it was reached)
        self.steps_started = 0
        self._progress = asyncio.Event()
        self._sender: asyncio.Task[None] | None = None

    @property
    def lead(self) -> Recording:
        return self.candidates[0]

    @property
    def close_reason(self) -> str | None:
        return self.edge.close_reason

    # ----------------------------------------------------------------- main loop

    async def run(self) -> None:
        try:
            async for frame in self.edge.frames():
                try:
                    if self._sender is None:  # the first frame: admitted as by the core
                        await admit_first_frame(self.gate, frame, self.store)
                    self._receive(frame)
                except LiveError as exc:
                    if exc.detail:  # what the client's reason does not say (a spent token…)
                        log.info("%s refused: %s", self.label, exc.detail)
                    await self.close(exc.code, exc.reason)
                    break
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("%s replay failed", self.label)
            await self.close(1011, INTERNAL)
        finally:
            if self._sender is not None:
                self._sender.cancel()
                await asyncio.gather(self._sender, return_exceptions=True)

    async def close(self, code: int, reason: str) -> None:
        await self.edge.close(code, reason)  # once; the reason cut to what a frame holds

    # ----------------------------------------------------------- client messages

    def _receive(self, frame: str | bytes) -> None:
        now = time.monotonic()
        try:
            message: Any = json.loads(frame)
        except (ValueError, RecursionError):  # RecursionError: nested thousands deep
            text = frame.decode("utf-8", "replace") if isinstance(frame, bytes) else frame
            message, normal = None, {"invalid": text}
        else:
            seconds = audio_seconds(message) if self._sender is not None else None
            if seconds is not None:
                if seconds:
                    self.audio += seconds
                    self.audio_times.append((self.audio, now))
                    self._progress.set()
                return
            hook = self.source.before_record
            if hook is not None and isinstance(message, dict):
                message = hook("client", message)  # as the recorder wrote it
                if message is None:
                    return  # left out of the recording: not compared either
            normal = normalise(message)
        if self._sender is None:
            self._choose(normal)
        else:
            self._match(normal)
        self.turn_times.append(now)
        self._progress.set()

    def _choose(self, normal: dict) -> None:
        """The first message: the recordings whose setup (and resumed handle) it is."""
        if "setup" not in normal:
            self._diverged("the first message", "expected setup", normal, "setup", normal)
        setup, handle = split_setup(normal["setup"])
        if handle is not None:
            handle = self.source.recorded_handle(handle)
        recordings = self.source.recordings
        match = self.source.matcher
        key = match.setup_key(setup)
        self.candidates = [r for r in recordings
                           if match.setup_key(r.setup) == key and r.handle == handle]
        if not self.candidates:
            same = [r for r in recordings if match.setup_key(r.setup) == key]
            if same:
                recorded = sorted({r.handle or "none" for r in same})
                why = (f"resumption handle: expected {' or '.join(recorded[:2])}, got "
                       f"{handle or 'none'}")
            else:  # the recording that differs least, by its first difference
                diffs = [first_difference(match.setup_key(r.setup), key) or ""
                         for r in recordings] or ["no recorded session"]
                why = min(diffs, key=len)
            self._diverged("the setup", f"setup {why}",
                           [{"setup": r.setup, "handle": r.handle} for r in recordings],
                           {"setup": setup, "handle": handle}, normal)
        log.info("%s replaying %s (%d candidate recordings)", self.label, self.lead.name,
                 len(self.candidates))
        self._sender = asyncio.create_task(self._send_steps(), name=f"{self.label} replay")

    def _match(self, normal: dict) -> None:
        i = self.turns
        same = self.source.matcher.same
        kept = [r for r in self.candidates if i < len(r.turns) and same(r.turns[i], normal)
                and self._same_so_far(r)]
        if not kept:
            lead = self.lead
            expected = lead.turns[i] if i < len(lead.turns) else None
            key = self.source.matcher.key
            diff = first_difference(None if expected is None else key(expected), key(normal))
            if expected is not None and set(expected) == set(normal) and diff:
                reason = diff  # the same kind of message: where it differs, both values
            else:
                shown = _kind(expected) if expected is not None else "the end of the recording"
                reason = f"expected {shorten(shown, 48)}; got {shorten(_kind(normal), 48)}"
            self._diverged(f"client message {i + 1} after the setup", reason, expected,
                           normal, diff)
        self.candidates = kept
        self.turns += 1

    def _same_so_far(self, other: Recording) -> bool:
        """``other`` would have sent what the lead has sent so far."""
        n = self.steps_started
        mine, theirs = self.lead.steps[:n], other.steps[:n]
        return len(theirs) == n and all(
            a.trigger == b.trigger and [m for _, m in a.replies] == [m for _, m in b.replies]
            for a, b in zip(mine, theirs, strict=True))

    def _diverged(self, where: str, reason: str, expected: Any, got: Any,
                  detail: Any = None) -> None:
        """Log the whole of what was expected and what came; close with :data:`DIVERGED`."""
        log.warning("%s replay diverged at %s (recording %s): %s\n  expected: %s\n  got: %s",
                    self.label, where, self.candidates[0].name if self.candidates else "-",
                    detail if isinstance(detail, str) else reason,
                    json.dumps(expected, ensure_ascii=False),
                    json.dumps(got, ensure_ascii=False))
        raise LiveError(DIVERGED, f"replay: {reason}")

    # ----------------------------------------------------------- server messages

    async def _until(self, ready: Callable[[], float | None]) -> float:
        """Wait until ``ready()`` returns the time its condition was met."""
        while True:
            when = ready()
            if when is not None:
                return when
            self._progress.clear()
            await self._progress.wait()

    def _turn_time(self, index: int) -> float | None:
        return self.turn_times[index] if index < len(self.turn_times) else None

    def _audio_time(self, position: float) -> float | None:
        if self.audio + _EPSILON < position:
            return None
        return next(t for p, t in self.audio_times if p + _EPSILON >= position)

    async def _send_steps(self) -> None:
        try:
            await self._walk_steps()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("%s replay failed", self.label)
            await self.close(1011, INTERNAL)

    async def _walk_steps(self) -> None:
        speed = self.source.speed
        k = 0
        while k < len(self.lead.steps):
            step = self.lead.steps[k]
            if step.trigger is not None:
                trigger = step.trigger
                t0 = await self._until(lambda: self._turn_time(trigger))  # noqa: B023
            else:
                position = step.audio_at
                t0 = await self._until(lambda: self._audio_time(position))  # noqa: B023
            # the message that met the trigger may have changed the lead (several
            # candidates until then): its step is the one to send
            step = self.lead.steps[k]
            self.steps_started = k = k + 1
            burst: float | None = None  # the recorded offset of the burst's first message
            for offset, message in step.replies:
                if speed and (burst is None or offset - burst > _BURST):
                    burst = offset  # a new burst: wait until it is due
                    delay = t0 + offset / speed - time.monotonic()
                    if delay > 0:
                        await asyncio.sleep(delay)
                await self._send(message)  # returns without yielding: a burst goes out whole
        close = self.lead.close
        if close is not None:
            await self.close(int(close["code"]), close.get("reason") or "")

    async def _send(self, message: dict) -> None:
        update = message.get("sessionResumptionUpdate")
        if isinstance(update, dict) and isinstance(update.get("newHandle"), str):
            handle = secrets.token_urlsafe(24)  # a handle of this server, never the recorded
            self.source.issue_handle(handle, update["newHandle"])
            message = {**message, "sessionResumptionUpdate": {**update, "newHandle": handle}}
        await self.edge.send(encode_replayed(message))  # False: gone, the reader sees it
