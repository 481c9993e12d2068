"""session/resumption.py: sessionResumptionUpdate, handles and their supersession, what a
snapshot holds, and how a new connection continues it."""

from __future__ import annotations

import json

import pytest

from openlive.session import ClaimSession, LoadSession, Phase
from openlive.session import events as ev
from openlive.session.admission import owner_of, token_owner
from openlive.session.limits import Limits
from openlive.wire import errors
from openlive.wire.content import FunctionCall
from openlive.wire.errors import LiveError

from .harness import MODEL, OTHER_MODEL, Driver, handles, live, tool_response


def test_updates_only_with_session_resumption() -> None:
    Driver().setup().assert_sent({"setupComplete": {}})
    d = Driver().setup(sessionResumption={})
    d.assert_sent({"setupComplete": {}},
                  {"sessionResumptionUpdate": {"newHandle": "h1", "resumable": True}})
    assert d.core.handle == "h1"
    assert [e for e in d.events() if isinstance(e, ev.HandleIssued)] == [
        ev.HandleIssued(handle="h1", supersedes=None)]


def test_not_resumable_during_generation_then_a_new_handle() -> None:
    d = live(sessionResumption={})
    d.say("hi")
    d.assert_sent({"sessionResumptionUpdate": {"resumable": False}})
    turn_id = d.core.turn.turn_id
    d.core.model_text(turn_id, "hello")
    d.core.complete_turn(turn_id)
    out = d.drain()
    assert out[-1] == {"sessionResumptionUpdate": {"newHandle": "h2", "resumable": True}}
    assert out[-2]["serverContent"] == {"turnComplete": True}
    assert handles(out) == ["h2"]


def test_each_new_handle_supersedes_the_one_before() -> None:
    d = Driver().setup(sessionResumption={})
    for text in ("one", "two"):
        d.say(text)
        d.core.complete_turn(d.core.turn.turn_id)
    issued = [e for e in d.events() if isinstance(e, ev.HandleIssued)]
    assert issued == [ev.HandleIssued("h1", None), ev.HandleIssued("h2", "h1"),
                      ev.HandleIssued("h3", "h2")]
    assert d.core.handle == "h3"


def test_pending_tool_calls_survive_a_snapshot() -> None:
    d = live(sessionResumption={})
    d.say("weather in Paris")
    d.drain()
    issued = d.core.tool_call(d.core.turn.turn_id,
                              [FunctionCall(name="get_weather", args={"city": "Paris"})])
    call_id = issued.calls[0].id
    snap = json.loads(json.dumps(d.core.snapshot(expires_at=100.0)))  # JSON-clean
    assert snap["pending_calls"][0]["id"] == call_id
    r = Driver(now=10.0).setup(sessionResumption={"handle": "h1"})
    assert r.core.phase is Phase.ADMITTING and r.core.needs() == LoadSession("h1")
    r.assert_sent()  # setupComplete waits for the store
    r.admit({"h1": snap}, now=10.0)
    r.assert_sent({"setupComplete": {}}, {"sessionResumptionUpdate": {"resumable": False}})
    assert [c.text() for c in r.core.history] == ["weather in Paris"]
    r.events()
    r.feed(tool_response(call_id, name="get_weather", response={"summary": "sunny"}))
    events = r.events()
    assert type(events[-1]) is ev.TurnReady
    assert [c.role for c in r.core.history] == ["user", "model", "user"]
    assert r.core.history[1].parts[0].function_call.id == call_id


@pytest.mark.parametrize("snapshot", [None, {"expires_at": 5.0, "model": MODEL}])
def test_unknown_or_expired_handle_is_session_not_found(snapshot) -> None:
    r = Driver().setup(sessionResumption={"handle": "nope"})
    with pytest.raises(LiveError) as info:
        r.admit({"nope": snapshot}, now=10.0)
    assert (info.value.code, info.value.reason) == (1008, errors.SESSION_NOT_FOUND)
    assert r.core.phase is Phase.CLOSED


def test_resume_may_change_the_config_but_not_the_model() -> None:
    s = live(sessionResumption={})
    s.say("one")
    s.core.complete_turn(s.core.turn.turn_id)
    snap = s.core.snapshot(expires_at=100.0)
    r = Driver().setup(sessionResumption={"handle": "h2"},
                       systemInstruction={"parts": [{"text": "new"}]})
    r.admit({"h2": snap}, now=1.0)
    assert r.core.setup.system_instruction.text() == "new"
    assert r.core.history[0].text() == "one"
    other = Driver().setup(model=OTHER_MODEL, sessionResumption={"handle": "h2"})
    with pytest.raises(LiveError) as info:
        other.admit({"h2": snap}, now=1.0)
    assert info.value.code == 1007


