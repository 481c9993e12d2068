"""The pure parts, no sockets: resumption, limits, compression and token rules in the
session core, the per-key limiter, and the store contract (memory, SQLite file, Redis)."""

from __future__ import annotations

import asyncio
import json

import pytest

from openlive.server.limits import KeyLimiter
from openlive.session import tokens as tk
from openlive.session.limits import Limits
from openlive.session.state import LiveSession, Phase
from openlive.store import open_store
from openlive.wire.errors import LiveError
from openlive.wire.setup import Setup

MODEL = "models/gemini-live-2.5-flash-preview"


def frame(msg: dict) -> str:
    return json.dumps(msg)


def drain(session: LiveSession) -> list[dict]:
    out = [m.to_json_dict() for m in session.outbox]
    session.outbox.clear()
    session.events.clear()
    return out


def handles(messages: list[dict]) -> list[str]:
    return [m["sessionResumptionUpdate"]["newHandle"] for m in messages
            if m.get("sessionResumptionUpdate", {}).get("resumable")]


def live(setup: dict | None = None, **kw) -> LiveSession:
    counter = iter(range(1, 1000))
    s = LiveSession(new_handle=lambda: f"h{next(counter)}", **kw)
    s.receive_frame(frame({"setup": {"model": MODEL, **(setup or {})}}))
    return s


def user(session: LiveSession, text: str) -> None:
    session.receive_frame(frame({"clientContent": {
        "turns": [{"role": "user", "parts": [{"text": text}]}], "turnComplete": True}}))


# ------------------------------------------------------------------ resumption

def test_updates_only_with_session_resumption() -> None:
    s = live()
    assert drain(s) == [{"setupComplete": {}}]
    s = live({"sessionResumption": {}})
    assert drain(s) == [{"setupComplete": {}},
                        {"sessionResumptionUpdate": {"newHandle": "h1", "resumable": True}}]
    assert s.handle == "h1"


def test_not_resumable_during_generation_then_a_new_handle() -> None:
    s = live({"sessionResumption": {}})
    drain(s)
    user(s, "hi")
    assert drain(s) == [{"sessionResumptionUpdate": {"resumable": False}}]
    turn_id = s.turn.turn_id
    s.model_text(turn_id, "hello")
    s.complete_turn(turn_id)
    out = drain(s)
    assert out[-1] == {"sessionResumptionUpdate": {"newHandle": "h2", "resumable": True}}
    assert out[-2]["serverContent"] == {"turnComplete": True}


def test_pending_tool_calls_survive_a_snapshot() -> None:
    s = live({"sessionResumption": {}})
    user(s, "weather in Paris")
    drain(s)
    issued = s.tool_call(s.turn.turn_id, [tk_call("get_weather", {"city": "Paris"})])
    snap = json.loads(json.dumps(s.snapshot(expires_at=100.0)))  # JSON-clean
    assert snap["pending_calls"][0]["id"] == issued[0].id
    r = live({"sessionResumption": {"handle": "h1"}}, now=10.0)
    assert r.phase is Phase.ADMITTING and r.admission.handle == "h1"
    assert not r.outbox  # setupComplete waits for the store
    r.admit(10.0, snapshot=snap)
    out = drain(r)
    assert out == [{"setupComplete": {}}, {"sessionResumptionUpdate": {"resumable": False}}]
    assert [c.text() for c in r.history] == ["weather in Paris"]
    r.receive_frame(frame({"toolResponse": {"functionResponses": [
        {"id": issued[0].id, "name": "get_weather", "response": {"summary": "sunny"}}]}}))
    events = list(r.events)
    assert type(events[-1]).__name__ == "TurnReady"
    assert [c.role for c in r.history] == ["user", "model", "user"]
    assert r.history[1].parts[0].function_call.id == issued[0].id


def tk_call(name: str, args: dict):
    from openlive.wire.content import FunctionCall
    return FunctionCall(name=name, args=args)


@pytest.mark.parametrize("snapshot", [None, {"expires_at": 5.0, "model": MODEL}])
def test_unknown_or_expired_handle_is_session_not_found(snapshot) -> None:
    r = live({"sessionResumption": {"handle": "nope"}})
    with pytest.raises(LiveError) as info:
        r.admit(10.0, snapshot=snapshot)
    assert (info.value.code, info.value.reason) == (1008, "BidiGenerateContent session not found")
    assert r.phase is Phase.CLOSED


