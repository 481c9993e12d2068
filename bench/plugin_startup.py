"""What the pytest fixture ``live_server`` costs per test: start + stop of an in-process
openlive (emulator, TLS), median over N starts, as the fixture does it (shared background
event loop and certificate, made once per pytest run). Also one connect + setup round trip,
and start + stop with engine="replay".

    python bench/plugin_startup.py [N]
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import time

import websockets

from openlive.testing import start_live_server


async def _setup_round_trip(server) -> None:
    async with websockets.connect(server.live_url, ssl=server.ssl_context) as ws:
        await ws.send(json.dumps(
            {"setup": {"model": "models/gemini-2.5-flash-native-audio-preview-12-2025"}}))
        await ws.recv()


def main(n: int = 50) -> None:
    t0 = time.perf_counter()
    first = start_live_server()
    first.stop()
    cold = time.perf_counter() - t0  # imports, certificate, event loop thread
    costs, starts, stops = [], [], []
    for _ in range(n):
        t0 = time.perf_counter()
        server = start_live_server()
        t1 = time.perf_counter()
        server.stop()
        t2 = time.perf_counter()
        starts.append(t1 - t0)
        stops.append(t2 - t1)
        costs.append(t2 - t0)
    server = start_live_server()
    rtts = []
    for _ in range(20):
        t0 = time.perf_counter()
        asyncio.run(_setup_round_trip(server))
        rtts.append(time.perf_counter() - t0)
    server.stop()
    ms = 1000.0
    print(f"live_server fixture, emulator + TLS, {n} starts:")
    print(f"  first start+stop (imports, certificate, loop thread): {cold * ms:.1f} ms")
    print(f"  start+stop median {statistics.median(costs) * ms:.2f} ms "
          f"(start {statistics.median(starts) * ms:.2f} ms, "
          f"stop {statistics.median(stops) * ms:.2f} ms), "
          f"p90 {statistics.quantiles(costs, n=10)[-1] * ms:.2f} ms")
    print(f"  TLS connect + setup/setupComplete: median {statistics.median(rtts) * ms:.2f} ms")
    _replay_starts(n)


def _replay_starts(n: int) -> None:
    """engine="replay": start+stop with a directory of one recording (read at each start)."""
    import tempfile

    from openlive.recording import Recorder

    with tempfile.TemporaryDirectory() as directory:
        server = start_live_server(observer=Recorder(directory))
        asyncio.run(_setup_round_trip(server))
        server.wait_closed()
        server.stop()
        costs = []
        for _ in range(n):
            t0 = time.perf_counter()
            start_live_server(engine="replay", recordings=directory).stop()
            costs.append(time.perf_counter() - t0)
    print(f"live_server fixture, engine='replay' (1 recording) + TLS, {n} starts: start+stop "
          f"median {statistics.median(costs) * 1000:.2f} ms, "
          f"p90 {statistics.quantiles(costs, n=10)[-1] * 1000:.2f} ms")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 50)
