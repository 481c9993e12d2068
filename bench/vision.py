#!/usr/bin/env python
"""What seeing video costs, and how often it is right: the vision extra's analyser on a set of
frames made at run time (signs rendered with Pillow, QR codes made with segno, plain walls)
and real photos that scikit-image's wheel ships; then, with ``--turn``, the latency of a
"what do you see?" turn on the local engine with the camera on.

Per frame and stage (decode, ocr, qr, colours, people, objects) the time in ms (mean and max
over the set, each frame analysed ``--repeat`` times after one warm-up); accuracy per check:

* OCR: each sign's words read (case and spaces ignored);
* QR: each code's payload decoded exactly;
* faces: a face found in the astronaut photo, none in the cat, coffee, rocket, text photos;
* colours: a plain wall's colour named first;
* objects: on every frame, the photo's main subject named first (cat, cup, person x2, horse,
  motorcycle) and nothing named on the rocket (not a COCO kind), text, sign, QR and wall
  frames (``objects_install`` must have run: ``make install-dev``).

``--turn`` starts the local engine in-process (shipped Qwen GGUF, TEXT replies,
maxOutputTokens 40) and times from the question to the first reply text and to
turnComplete: a text question without video, then "What do you see?" right after a frame
(analysed on demand), and again 3 s after the frame (analysed in the background).

    .venv/bin/python bench/vision.py                    # the analyser only
    .venv/bin/python bench/vision.py --size 320         # MEDIA_RESOLUTION_LOW's size
    .venv/bin/python bench/vision.py --turn             # + turn latency with the camera on
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests" / "vision"), str(ROOT / "tests")]

from images import jpeg, photo, plain, qr_scene, sign  # noqa: E402

from openlive.engines.vision.analyser import FrameAnalyser  # noqa: E402

SIGNS = ["EXIT", "NO PARKING", "OPEN 24 HOURS", "PLATFORM 9", "FRESH COFFEE", "WELCOME HOME",
         "KEEP LEFT", "GATE B12", "SALE 50% OFF", "CAUTION WET FLOOR", "TICKETS", "BUS STOP"]
QRS = ["https://example.org/ticket/42", "WIFI:S:home;T:WPA;P:secret;;", "hello", "ORDER-7781"]
WALLS = {"red": (200, 30, 30), "green": (40, 150, 50), "blue": (30, 60, 200),
         "yellow": (240, 200, 20), "white": (250, 250, 250), "black": (10, 10, 10)}
FACE = {"astronaut.png": 1, "chelsea.png": 0, "coffee.png": 0, "rocket.jpg": 0, "text.png": 0}
# the COCO label expected first in each photo ("" = none); every other frame expects none
OBJECTS = {"chelsea.png": "cat", "coffee.png": "cup", "astronaut.png": "person",
           "rocket.jpg": "", "text.png": "", "camera.png": "person", "horse.png": "horse",
           "motorcycle_left.png": "motorcycle"}


def frames() -> list[tuple[str, bytes, str, object]]:
    out: list[tuple[str, bytes, str, object]] = []
    boards = [(200, 30, 30), (30, 60, 160), (20, 120, 40), (240, 240, 240)]
    for i, words in enumerate(SIGNS):
        board = boards[i % len(boards)]
        ink = "black" if board == (240, 240, 240) else "white"
        out.append((f"sign {words!r}", jpeg(sign(words, board=board, ink=ink)), "ocr", words))
    out += [(f"qr {p!r}", jpeg(qr_scene(p)), "qr", p) for p in QRS]
    out += [(f"wall {n}", jpeg(plain(c)), "colour", n) for n, c in WALLS.items()]
    out += [(f"photo {n}", jpeg(photo(n)), "faces", k) for n, k in FACE.items()]
    out += [(f"photo {n}", jpeg(photo(n)), "objects", k) for n, k in OBJECTS.items()
            if n not in FACE]
    return out


def objects_right(name: str, desc) -> bool:
    want = OBJECTS.get(name.removeprefix("photo "), "")
    labels = [f.label for f in desc.objects]
    return labels[:1] == [want] if want else labels == []


def right(kind: str, want: object, desc) -> bool:
    if kind == "ocr":
        return str(want).replace(" ", "") in desc.ocr.upper().replace(" ", "")
    if kind == "qr":
        return desc.qr == [want]
    if kind == "colour":
        return desc.colours[:1] == [want]
    if kind == "objects":
        return True  # checked on every frame by objects_right
    return len(desc.faces) == want


def bench_analyser(size: int, repeat: int, threads: int) -> dict:
    analyser = FrameAnalyser(threads=threads)
    t = time.perf_counter()
    analyser.load()
    load_s = time.perf_counter() - t
    stages: dict[str, list[float]] = {}
    totals: list[float] = []
    score: dict[str, list[int]] = {}
    for name, data, kind, want in frames():
        analyser.analyse(data, received_at=0.0, size=size)  # warm-up
        for _ in range(repeat):
            t = time.perf_counter()
            desc = analyser.analyse(data, received_at=0.0, size=size)
            totals.append(time.perf_counter() - t)
            for stage, s in desc.timings.items():
                stages.setdefault(stage, []).append(s)
        checks = [] if kind == "objects" else [(kind, right(kind, want, desc))]
        if "objects" in analyser.stages:
            checks.append(("objects", objects_right(name, desc)))
        for check, ok in checks:
            score.setdefault(check, [0, 0])
            score[check][0] += ok
            score[check][1] += 1
            if not ok:
                print(f"  miss ({check}): {name}: {desc.summary()}")
    print(f"analyser: load {load_s * 1000:.0f} ms; size {size}; {threads} threads; "
          f"{len(totals)} frames")
    print(f"{'stage':8} {'mean ms':>8} {'max ms':>8}")
    for stage, vals in [*stages.items(), ("total", totals)]:
        print(f"{stage:8} {statistics.mean(vals) * 1000:8.1f} {max(vals) * 1000:8.1f}")
    for kind, (ok, n) in score.items():
        print(f"accuracy {kind:7} {ok}/{n}")
    return {"size": size, "stages_ms": {k: statistics.mean(v) * 1000
                                        for k, v in [*stages.items(), ("total", totals)]},
            "accuracy": {k: v for k, v in score.items()}}


async def bench_turn(rounds: int) -> dict:
    from live_client import open_live, recv, send
    from openlive.engines.audio.voice_models import VoiceModels
    from openlive.engines.local import LocalEngine
    from openlive.engines.vision.session import Vision
    from openlive.server.app import ServerConfig
    from openlive.server.run import start_server

    analyser = FrameAnalyser()
    analyser.load()
    engine = LocalEngine(voice=VoiceModels(), vision=Vision(analyser=analyser))
    engine.llm()
    server = await start_server(engine, ServerConfig(), host="127.0.0.1", port=0)
    setup = {"model": "models/openlive-local", "generationConfig": {
        "responseModalities": ["TEXT"], "maxOutputTokens": 40, "temperature": 0}}
    frame = base64.b64encode(jpeg(photo("astronaut.png"))).decode()
    results: dict[str, list[tuple[float, float]]] = {}

    async def one(label: str, question: str, video: bool, wait: float) -> None:
        ws = await open_live(server)
        try:
            await send(ws, {"setup": setup})
            await recv(ws)
            if video:
                await send(ws, {"realtimeInput": {"video": {"mimeType": "image/jpeg",
                                                            "data": frame}}})
                await asyncio.sleep(wait)
            t0 = time.monotonic()
            await send(ws, {"realtimeInput": {"text": question}})
            first = None
            while True:
                msg = await recv(ws, timeout=180)
                sc = msg.get("serverContent", {})
                if first is None and sc.get("modelTurn"):
                    first = time.monotonic() - t0
                if sc.get("turnComplete"):
                    break
            results.setdefault(label, []).append((first or 0.0, time.monotonic() - t0))
        finally:
            await ws.close()

    try:
        for _ in range(rounds):
            await one("no video, 'What is the capital of France?'",
                      "What is the capital of France?", False, 0)
            await one("camera on, 'What do you see?', on demand", "What do you see?", True, 0)
            await one("camera on, 'What do you see?', after 3 s", "What do you see?", True, 3)
    finally:
        await server.stop()
        await engine.aclose()
    print(f"turn latency over {rounds} round(s) (first text / turnComplete, mean ms):")
    out = {}
    for label, vals in results.items():
        f = statistics.mean(v[0] for v in vals) * 1000
        c = statistics.mean(v[1] for v in vals) * 1000
        out[label] = {"first_ms": f, "complete_ms": c}
        print(f"  {label:48} {f:7.0f} {c:7.0f}")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", type=int, default=640, help="analysis size (long side, px)")
    ap.add_argument("--repeat", type=int, default=2, help="timed runs per frame")
    ap.add_argument("--threads", type=int, default=2, help="onnxruntime threads")
    ap.add_argument("--turn", action="store_true", help="also time local-engine turns")
    ap.add_argument("--rounds", type=int, default=2, help="--turn: rounds of three turns")
    ap.add_argument("--json", action="store_true", help="one JSON line at the end")
    args = ap.parse_args()
    print(f"load average: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} "
          f"(machine may be shared)")
    out = {"analyser": bench_analyser(args.size, args.repeat, args.threads)}
    if args.turn:
        out["turn"] = asyncio.run(bench_turn(args.rounds))
    print(f"load average: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f}")
    if args.json:
        print(json.dumps(out))


if __name__ == "__main__":
    main()