def test_a_resumed_session_continues_its_counters() -> None:
    s = live(sessionResumption={})
    tid = s.start_turn("first")
    s.core.tool_call(tid, [FunctionCall(name="f")])
    s.feed(tool_response("call-1"))
    s.core.complete_turn(tid)
    r = Driver().setup(sessionResumption={"handle": "h2"})
    r.admit({"h2": s.core.snapshot(expires_at=100.0)}, now=1.0)
    assert r.core.resumed
    tid = r.start_turn("second")
    assert tid == 2
    (call,) = r.core.tool_call(tid, [FunctionCall(name="f")]).calls
    assert call.id == "call-2"


def test_a_cut_off_generation_is_kept_as_the_user_heard_it() -> None:
    s = live(sessionResumption={})
    tid = s.start_turn("tell me")
    s.core.model_text(tid, "Once upon")
    snap = s.core.snapshot(expires_at=100.0)
    assert snap["pending_calls"] == [] and snap["turn_parts"] == []
    r = Driver().setup(sessionResumption={"handle": "h1"})
    r.admit({"h1": snap}, now=1.0)
    assert [(c.role, c.text()) for c in r.core.history] == [("user", "tell me"),
                                                           ("model", "Once upon")]
    assert r.core.turn is None


def test_snapshot_to_store_expires_after_the_handle_ttl() -> None:
    limits = Limits(handle_ttl=7200.0)
    d = Driver(limits=limits).live(sessionResumption={})
    snap = d.core.snapshot_to_store(now=50.0)
    assert snap["expires_at"] == 7250.0 and snap["model"] == MODEL
    with pytest.raises(LiveError):
        Driver().setup(sessionResumption={"handle": "h1"}).admit({"h1": snap}, now=7250.0)


# ------------------------------------------------ whose session, and its token's locks

K1, K2 = owner_of("key-one"), owner_of("key-two")
TOKEN = {"name": "auth_tokens/t", "uses": 1, "expire_time": 1e12,
         "new_session_expire_time": 1e12, "owner": K1,
         "setup": {"model": MODEL, "systemInstruction": {"parts": [{"text": "locked"}]}},
         "field_mask": ["system_instruction"]}


def stored_by(owner: str, **core: object) -> dict:
    """A snapshot of a session opened with ``owner``'s credential."""
    d = Driver(owner=owner, **core)
    d.setup(sessionResumption={})
    d.admit({})
    return d.core.snapshot(expires_at=1e12)


def resume(snapshot: dict, **core: object) -> Driver:
    d = Driver(**core).setup(sessionResumption={"handle": "h"})
    return d.admit({"h": snapshot})


def test_a_session_resumes_only_under_the_credential_that_opened_it() -> None:
    snapshot = stored_by(K1)
    assert snapshot["owner"] == K1 and "key-one" not in json.dumps(snapshot)
    assert resume(snapshot, owner=K1).core.phase is Phase.LIVE
    with pytest.raises(LiveError) as info:  # another key: as if it did not exist
        resume(snapshot, owner=K2)
    assert (info.value.code, info.value.reason) == (1008, errors.SESSION_NOT_FOUND)
    # a token minted with key one is key one's credential
    token = {**TOKEN, "setup": None, "field_mask": None}
    assert resume(snapshot, token=token, owner=token_owner(token)).core.phase is Phase.LIVE
    legacy = {k: v for k, v in snapshot.items() if k != "owner"}  # stored before owners
    assert resume(legacy, owner=K2).core.phase is Phase.LIVE


def test_a_tokens_locks_hold_when_resumed_through_the_key_endpoint() -> None:
    d = Driver(token=TOKEN, owner=token_owner(TOKEN))
    d.setup(sessionResumption={}, systemInstruction={"parts": [{"text": "mine"}]})
    d.admit({}, spent=True)
    assert d.core.setup.system_instruction.text() == "locked"
    snapshot = d.core.snapshot(expires_at=1e12)
    r = Driver(owner=K1).setup(sessionResumption={"handle": "h"},
                               systemInstruction={"parts": [{"text": "mine"}]})
    r.admit({"h": snapshot})
    assert r.core.setup.system_instruction.text() == "locked"


