"""Two openlive nodes behind a real nginx, sharing a real redis-server: a session opened
through nginx resumes through nginx on the other node after its own node is SIGKILLed,
with its history; /metrics and /healthz answer through the proxy."""

from __future__ import annotations

import asyncio
import json
import urllib.request

from websockets.exceptions import ConnectionClosed, InvalidHandshake

from live_client import decode, handles, open_live, resumable_turn, send, setup, turn

EMULATOR = "models/openlive-emulator"  # openlive's own model: TEXT replies stay allowed
TEXT = {"generationConfig": {"responseModalities": ["TEXT"]}}


def prompt_tokens(messages: list[dict]) -> int:
    return next(m for m in messages if "usageMetadata" in m)["usageMetadata"]["promptTokenCount"]


async def test_a_session_resumes_on_the_other_node_after_sigkill(cluster):
    proxy, nodes = cluster()
    async with asyncio.timeout(240):
        fresh = await open_live(proxy)  # what the question alone costs, in a new session
        await setup(fresh, model=EMULATOR, **TEXT)
        alone = prompt_tokens(await turn(fresh, "Which word did I ask you to keep?"))
        await fresh.close()

        ws = await open_live(proxy)
        first = await setup(ws, model=EMULATOR, sessionResumption={}, **TEXT)
        said = await resumable_turn(ws, "Please keep the word banana for me, it matters a lot.")
        handle = handles(first + said)[-1]
        holder = await _holder(nodes)
        holder.kill()
        try:  # the client sees its connection end (nginx closes it)
            while True:
                decode(await ws.recv())
        except ConnectionClosed:
            pass

        other = next(n for n in nodes if n is not holder)
        resumed = None
        for _ in range(120):  # until the dead node's lease on the session expires (30 s)
            try:
                again = await open_live(proxy)
                await send(again, {"setup": {"model": EMULATOR, **TEXT,
                                             "sessionResumption": {"handle": handle}}})
                if "setupComplete" in decode(await again.recv()):
                    resumed = again
                    break
            except (ConnectionClosed, InvalidHandshake, OSError):
                pass
            await asyncio.sleep(1)
        assert resumed is not None, other.log
        assert "resumed a stored session" in other.log
        later = await turn(resumed, "Which word did I ask you to keep?")
        await resumed.close()
    # the stored history (the banana turn and its reply) is in the resumed session's prompt
    assert prompt_tokens(later) > alone + 10, (prompt_tokens(later), alone)


async def _holder(nodes):
    """The node with a connection open (the fresh session's has closed by then)."""
    for _ in range(200):  # bounded: the fresh session's node logs its disconnect
        open_on = [n for n in nodes
                   if n.log.count("connected from") > n.log.count("disconnected (close")]
        if len(open_on) == 1:
            return open_on[0]
        await asyncio.sleep(0.05)
    raise AssertionError("no single node holds the session")


async def test_metrics_and_health_through_nginx(cluster):
    proxy, nodes = cluster("--api-key", "scale-key-1")
    for path, headers in (("/healthz", {}),
                          ("/metrics", {"Authorization": "Bearer scale-key-1"})):
        req = urllib.request.Request(proxy.http_url + path, headers=headers)
        body = await asyncio.to_thread(lambda r=req: urllib.request.urlopen(r, timeout=30).read())
        if path == "/healthz":
            assert json.loads(body)["status"] in ("ok", "degraded")
        else:
            assert b"openlive_sessions_open" in body


async def test_a_one_use_token_minted_through_one_node_is_spent_across_both(cluster):
    """POST /v1alpha/auth_tokens through nginx; nginx sends the two connections that try it
    to different nodes (round robin): the first is let in, the second refused with 1008, as
    a token with uses 1 is on Google's service (its use is spent in the shared store).
    The nodes trust nginx (--trusted-proxy): each logs the client's own address, 127.0.0.2,
    from nginx's X-Forwarded-For, not nginx's 127.0.0.1."""
    from live_client import CONSTRAINED_PATH

    proxy, nodes = cluster("--api-key", "scale-key-2", "--trusted-proxy", "127.0.0.1/32")
    req = urllib.request.Request(proxy.http_url + "/v1alpha/auth_tokens", method="POST",
                                 data=json.dumps({"uses": 1}).encode(),
                                 headers={"x-goog-api-key": "scale-key-2",
                                          "Content-Type": "application/json"})
    token = json.loads(await asyncio.to_thread(
        lambda: urllib.request.urlopen(req, timeout=30).read()))["name"]
    outcomes: list[object] = []
    async with asyncio.timeout(60):
        for _ in range(2):
            ws = await open_live(proxy, path=CONSTRAINED_PATH, query=f"access_token={token}",
                                 local_addr=("127.0.0.2", 0))  # a client nginx does not trust
            await send(ws, {"setup": {"model": EMULATOR, **TEXT}})
            try:
                outcomes.append("setupComplete" in decode(await ws.recv()))
            except ConnectionClosed as exc:
                outcomes.append(exc.rcvd.code if exc.rcvd else None)
            await ws.close()
    assert outcomes == [True, 1008], outcomes
    # one connection on each node, from the client through nginx
    assert all("connected from 127.0.0.2 via proxy 127.0.0.1" in n.log for n in nodes)


async def test_go_away_before_a_planned_restart_moves_the_session(cluster):
    """serve --drain: on SIGTERM the node stops taking connections and sends its sessions
    goAway with the drain time left; the client finishes its turn on the old connection,
    then resumes through nginx on the other node with nothing lost; the node then exits."""
    import signal

    from live_client import until

    proxy, nodes = cluster("--drain", "30")
    question = "Which word and number did I give you?"
    async with asyncio.timeout(120):
        fresh = await open_live(proxy)  # what the question alone costs, in a new session
        await setup(fresh, model=EMULATOR, **TEXT)
        alone = prompt_tokens(await turn(fresh, question))
        await fresh.close()
        ws = await open_live(proxy)
        first = await setup(ws, model=EMULATOR, sessionResumption={}, **TEXT)
        kept = await resumable_turn(ws, "Please keep the word banana for me, it matters a lot.")
        holder = await _holder(nodes)
        holder.proc.send_signal(signal.SIGTERM)
        got = await until(ws, "goAway")
        assert got[-1]["goAway"] == {"timeLeft": "30s"}
        last = await resumable_turn(ws, "And the number seven too.")  # still answered
        assert any("modelTurn" in m.get("serverContent", {}) for m in last)
        handle = handles(first + kept + last)[-1]
        await ws.close()
        resumed = None
        for _ in range(100):  # the old connection's lease is released as it closes
            again = await open_live(proxy)
            await send(again, {"setup": {"model": EMULATOR, **TEXT,
                                         "sessionResumption": {"handle": handle}}})
            try:
                if "setupComplete" in decode(await again.recv()):
                    resumed = again
                    break
            except ConnectionClosed:
                pass
            await asyncio.sleep(0.2)
        assert resumed is not None
        other = next(n for n in nodes if n is not holder)
        assert "resumed a stored session" in other.log
        both = prompt_tokens(await turn(resumed, question))
        await resumed.close()
        assert await asyncio.to_thread(holder.proc.wait, 60) == 0  # left once drained
    assert "draining 1 open sessions" in holder.log
    assert both > alone + 20, (both, alone)  # both earlier turns are in the resumed prompt
