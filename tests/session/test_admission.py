"""session/admission.py: who gets in — the deferred credential error, the token's use (spent
by a new session, not by a resumption), the resumption handle's lookup through alias
records, and the needs()/fetched() exchange the edge runs while ADMITTING."""

from __future__ import annotations

import pytest

from openlive.session import EdgeError, LoadSession, Phase, SpendToken
from openlive.session import events as ev
from openlive.session.admission import MAX_ALIAS_HOPS
from openlive.wire import errors
from openlive.wire.client_messages import ClientMessage
from openlive.wire.errors import LiveError

from .harness import MODEL, Driver, live, setup_message, user_text

TOKEN = {"name": "auth_tokens/t", "uses": 3, "used": 0, "expire_time": 1000.0,
         "new_session_expire_time": 100.0, "setup": None, "field_mask": None}


def stored_session(**setup_fields) -> dict:
    """A stored session (one user turn answered), valid until t=1000."""
    d = live(sessionResumption={}, **setup_fields)
    d.say("remember me")
    d.core.complete_turn(d.core.turn.turn_id)
    return d.core.snapshot(expires_at=1000.0)


def refused_admission(d: Driver, store: dict, **kw) -> LiveError:
    with pytest.raises(LiveError) as info:
        d.admit(store, **kw)
    assert d.core.phase is Phase.CLOSED and d.core.needs() is None
    return info.value


# ------------------------------------------------------------ credentials

def test_auth_error_is_raised_on_the_first_frame():
    auth = LiveError(1007, errors.API_KEY_INVALID)
    d = Driver(auth_error=auth)
    assert d.core.phase is Phase.AWAIT_SETUP  # nothing happens at the handshake
    err = d.refused(setup_message())
    assert err is auth
    assert (err.code, err.reason) == (1007, errors.API_KEY_INVALID)
    assert d.drain() == [] and d.events() == []


def test_auth_error_comes_before_any_frame_check():
    d = Driver(auth_error=LiveError(1008, errors.UNREGISTERED_CALLER))
    err = d.refused(b"\xff garbage")
    assert err.code == 1008


def test_auth_error_also_refuses_a_parsed_setup():
    d = Driver(auth_error=LiveError(1007, errors.API_KEY_INVALID))
    with pytest.raises(LiveError):
        d.core.receive(ClientMessage.model_validate(setup_message()))
    assert d.core.phase is Phase.CLOSED


# ------------------------------------------------------------- needs / fetched

def test_nothing_to_fetch_goes_live_at_once():
    d = Driver().setup()
    assert d.core.needs() is None and d.core.phase is Phase.LIVE
    with pytest.raises(EdgeError):
        d.core.fetched(True, 0.0)  # nothing was asked


def test_a_new_session_with_a_token_spends_one_use_first():
    d = Driver(token=TOKEN).setup()
    assert d.core.phase is Phase.ADMITTING
    assert d.core.needs() == SpendToken("auth_tokens/t", 3)
    assert d.drain() == [] and d.events() == []  # setupComplete waits for the store
    d.admit({}, spent=True, now=10.0)
    assert d.fetches == [SpendToken("auth_tokens/t", 3)]
    assert d.core.phase is Phase.LIVE
    d.assert_sent({"setupComplete": {}})
    assert [type(e) for e in d.events()] == [ev.SetupDone]


def test_no_use_left_is_unregistered_caller():
    d = Driver(token=TOKEN).setup()
    err = refused_admission(d, {}, spent=False, now=10.0)
    assert (err.code, err.reason) == (1008, errors.cut_reason(errors.UNREGISTERED_CALLER))
    assert d.drain() == []


def test_past_new_session_expire_time_no_new_session_starts():
    d = Driver(token=TOKEN).setup()
    err = refused_admission(d, {}, spent=True, now=100.0)
    assert err.code == 1008


