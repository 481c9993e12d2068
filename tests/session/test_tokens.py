"""session/tokens.py: ephemeral token records, their SDK shapes, locked setup fields, and the
spend and expiry rules (the core's side of a token use: test_admission.py)."""

from __future__ import annotations

import pytest

from openlive.session import Phase, SpendToken
from openlive.session import tokens as tk
from openlive.wire.errors import LiveError
from openlive.wire.setup import Setup

from .harness import Driver


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
    d = Driver(token=rec).setup()
    assert d.core.needs() == SpendToken("auth_tokens/x", 1)
    with pytest.raises(LiveError):
        d.admit({}, spent=False, now=10.0)
    assert d.core.phase is Phase.CLOSED


def test_the_operator_is_told_which_token_rule_refused_and_the_client_is_not():
    """Google answers an unknown, an expired and a spent token alike; the log must not
    (issue 17): LiveError.detail, never sent."""
    rec = {"name": "auth_tokens/x", "uses": 2, "used": 2, "expire_time": 100.0,
           "new_session_expire_time": 50.0, "setup": None, "field_mask": None}
    refusals = [tk.token_error(None, 1.0), tk.token_error(rec, 100.0),
                tk.new_session_error({**rec, "used": 0}, 60.0), tk.new_session_error(rec, 10.0)]
    assert {(e.code, e.reason) for e in refusals} == {(1008, refusals[0].reason)}
    assert [e.detail for e in refusals] == [
        "unknown ephemeral token", "ephemeral token expired (past its expireTime)",
        "ephemeral token past its newSessionExpireTime (no new sessions)",
        "ephemeral token spent (all 2 uses taken)"]
    d = Driver(token={**rec, "used": 0}).setup()
    with pytest.raises(LiveError) as info:
        d.admit({}, spent=False, now=10.0)
    assert info.value.detail == "ephemeral token spent (no use left)"
    assert "spent" not in info.value.reason
