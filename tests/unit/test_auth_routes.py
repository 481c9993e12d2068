"""server/auth.py and server/routes.py: credentials, key checks and Live paths (pure);
Google's REST error body (wire.errors.error_body)."""

from __future__ import annotations

import pytest
from multidict import CIMultiDict, MultiDict

from openlive.server.auth import Credentials, KeyChecker, fingerprint
from openlive.server.routes import match_live_path, match_models_path
from openlive.wire import errors
from openlive.wire.endpoints import API_VERSIONS, LIVE_PATH, METHODS


def creds(query: dict | None = None, headers: dict | None = None) -> Credentials:
    # the types aiohttp hands over: a MultiDict query and case-insensitive headers
    return Credentials.from_request(MultiDict(query or {}), CIMultiDict(headers or {}))


# ------------------------------------------------------------------- credentials

def test_key_in_query():
    assert creds({"key": "k-query"}) == Credentials(api_key="k-query")


@pytest.mark.parametrize("name", ["x-goog-api-key", "X-Goog-Api-Key", "X-GOOG-API-KEY"])
def test_key_in_header_any_case(name):
    assert creds(headers={name: "k-header"}) == Credentials(api_key="k-header")


def test_header_key_wins_over_query_key():
    assert creds({"key": "q"}, {"x-goog-api-key": "h"}).api_key == "h"


def test_access_token_in_query():
    got = creds({"access_token": "auth_tokens/abc"})
    assert got == Credentials(access_token="auth_tokens/abc")


@pytest.mark.parametrize("value", ["Token auth_tokens/abc", "token auth_tokens/abc",
                                   "TOKEN   auth_tokens/abc  "])
def test_authorization_token_header(value):
    assert creds(headers={"Authorization": value}).access_token == "auth_tokens/abc"


def test_python_sdk_ephemeral_token_pair():
    # google-genai sends the token as x-goog-api-key AND as Authorization: Token
    got = creds(headers={"x-goog-api-key": "auth_tokens/abc",
                         "Authorization": "Token auth_tokens/abc"})
    assert got == Credentials(api_key=None, access_token="auth_tokens/abc")


def test_token_in_api_key_slot_alone():
    assert creds({"key": "auth_tokens/xyz"}) == Credentials(access_token="auth_tokens/xyz")


def test_bearer_is_not_a_token_and_empty_values_are_absent():
    assert creds(headers={"Authorization": "Bearer ya29.x"}) == Credentials()
    assert creds({"key": "", "access_token": ""}, {"x-goog-api-key": ""}) == Credentials()


def test_fingerprint_hides_the_key():
    fp = fingerprint("super-secret-key")
    assert fp.startswith("key#") and "super-secret" not in fp
    assert fp == fingerprint("super-secret-key") != fingerprint("other")


# -------------------------------------------------------------------- key checks

def test_open_server_lets_everyone_in():
    checker = KeyChecker([])
    assert checker.open
    assert checker.check(Credentials()) is None
    assert checker.check(Credentials(api_key="anything")) is None
    assert KeyChecker(["", ""]).open  # empty strings are not keys


def test_right_key_passes():
    checker = KeyChecker(["k1", "k2"])
    assert not checker.open
    assert checker.check(Credentials(api_key="k1")) is None
    assert checker.check(Credentials(api_key="k2")) is None


@pytest.mark.parametrize("given", ["k3", "k1 ", "K1", "k"])
def test_wrong_key_is_api_key_invalid(given):
    err = KeyChecker(["k1", "k2"]).check(Credentials(api_key=given))
    assert err is not None
    # Google's exact text, checked literally here only (elsewhere: errors.API_KEY_INVALID)
    assert (err.code, err.reason) == (1007, "API key not valid. Please pass a valid API key.")


def test_missing_key_is_unregistered_caller():
    err = KeyChecker(["k1"]).check(Credentials())
    assert err is not None and err.code == 1008
    assert err.reason == errors.cut_reason(errors.UNREGISTERED_CALLER)
    # Google's text, checked literally here only (elsewhere: errors.UNREGISTERED_CALLER)
    assert err.reason.startswith("Method doesn't allow unregistered callers")
    assert len(err.reason.encode()) <= 123


def test_unknown_token_is_refused_while_keys_are_required():
    err = KeyChecker(["k1"]).check(Credentials(access_token="auth_tokens/abc"))
    assert err is not None and err.code == 1007


# ------------------------------------------------------------------------ routes

@pytest.mark.parametrize("version", API_VERSIONS)
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("prefix", ["/", "//", "/prefix/", "/a/b/", "///"])
def test_live_paths(version, method, prefix):
    path = prefix + LIVE_PATH.format(version=version, method=method).lstrip("/")
    route = match_live_path(path)
    assert route is not None
    assert route.api_version == version and route.method == method
    assert route.constrained == (method == "BidiGenerateContentConstrained")


@pytest.mark.parametrize("path", [
    "/ws/google.ai.generativelanguage.v2.GenerativeService.BidiGenerateContent",
    "/ws/google.ai.generativelanguage.v1beta1.GenerativeService.BidiGenerateContent",
    "/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContentX",
    "/ws/google.ai.generativelanguage.v1beta.GenerativeService.GenerateContent",
    "/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent/",
    "/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent",
    "/xws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent",
    "/ws/google.cloud.aiplatform.v1beta1.LlmBidiService/BidiGenerateContent",
    "/ws/google_ai_generativelanguage_v1beta_GenerativeService_BidiGenerateContent",
    "/",
    "",
    "/v1beta/models",
])
def test_non_live_paths_are_refused(path):
    assert match_live_path(path) is None


@pytest.mark.parametrize("path,expected", [
    ("/v1beta/models", ("v1beta", None)),
    ("/v1/models", ("v1", None)),
    ("/v1alpha/models", ("v1alpha", None)),
    ("/v1beta/models/gemini-2.0-flash-exp", ("v1beta", "gemini-2.0-flash-exp")),
    ("//v1beta/models/gemini-3.8-live", ("v1beta", "gemini-3.8-live")),
    ("/prefix/v1beta/models", ("v1beta", None)),
    ("/v2/models", None),
    ("/v1beta/modelsx", None),
    ("/models", None),
])
def test_models_paths(path, expected):
    assert match_models_path(path) == expected


# ------------------------------------------------------------------- REST error bodies

def test_error_body_is_googles_shape():
    assert errors.error_body(404, "NOT_FOUND", "models/x is not found") == {
        "error": {"code": 404, "message": "models/x is not found", "status": "NOT_FOUND"}}


def test_error_body_with_a_reason_carries_an_error_info():
    body = errors.error_body(400, "INVALID_ARGUMENT", errors.API_KEY_INVALID, "API_KEY_INVALID")
    assert body["error"]["status"] == "INVALID_ARGUMENT"
    assert body["error"]["details"] == [{"@type": "type.googleapis.com/google.rpc.ErrorInfo",
                                         "reason": "API_KEY_INVALID",
                                         "domain": "googleapis.com"}]