def test_a_context_update_does_not_undo_a_tokens_lock() -> None:
    d = Driver(token=TOKEN, owner=token_owner(TOKEN)).setup()
    d.admit({}, spent=True)
    d.drain()
    d.feed({"contextUpdate": {"systemInstruction": {"parts": [{"text": "jailbreak"}]}}})
    assert d.core.setup.system_instruction.text() == "locked"
    free = live()
    free.feed({"contextUpdate": {"systemInstruction": {"parts": [{"text": "new"}]}}})
    assert free.core.setup.system_instruction.text() == "new"


# ------------------------------------------------ one connection per session (leases)

def test_a_resume_is_refused_while_another_connection_holds_the_session() -> None:
    """Google refuses a resume while the session's earlier socket is still open, with 1011
    (spec/protocol.md §5; github.com/aicc2025/sip-to-ai pull 14)."""
    first = live(sessionResumption={})
    held = first.core.lease()
    assert held is not None and held.ttl == first.core.limits.lease_ttl
    snapshot = first.core.snapshot(expires_at=1e12)
    leases = {held.key: held.holder}  # the first connection is still open
    r = Driver().setup(sessionResumption={"handle": "h"})
    with pytest.raises(LiveError) as info:
        r.admit({"h": snapshot}, leases=leases)
    assert (info.value.code, info.value.reason) == (1011, errors.INTERNAL)
    assert r.core.phase is Phase.CLOSED and r.drain() == []  # no setupComplete
    assert r.fetches == [LoadSession("h")] and [c.key for c in r.claims] == [held.key]
    assert r.core.history == [] and leases == {held.key: held.holder}
    # once the first connection released it, the same handle resumes
    del leases[held.key]
    again = Driver().setup(sessionResumption={"handle": "h"}).admit({"h": snapshot},
                                                                    leases=leases)
    assert again.core.phase is Phase.LIVE
    assert again.reloads == [LoadSession("h")]  # loaded again once the lease is held
    assert again.claims[0].wait == again.core.limits.lease_wait > 0
    assert again.core.lease().key == held.key
    assert leases == {held.key: again.core.lease_holder}


def test_a_lease_follows_the_session_across_its_handles() -> None:
    d = live(sessionResumption={})
    key = d.core.lease().key
    d.say("one")
    d.core.complete_turn(d.core.turn.turn_id)
    snapshot = d.core.snapshot(expires_at=1e12)
    r = Driver().setup(sessionResumption={"handle": "h2"}).admit({"h2": snapshot})
    assert r.core.session_id == key and r.core.lease().key == key
    assert r.core.lease().holder != d.core.lease_holder  # each connection its own holder


def test_no_lease_without_session_resumption() -> None:
    d = live()
    assert d.core.lease() is None
    d.core.close()
    assert live(sessionResumption={}).core.lease() is not None


def test_a_store_failure_closes_with_googles_unavailable() -> None:
    """The edge could not store or load the session: 1011 "The service is currently
    unavailable." (resumption.store_unavailable cites it); every later verb is a no-op."""
    d = live(sessionResumption={})
    refused = d.core.store_failed()
    assert (refused.code, refused.reason) == (1011, errors.UNAVAILABLE)
    assert d.core.phase is Phase.CLOSED and d.core.lease() is None
    d.say("after the close")
    assert d.drain() == [] and d.events() == []


def test_a_resume_continues_from_what_the_last_holder_saved_before_letting_go() -> None:
    """A client sees its close before the server saved the session and released its lease:
    the resume loads the session again once it holds the lease, and continues from that."""
    first = live(sessionResumption={})
    early = first.core.snapshot(expires_at=1e12)  # what the store held when looked up
    first.say("said last")
    first.core.complete_turn(first.core.turn.turn_id)
    final = first.core.snapshot(expires_at=1e12)  # saved at the close, then released
    store = {"h": early}
    r = Driver().setup(sessionResumption={"handle": "h"})
    while (need := r.core.needs()) is not None:
        if isinstance(need, ClaimSession):
            store["h"] = final  # the last holder saved, then let go
            r.core.fetched(True, 0.0)
        else:
            r.core.fetched(store[need.handle], 0.0)
    assert [c.text() for c in r.core.history] == ["said last"]