def test_resuming_with_a_token_spends_nothing_and_loads_the_handle():
    store = {"h-old": stored_session()}
    d = Driver(token=TOKEN).setup(sessionResumption={"handle": "h-old"})
    assert d.core.needs() == LoadSession("h-old")
    d.admit(store, now=500.0)  # past newSessionExpireTime: resuming still works
    assert d.fetches == [LoadSession("h-old")]
    assert d.core.phase is Phase.LIVE
    assert [c.text() for c in d.core.history] == ["remember me"]


def test_the_token_constrains_the_setup_before_anything_is_fetched():
    token = {**TOKEN, "setup": {"model": MODEL}, "field_mask": ["model"]}
    d = Driver(token=token).setup(model="gemini-other", sessionResumption={"handle": "mine"})
    assert d.core.model == MODEL  # the token's model, not the client's
    assert d.core.needs() == LoadSession("mine")  # the handle stays the client's


def test_a_frame_fed_before_fetched_is_an_edge_error():
    d = Driver(token=TOKEN).setup()
    need = d.core.needs()
    with pytest.raises(EdgeError):
        d.feed(user_text("early"))
    assert d.core.phase is Phase.ADMITTING and d.core.needs() == need
    d.admit({}, now=10.0)
    assert not any(isinstance(e, ev.TurnReady) for e in d.events())


# ---------------------------------------------------------------- alias chains

def alias_chain(length: int, session: dict) -> dict:
    """``a0`` -> ``a1`` -> … -> ``a{length}``, which holds ``session``."""
    store: dict = {f"a{i}": {"alias": f"a{i + 1}"} for i in range(length)}
    store[f"a{length}"] = session
    return store


def test_alias_records_are_followed_to_the_session():
    d = Driver().setup(sessionResumption={"handle": "a0"})
    d.admit(alias_chain(3, stored_session()), now=10.0)
    assert d.fetches == [LoadSession("a0"), LoadSession("a1"), LoadSession("a2"),
                         LoadSession("a3")]
    assert d.core.phase is Phase.LIVE
    assert [c.text() for c in d.core.history] == ["remember me"]


def test_a_chain_of_max_alias_hops_is_followed():
    d = Driver().setup(sessionResumption={"handle": "a0"})
    d.admit(alias_chain(MAX_ALIAS_HOPS, stored_session()), now=10.0)
    assert len(d.fetches) == MAX_ALIAS_HOPS + 1 and d.core.phase is Phase.LIVE


def test_a_longer_chain_is_session_not_found():
    d = Driver().setup(sessionResumption={"handle": "a0"})
    err = refused_admission(d, alias_chain(MAX_ALIAS_HOPS + 1, stored_session()), now=10.0)
    assert (err.code, err.reason) == (1008, errors.SESSION_NOT_FOUND)
    assert len(d.fetches) == MAX_ALIAS_HOPS + 1
    assert LoadSession(f"a{MAX_ALIAS_HOPS + 1}") not in d.fetches


def test_an_alias_loop_ends_as_session_not_found():
    d = Driver().setup(sessionResumption={"handle": "x"})
    err = refused_admission(d, {"x": {"alias": "y"}, "y": {"alias": "x"}}, now=10.0)
    assert (err.code, err.reason) == (1008, errors.SESSION_NOT_FOUND)


def test_an_alias_to_nothing_is_session_not_found():
    d = Driver().setup(sessionResumption={"handle": "x"})
    err = refused_admission(d, {"x": {"alias": "gone"}}, now=10.0)
    assert err.reason == errors.SESSION_NOT_FOUND


def test_the_first_handle_after_a_resume_supersedes_the_found_one():
    d = Driver().setup(sessionResumption={"handle": "a0"})
    d.admit(alias_chain(2, stored_session()), now=10.0)
    issued = [e for e in d.events() if isinstance(e, ev.HandleIssued)]
    assert issued == [ev.HandleIssued(handle="h1", supersedes="a2")]
    d.say("again")
    d.core.complete_turn(d.core.turn.turn_id)
    assert [e for e in d.events() if isinstance(e, ev.HandleIssued)] == [
        ev.HandleIssued(handle="h2", supersedes="h1")]
