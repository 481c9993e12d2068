"""GET /metrics: scraped with prometheus_client's own parser after real sessions on a real
server (WebSocket clients on loopback)."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from live_client import closed_with, open_live, send, setup, turn
from openlive.engines.audio import stage_metrics

EMULATOR = "models/openlive-emulator"  # openlive's own model: TEXT replies stay allowed
TEXT = {"generationConfig": {"responseModalities": ["TEXT"]}}


async def scrape(server, **kw) -> tuple[int, dict[tuple[str, tuple], float]]:
    """(status, {(sample name, sorted labels): value}) from the server's /metrics."""
    async with asyncio.timeout(10), aiohttp.ClientSession() as http:
        async with http.get(server.http_url + "/metrics", **kw) as resp:
            text = await resp.text()
            if resp.status != 200:
                return resp.status, {}
            assert resp.headers["Content-Type"].startswith("text/plain; version=")
    samples = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            samples[s.name, tuple(sorted(s.labels.items()))] = s.value
    return 200, samples


def delta(before: dict, after: dict, name: str, **labels: str) -> float:
    key = (name, tuple(sorted(labels.items())))
    return after.get(key, 0.0) - before.get(key, 0.0)


async def test_metrics_after_real_sessions(serve):
    server = await serve()
    status, before = await scrape(server)
    assert status == 200
    ws = await open_live(server)
    await setup(ws, model=EMULATOR, **TEXT)
    await turn(ws, "hello")
    await turn(ws, "again")
    _, during = await scrape(server)
    assert delta(before, during, "openlive_sessions_open") == 1
    await ws.close()
    bad = await open_live(server)
    await send(bad, {"setup": {"model": EMULATOR, **TEXT}})
    await send(bad, {"setup": {"model": EMULATOR}})  # a second setup: 1007
    code, _ = await closed_with(bad)
    assert code == 1007
    await asyncio.sleep(0.6)  # the lag probe wakes every 0.25 s (a count, not a timing)
    for _ in range(100):  # the server sees both closes (bounded)
        _, after = await scrape(server)
        if delta(before, after, "openlive_sessions_open") == 0:
            break
        await asyncio.sleep(0.1)
    assert delta(before, after, "openlive_sessions_open") == 0
    assert delta(before, after, "openlive_sessions_started_total") == 2
    assert delta(before, after, "openlive_session_closes_total", code="1000") == 1
    assert delta(before, after, "openlive_session_closes_total", code="1007") == 1
    assert delta(before, after, "openlive_messages_total",
                 direction="client", type="setup") == 3
    assert delta(before, after, "openlive_messages_total",
                 direction="client", type="clientContent") == 2
    assert delta(before, after, "openlive_messages_total",
                 direction="server", type="setupComplete") == 2
    assert delta(before, after, "openlive_messages_total",
                 direction="server", type="serverContent") >= 4  # text, gen., turnComplete
    assert delta(before, after, "openlive_first_reply_seconds_count") == 2
    assert delta(before, after, "openlive_event_loop_lag_seconds_count") >= 1
    for stage in stage_metrics.STAGES:  # shown before any voice turn
        assert ("openlive_voice_stage_seconds_count", (("stage", stage),)) in after


async def test_junk_frames_count_as_other(serve):
    server = await serve()
    _, before = await scrape(server)
    ws = await open_live(server)
    await ws.send('{"someInventedField": 1}')  # refused as the first message: 1007
    code, _ = await closed_with(ws)
    assert code == 1007
    for _ in range(100):
        _, after = await scrape(server)
        if delta(before, after, "openlive_session_closes_total", code="1007"):
            break
        await asyncio.sleep(0.1)
    assert delta(before, after, "openlive_messages_total", direction="client",
                 type="other") == 1
    assert not any(dict(labels).get("type") == "someInventedField" for _, labels in after)


async def test_voice_stages_and_backend_errors_reach_the_scrape(serve):
    server = await serve()
    _, before = await scrape(server)
    stage_metrics.stage(stage_metrics.RECOGNITION, 0.3)
    stage_metrics.backend_error("asr")
    _, after = await scrape(server)
    assert delta(before, after, "openlive_voice_stage_seconds_count", stage="recognition") == 1
    assert delta(before, after, "openlive_voice_stage_seconds_sum",
                 stage="recognition") == pytest.approx(0.3)
    assert delta(before, after, "openlive_backend_errors_total", backend="asr") == 1


async def test_keyed_server_asks_the_scraper_for_a_key(serve):
    server = await serve(api_keys=["metrics-key-1"])
    assert (await scrape(server))[0] == 401
    assert (await scrape(server, headers={"Authorization": "Bearer wrong"}))[0] == 401
    status, samples = await scrape(server, headers={"Authorization": "Bearer metrics-key-1"})
    assert status == 200 and samples
    assert (await scrape(server, headers={"x-goog-api-key": "metrics-key-1"}))[0] == 200
    open_server = await serve(api_keys=["metrics-key-1"], metrics="open")
    assert (await scrape(open_server))[0] == 200


async def test_metrics_off_is_404(serve):
    server = await serve(metrics="off")
    assert (await scrape(server))[0] == 404
