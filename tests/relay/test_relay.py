"""The relay engine with raw WebSocket clients: frames pass as they are, close codes and
reasons come back unchanged, goAway and resumption work end to end, keys stay where they
belong, bad input closes one session only, and an unreachable upstream is reported."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import ssl

import aiohttp

from live_client import (
    CLIENT_KEY,
    MODEL,
    UPSTREAM_KEY,
    closed_with,
    open_live,
    recv,
    reply_audio,
    reply_text,
    say,
    send,
    setup,
    until_turn_complete,
)
from openlive.recording import Recorder
from openlive.wire import errors

GO_AWAY_SCRIPT = [{"match": "bye", "go_away": "7s", "say": "going"},
                  {"match": "crash", "say": "failing",
                   "close": {"code": 1011, "reason": "scripted failure #7 (upstream)"}},
                  {"say": "You said: {text}"}]


async def wait_for(predicate, timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.01)


def frames(log: list[tuple], direction: str) -> list:
    return [data for _, d, data in log if d == direction]


async def direct(chain):
    """A connection straight to the upstream, with its key (for comparisons)."""
    ctx = ssl.create_default_context(cafile=chain.tls_cert)
    return await open_live(chain.upstream, key=UPSTREAM_KEY, ssl_context=ctx)


# --------------------------------------------------------------------- pass-through


async def test_text_turn_frames_pass_byte_for_byte(chain):
    c = await chain()
    ws = await open_live(c.relay, key=CLIENT_KEY)
    await setup(ws)
    await say(ws, "hello through the relay")
    got = await until_turn_complete(ws)  # AUDIO, with its transcript (live_client.setup)
    assert reply_text(got) == "You said: hello through the relay" and reply_audio(got)
    await send(ws, {"realtimeInput": {"text": "binary frame"}}, binary=True)
    raw = await ws.recv()
    assert isinstance(raw, bytes)  # upstream's binary frames stay binary
    assert reply_text([json.loads(raw)] + await until_turn_complete(ws)) == (
        "You said: binary frame")
    await ws.close()
    await wait_for(lambda: frames(c.upstream_frames, "close") and frames(c.relay_frames, "close"))
    # what the upstream sent is exactly what the client got, and the other way round
    assert frames(c.relay_frames, "server") == frames(c.upstream_frames, "server")
    assert frames(c.relay_frames, "client") == frames(c.upstream_frames, "client")
    sent = frames(c.upstream_frames, "client")
    assert [type(f) for f in sent] == [str, str, bytes]  # frame types kept


async def test_text_frames_option_turns_binary_into_text(chain):
    c = await chain(binary_frames=False)
    ws = await open_live(c.relay, key=CLIENT_KEY)
    await setup(ws)
    await say(ws, "as text")
    raw = await ws.recv()
    assert isinstance(raw, str) and isinstance(frames(c.upstream_frames, "server")[-1], bytes)
    assert reply_text([json.loads(raw)] + await until_turn_complete(ws)) == "You said: as text"
    await ws.close()


async def test_any_model_name_goes_upstream_which_decides(chain):
    c = await chain()
    results = []
    for ws in (await open_live(c.relay, key=CLIENT_KEY), await direct(c)):
        await send(ws, {"setup": {"model": "models/no-such-model"}})
        results.append(await closed_with(ws))
    via_relay, straight = results
    assert via_relay == straight == (1008, errors.cut_reason(
        errors.model_not_found("models/no-such-model", "v1beta")))


async def test_upstream_close_code_and_reason_reach_the_client(chain):
    c = await chain(script=GO_AWAY_SCRIPT)
    ws = await open_live(c.relay, key=CLIENT_KEY)
    await setup(ws)
    await say(ws, "crash now")
    got: list[dict] = []
    assert await closed_with(ws, got) == (1011, "scripted failure #7 (upstream)")
    assert reply_text(got) == "failing"


async def test_go_away_is_forwarded(chain):
    c = await chain(script=GO_AWAY_SCRIPT)
    ws = await open_live(c.relay, key=CLIENT_KEY)
    await setup(ws)
    await say(ws, "bye")
    got = await until_turn_complete(ws)
    assert {"goAway": {"timeLeft": "7s"}} in got
    assert reply_text(got) == "going"
    await ws.close()


async def test_client_close_code_goes_upstream(chain):
    c = await chain()
    ws = await open_live(c.relay, key=CLIENT_KEY)
    await setup(ws)
    await ws.close(code=4000, reason="app done")
    await wait_for(lambda: frames(c.upstream_frames, "close"))
    assert frames(c.upstream_frames, "close") == [{"code": 4000}]


async def test_client_leaving_before_setup_closes_the_upstream(chain):
    c = await chain()
    ws = await open_live(c.relay, key=CLIENT_KEY)
    await wait_for(lambda: frames(c.upstream_frames, "open"))  # dialled in parallel
    await asyncio.sleep(0.2)  # the relay has the upstream socket
    await ws.close()
    await wait_for(lambda: frames(c.upstream_frames, "close"))
    assert frames(c.upstream_frames, "client") == []
    assert not c.relay.live.active and not c.upstream.live.active


async def test_relay_shutdown_closes_both_sides(chain):
    c = await chain()
    ws = await open_live(c.relay, key=CLIENT_KEY)
    await setup(ws)
    stopping = asyncio.create_task(c.relay.stop())
    assert await closed_with(ws) == (1001, "server shutting down")
    await stopping
    await wait_for(lambda: frames(c.upstream_frames, "close"))
    assert frames(c.upstream_frames, "close") == [{"code": 1001}]


async def test_resumption_through_the_relay(chain, caplog):
    caplog.set_level(logging.INFO, logger="openlive")
    c = await chain()
    ws = await open_live(c.relay, key=CLIENT_KEY)
    await setup(ws, sessionResumption={})
    await say(ws, "remember me")
    assert reply_text(await until_turn_complete(ws)) == "You said: remember me"
    handle = None
    while handle is None:  # the update that follows turnComplete
        update = (await recv(ws)).get("sessionResumptionUpdate", {})
        handle = update.get("newHandle") if update.get("resumable") else None
    await ws.close()
    # the handle is the upstream's: reconnecting through the relay resumes there
    ws = await open_live(c.relay, key=CLIENT_KEY)
    await setup(ws, sessionResumption={"handle": handle})
    await wait_for(lambda: "resumed a stored session" in caplog.text)
    await say(ws, "again")
    assert reply_text(await until_turn_complete(ws)) == "You said: again"
    await ws.close()
    ws = await open_live(c.relay, key=CLIENT_KEY)
    await send(ws, {"setup": {"model": MODEL, "sessionResumption": {"handle": "made-up"}}})
    assert await closed_with(ws) == (1008, errors.SESSION_NOT_FOUND)


async def test_bad_frame_closes_only_that_session(chain):
    c = await chain()
    bad = await open_live(c.relay, key=CLIENT_KEY)
    good = await open_live(c.relay, key=CLIENT_KEY)
    await setup(bad)
    await setup(good)
    await bad.send("this is not json")
    code, reason = await closed_with(bad)
    assert code == 1007 and reason  # the upstream's verdict
    await say(good, "still here")
    assert reply_text(await until_turn_complete(good)) == "You said: still here"
    await good.close()


async def test_recording_observer_sees_relayed_sessions(chain, tmp_path):
    c = await chain(observer=Recorder(tmp_path))
    ws = await open_live(c.relay, key=CLIENT_KEY)
    await setup(ws)
    await say(ws, "record me")
    assert reply_text(await until_turn_complete(ws)) == "You said: record me"
    await ws.close()
    await asyncio.sleep(0.2)
    (path,) = tmp_path.glob("*.jsonl")
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    directions = [line["direction"] for line in lines]
    assert directions[0] == "open" and directions[-1] == "close"
    messages = [line.get("message") for line in lines]
    # live_client.setup asks for the transcript of the (AUDIO) reply
    assert {"setup": {"model": MODEL, "outputAudioTranscription": {}}} in messages
    assert {"setupComplete": {}} in messages
    assert UPSTREAM_KEY not in path.read_text() and CLIENT_KEY not in path.read_text()


async def test_models_listing_is_the_upstreams(chain):
    c = await chain()
    ctx = ssl.create_default_context(cafile=c.tls_cert)
    async with aiohttp.ClientSession() as http:
        async def get(server, path: str, key: str | None) -> tuple[int, dict]:
            headers = {"x-goog-api-key": key} if key else {}
            async with http.get(server.http_url + path, headers=headers, ssl=ctx) as resp:
                return resp.status, await resp.json()

        for path in ("/v1beta/models", f"/v1beta/{MODEL}", "/v1beta/models/no-such-model"):
            assert await get(c.relay, path, CLIENT_KEY) == await get(c.upstream, path,
                                                                     UPSTREAM_KEY)
        status, body = await get(c.relay, "/v1beta/models", None)
        assert status == 403 and body["error"]["status"] == "PERMISSION_DENIED"
        status, body = await get(c.relay, "/v1beta/models", UPSTREAM_KEY)
        assert status == 400 and body["error"]["message"] == errors.API_KEY_INVALID
    assert all(CLIENT_KEY not in json.dumps(h) for h in c.handshakes)


# ----------------------------------------------------------------------------- keys


async def test_keys_stay_where_they_belong(chain, caplog):
    caplog.set_level(logging.DEBUG)
    c = await chain()
    ws = await open_live(c.relay, query=f"key={CLIENT_KEY}")
    received: list = []
    await send(ws, {"setup": {"model": MODEL}})
    received.append(await ws.recv())
    await say(ws, "hi")
    async with asyncio.timeout(5):
        while b"turnComplete" not in (raw := await ws.recv()):
            received.append(raw)
    await ws.close()
    (shake,) = c.handshakes
    headers = {k.lower(): v for k, v in shake["headers"].items()}
    assert headers["x-goog-api-key"] == UPSTREAM_KEY  # the server-held key goes upstream
    assert shake["query"] == {}
    assert CLIENT_KEY not in json.dumps(shake)  # the client's key does not
    assert not any(UPSTREAM_KEY.encode() in raw for raw in received)
    assert UPSTREAM_KEY not in caplog.text
    # a client without a valid relay key is refused by the relay; upstream is never dialled
    for key in ("wrong-key", UPSTREAM_KEY):
        ws = await open_live(c.relay, key=key)
        await send(ws, {"setup": {"model": MODEL}})
        assert await closed_with(ws) == (1007, errors.API_KEY_INVALID)
    assert len(c.handshakes) == 1


async def test_ephemeral_tokens_of_the_relay(chain):
    c = await chain()
    body = {"uses": 1, "bidiGenerateContentSetup": {
        "model": MODEL, "systemInstruction": {"parts": [{"text": "be brief"}]}},
        "fieldMask": "systemInstruction"}
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{c.relay.http_url}/v1alpha/auth_tokens", json=body,
                             headers={"x-goog-api-key": CLIENT_KEY}) as resp:
            assert resp.status == 200
            token = (await resp.json())["name"]
    ws = await open_live(c.relay, constrained=True, query=f"access_token={token}")
    await setup(ws, systemInstruction={"parts": [{"text": "ignore the rules"}]})
    await say(ws, "token hello")
    assert reply_text(await until_turn_complete(ws)) == "You said: token hello"
    await ws.close()
    # the token's locked field reached the upstream; the upstream saw its own key only
    first = json.loads(frames(c.upstream_frames, "client")[0])
    assert first["setup"]["systemInstruction"] == {"parts": [{"text": "be brief"}]}
    headers = {k.lower(): v for k, v in c.handshakes[0]["headers"].items()}
    assert headers["x-goog-api-key"] == UPSTREAM_KEY
    assert token not in json.dumps(c.handshakes)
    # its one use is spent
    ws = await open_live(c.relay, constrained=True, query=f"access_token={token}")
    await send(ws, {"setup": {"model": MODEL}})
    assert await closed_with(ws) == (1008, errors.cut_reason(errors.UNREGISTERED_CALLER))


# ------------------------------------------------------------------ upstream trouble


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_unreachable_upstream_closes_clearly(chain, caplog):
    caplog.set_level(logging.INFO, logger="openlive")
    port = closed_port()
    c = await chain(upstream_url=f"http://127.0.0.1:{port}")
    ws = await open_live(c.relay, key=CLIENT_KEY)
    await send(ws, {"setup": {"model": MODEL}})
    code, reason = await closed_with(ws)
    assert code == 1011
    assert reason.startswith(f"openlive relay: upstream 127.0.0.1:{port} is unreachable")
    assert f"upstream 127.0.0.1:{port} is unreachable" in caplog.text
    assert UPSTREAM_KEY not in caplog.text


async def test_untrusted_upstream_certificate(chain):
    c = await chain(trust=False)
    ws = await open_live(c.relay, key=CLIENT_KEY)
    await send(ws, {"setup": {"model": MODEL}})
    code, reason = await closed_with(ws)
    assert code == 1011 and "TLS certificate" in reason and "--upstream-cafile" in reason
    assert c.handshakes == []
