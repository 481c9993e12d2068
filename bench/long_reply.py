"""The session core's cost of one long streamed reply: a text turn's reply fed to
``SessionCore.model_text`` in 40-character chunks (the emulator's default), as a 2-core
machine pays it between two awaits of the connection. Prints the total and per-chunk time
for each size; the cost per chunk must not grow with the reply (issue 13: re-joining the
whole reply for every chunk blocked the event loop 23 s at 4 MiB).

    python bench/long_reply.py [--sizes 0.25,1,4] [--chunk 40]
"""

from __future__ import annotations

import argparse
import json
import time

from openlive.session import ModelCatalog, SessionCore
from openlive.session import events as ev


def one_reply(mib: float, chunk: int) -> tuple[float, int]:
    # A TEXT session on the emulator's own model: gemini models answer in AUDIO only (a
    # TEXT setup is refused, session/models.py), and text chunks are what is measured.
    core = SessionCore(catalog=ModelCatalog(["openlive-emulator"]))
    core.receive_frame(json.dumps({"setup": {
        "model": "models/openlive-emulator",
        "generationConfig": {"responseModalities": ["TEXT"]}}}))
    core.receive_frame(json.dumps({"realtimeInput": {"text": "tell me everything"}}))
    (ready,) = [e for e in core.events_received() if isinstance(e, ev.TurnReady)]
    text = "a" * int(mib * 1024 * 1024)
    start = time.perf_counter()
    chunks = 0
    for i in range(0, len(text), chunk):
        core.model_text(ready.turn_id, text[i:i + chunk])
        core.messages_to_send()  # the connection takes each message as it comes
        chunks += 1
    core.complete_turn(ready.turn_id)
    return time.perf_counter() - start, chunks


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", default="0.25,1,4", help="reply sizes in MiB (0.25,1,4)")
    p.add_argument("--chunk", type=int, default=40, help="characters per chunk (40)")
    args = p.parse_args()
    for size in (float(s) for s in args.sizes.split(",")):
        seconds, chunks = one_reply(size, args.chunk)
        print(f"{size:6.2f} MiB reply, {chunks:7d} chunks: {seconds:6.2f} s total, "
              f"{seconds / chunks * 1e6:5.1f} µs per chunk")


if __name__ == "__main__":
    main()