def test_resume_may_change_the_config_but_not_the_model() -> None:
    s = live({"sessionResumption": {}})
    user(s, "one")
    s.complete_turn(s.turn.turn_id)
    snap = s.snapshot(expires_at=100.0)
    r = live({"sessionResumption": {"handle": "h2"},
              "systemInstruction": {"parts": [{"text": "new"}]}})
    r.admit(1.0, snapshot=snap)
    assert r.setup.system_instruction.text() == "new" and r.history[0].text() == "one"
    other = live({"model": "models/gemini-3.1-flash-live-preview",
                  "sessionResumption": {"handle": "h2"}})
    with pytest.raises(LiveError) as info:
        other.admit(1.0, snapshot=snap)
    assert info.value.code == 1007


# ---------------------------------------------------------------------- limits

def test_connection_lifetime_go_away_then_deadline_close() -> None:
    limits = Limits(connection_lifetime=600, go_away_before=60, session_audio=None)
    s = live(now=1000.0, limits=limits)
    drain(s)
    assert s.deadline() == 1540.0
    s.tick(1539.0)
    assert not s.outbox
    s.tick(1540.0)
    assert drain(s) == [{"goAway": {"timeLeft": "60s"}}]
    assert s.deadline() == 1600.0
    with pytest.raises(LiveError) as info:
        s.tick(1600.0)
    assert (info.value.code, info.value.reason) == (
        1011, "Deadline expired before operation could complete.")


def test_session_limits_audio_video_and_compression() -> None:
    limits = Limits(connection_lifetime=None, go_away_before=0, session_audio=900,
                    session_video=120)
    s = live(now=0.0, limits=limits)
    assert s.end_time() == 900.0
    s.receive_frame(frame({"realtimeInput": {"video": {"mimeType": "image/jpeg",
                                                       "data": "AAAA"}}}))
    assert s.deadline_changed and s.end_time() == 120.0
    c = live({"contextWindowCompression": {"slidingWindow": {}}}, now=0.0, limits=limits)
    assert c.end_time() is None


def test_resumed_session_keeps_its_start_for_the_duration_limit() -> None:
    limits = Limits(connection_lifetime=600, session_audio=900)
    s = live({"sessionResumption": {}}, now=0.0, limits=limits)
    snap = s.snapshot(expires_at=10_000.0)
    r = live({"sessionResumption": {"handle": "h1"}}, now=500.0, limits=limits)
    r.admit(500.0, snapshot=snap)
    assert r.end_time() == 900.0  # session limit from the first connection, not 500 + 600


def test_context_window_compression_cuts_at_a_user_turn() -> None:
    s = live({"contextWindowCompression": {"triggerTokens": 100,
                                           "slidingWindow": {"targetTokens": 40}},
              "systemInstruction": {"parts": [{"text": "S" * 40}]}})
    for i in range(6):
        user(s, f"u{i} " + "x" * 36)  # about 10 tokens each
        s.model_text(s.turn.turn_id, f"m{i} " + "y" * 36)
        s.complete_turn(s.turn.turn_id)
    texts = [c.text()[:2] for c in s.history]
    # 10 (system) + 120 > 100 at the 6th user turn: oldest dropped to <= 40, from a user turn
    assert texts[0].startswith("u") and len(s.history) < 12
    total = 10 + sum(s.count_tokens(c) for c in s.history[:-2])
    assert total <= 100
    assert s.setup.system_instruction.text() == "S" * 40


# ---------------------------------------------------------------------- tokens

def test_token_defaults_and_sdk_shapes() -> None:
    now = 1_900_000_000.0
    rec = tk.make_token(None, now)
    assert rec["name"].startswith("auth_tokens/") and rec["uses"] == 1
    assert rec["expire_time"] == now + 1800 and rec["new_session_expire_time"] == now + 60
    body = {"uses": 3, "expireTime": "2030-01-01T00:30:00+00:00",
            "newSessionExpireTime": "2030-01-01T00:01:00Z",
            "bidiGenerateContentSetup": {"model": "models/m", "generationConfig": {
                "responseModalities": ["AUDIO"], "temperature": 0.5}, "sessionResumption": {}},
            "fieldMask": "model,generationConfig.temperature"}
    rec = tk.make_token(body, 1_893_456_000.0 - 3600)
    assert rec["uses"] == 3 and rec["field_mask"] == ["model", "generation_config.temperature"]
    assert tk.token_response(rec)["expireTime"] == "2030-01-01T00:30:00Z"
    for bad in ({"uses": -1}, {"expireTime": "yesterday"}, {"nope": 1},
                {"expireTime": "2000-01-01T00:00:00Z"},
                {"bidiGenerateContentSetup": {"modle": "x"}}):
        with pytest.raises(tk.TokenRequestError):
            tk.make_token(bad, 1_893_456_000.0 - 3600)


