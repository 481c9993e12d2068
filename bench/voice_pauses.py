"""The false-cut set streamed to a running server (bench/voice_quality.py --set pauses,
bench/voice_latency.py --pauses): sentences whose clauses are joined by 300-700 ms of
silence; a sentence is *cut* when the server finishes more than one input transcription
for it."""

from __future__ import annotations

import asyncio
import base64
import json
import sys
import time

import numpy as np

import voice_sets as vs

CHUNK = 320  # 20 ms at 16 kHz


def progress(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def pause_items(voices: list[str], limit: int = 0, *, alternate: bool = False
                ) -> list[tuple[str, str, np.ndarray]]:
    """(voice, text, 16 kHz PCM) for the first ``limit`` sentences (0: all): each in every
    voice, or (``alternate``) sentence i in voice i mod len(voices)."""
    items = []
    for i, clauses in enumerate(vs.pause_utterances()[:limit or None]):
        text = " ".join(clauses)
        gaps = vs.pause_lengths_ms(text, len(clauses) - 1)
        for voice in [voices[i % len(voices)]] if alternate else voices:
            items.append((voice, text, vs.join_with_pauses(
                [vs.speak(voice, c) for c in clauses], gaps)))
    return items


def count_cuts(results: list[dict]) -> dict:
    per_voice: dict[str, list[int]] = {}
    for r in results:
        c = per_voice.setdefault(r["voice"], [0, 0])
        c[0] += len(r["turns"]) > 1
        c[1] += 1
    return {"n": len(results), "cut": sum(len(r["turns"]) > 1 for r in results),
            "unheard": sum(not r["turns"] for r in results),
            "per_voice": {v: tuple(c) for v, c in per_voice.items()}}


async def pause_session(url: str, items: list[tuple[str, str, np.ndarray]],
                         silence_ms: int | None, sensitivity: str | None = None,
                         engine: str = "local") -> list[dict]:
    from websockets.asyncio.client import connect

    results = []
    async with connect(url, max_size=None, compression=None) as ws:
        setup: dict = {"model": f"models/openlive-{engine}",
                       "generationConfig": {"responseModalities": ["TEXT"]},
                       "inputAudioTranscription": {}}
        vs.activity_detection(setup, silence_ms, sensitivity)
        await ws.send(json.dumps({"setup": setup}))
        assert "setupComplete" in json.loads(await ws.recv())
        finished: list[str] = []
        current = ""
        last_tx = time.monotonic()

        async def reader() -> None:
            nonlocal current, last_tx
            async for raw in ws:
                tx = json.loads(raw).get("serverContent", {}).get("inputTranscription")
                if tx:
                    last_tx = time.monotonic()
                    current += tx.get("text", "")
                    if tx.get("finished"):
                        finished.append(current)
                        current = ""

        async def settle() -> None:
            """Until a turn has been transcribed and nothing more came for 1.5 s (30 s at
            most: the first turn may wait for the speech models to load)."""
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and (
                    not finished or time.monotonic() - last_tx < 1.5):
                await asyncio.sleep(0.05)

        task = asyncio.create_task(reader())
        try:
            warm = items[0][2]  # one turn first, not counted: the models load and warm up
            for i in range(0, len(warm), CHUNK):
                await ws.send(json.dumps({"realtimeInput": {"audio": {
                    "mimeType": "audio/pcm;rate=16000",
                    "data": base64.b64encode(warm[i:i + CHUNK].tobytes()).decode()}}}))
            await ws.send(json.dumps({"realtimeInput": {"audioStreamEnd": True}}))
            await settle()
            for n, (voice, text, pcm) in enumerate(items):
                finished.clear()
                pcm = np.concatenate([np.zeros(3200, "<i2"), pcm, np.zeros(24000, "<i2")])
                t0 = time.monotonic()
                for k, i in enumerate(range(0, len(pcm), CHUNK)):
                    due = t0 + k * 0.02
                    if due > time.monotonic():
                        await asyncio.sleep(due - time.monotonic())
                    await ws.send(json.dumps({"realtimeInput": {"audio": {
                        "mimeType": "audio/pcm;rate=16000",
                        "data": base64.b64encode(pcm[i:i + CHUNK].tobytes()).decode()}}}))
                await settle()
                results.append({"voice": voice, "text": text, "turns": list(finished)})
                mark = "CUT " if len(finished) > 1 else "ok  "
                progress(f"  {n + 1:>2}/{len(items)} {mark}{voice:<14} {finished!r}")
        finally:
            task.cancel()
    return results