def test_locked_fields_override_the_client() -> None:
    client = Setup.model_validate({
        "model": "models/client", "generationConfig": {"temperature": 1.0, "topK": 5},
        "systemInstruction": {"parts": [{"text": "client"}]},
        "sessionResumption": {"handle": "h9"}})
    constraint = {"model": "models/locked", "generationConfig": {"temperature": 0.1}}
    whole = tk.constrain_setup(client, {"setup": constraint, "field_mask": None})
    assert whole.model == "models/locked" and whole.system_instruction is None
    assert whole.generation_config.top_k is None and whole.session_resumption.handle == "h9"
    masked = tk.constrain_setup(client, {"setup": constraint, "field_mask": [
        "model", "generation_config.temperature", "system_instruction"]})
    assert masked.model == "models/locked"
    assert masked.generation_config.temperature == 0.1 and masked.generation_config.top_k == 5
    assert masked.system_instruction is None  # locked and unset in the token: removed


def test_token_spent_and_expired_rules() -> None:
    rec = {"name": "auth_tokens/x", "uses": 1, "used": 0, "expire_time": 100.0,
           "new_session_expire_time": 50.0, "setup": None, "field_mask": None}
    assert tk.token_error(rec, 10.0) is None and tk.new_session_error(rec, 10.0) is None
    assert tk.new_session_error({**rec, "used": 1}, 10.0).code == 1008
    assert tk.new_session_error(rec, 60.0).code == 1008  # past newSessionExpireTime
    assert tk.token_error(rec, 60.0) is None  # ...but resuming still works
    assert tk.token_error(rec, 100.0).code == 1008
    assert tk.token_error(None, 1.0).code == 1008
    s = live(token=rec)
    assert s.admission.spend_token
    with pytest.raises(LiveError):
        s.admit(10.0, token_spent=False)


def test_key_limiter() -> None:
    lim = KeyLimiter(max_sessions=2, max_starts_per_minute=3)
    assert lim.acquire("a", 0) is None and lim.acquire("a", 1) is None
    refused = lim.acquire("a", 2)
    assert refused is not None and refused.code == 1011 and "exhausted" in refused.reason
    assert lim.acquire("b", 2) is None  # keys are counted apart
    lim.release("a")
    assert lim.acquire("a", 3) is None
    lim.release("a")
    assert lim.acquire("a", 4).code == 1011  # 4th start within a minute
    lim.release("a")
    assert lim.acquire("a", 61) is None  # the first start left the window


# ---------------------------------------------------------------------- stores

@pytest.fixture(params=["memory", "sqlite", "redis"])
def store_spec(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:{tmp_path / 'openlive.db'}"
    if request.param == "redis":
        return request.getfixturevalue("redis_url")
    return "memory"


async def test_store_contract(store_spec: str) -> None:
    import time
    async with asyncio.timeout(10):
        store = open_store(store_spec)
        await store.open()
        try:
            now = time.time()
            await store.save_session("h1", {"a": [1, 2]}, now + 60)
            await store.save_session("old", {"a": 0}, now + 0.05)
            assert await store.load_session("h1", now) == {"a": [1, 2]}
            assert await store.load_session("missing", now) is None
            await asyncio.sleep(0.1)
            assert await store.load_session("old", time.time()) is None
            await store.delete_session("h1")
            assert await store.load_session("h1", now) is None
            await store.save_token("auth_tokens/t", {"uses": 2}, now + 60)
            assert (await store.load_token("auth_tokens/t", now))["used"] == 0
            assert await store.spend_token("auth_tokens/t", 2)
            assert await store.spend_token("auth_tokens/t", 2)
            assert not await store.spend_token("auth_tokens/t", 2)
            assert (await store.load_token("auth_tokens/t", now))["used"] == 2
            assert not await store.spend_token("auth_tokens/none", 0)
            await store.save_token("auth_tokens/u", {"uses": 0}, now + 60)
            for _ in range(5):
                assert await store.spend_token("auth_tokens/u", 0)
        finally:
            await store.aclose()
