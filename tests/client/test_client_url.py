"""The endpoint URL and handshake headers (pure: no sockets). The documented paths are
spelled out here, once; other tests build them with :mod:`openlive.wire.endpoints`."""

from __future__ import annotations

import pytest

from openlive.client.url import endpoint, live_url, model_name
from openlive.wire import endpoints

GOOGLE = "wss://generativelanguage.googleapis.com"
PATH = "/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent"
CONSTRAINED = ("/ws/google.ai.generativelanguage.v1alpha.GenerativeService."
               "BidiGenerateContentConstrained")


def test_google_endpoint_with_api_key_is_the_documented_url() -> None:
    ep = endpoint(api_key="AIzaKEY")
    assert ep.url == GOOGLE + PATH + "?key=AIzaKEY"
    assert "x-goog-api-key" not in ep.headers
    assert ep.headers["User-Agent"].startswith("openlive-client/")


def test_ephemeral_token_uses_the_constrained_v1alpha_method() -> None:
    ep = endpoint(token="auth_tokens/abc123")
    assert ep.url == GOOGLE + CONSTRAINED + "?access_token=auth_tokens/abc123"
    # google-genai's habit of passing the token as the api key works too
    assert endpoint(api_key="auth_tokens/abc123").url == ep.url


def test_key_in_header_like_google_genai() -> None:
    ep = endpoint(api_key="k", key_in_header=True, headers={"x-extra": "1"})
    assert ep.url == GOOGLE + PATH
    assert ep.headers["x-goog-api-key"] == "k"
    assert ep.headers["x-extra"] == "1"


@pytest.mark.parametrize("base, expected", [
    ("http://127.0.0.1:8080", "ws://127.0.0.1:8080" + PATH),
    ("https://localhost:8443/", "wss://localhost:8443" + PATH),
    ("ws://h:1/prefix", "ws://h:1/prefix" + PATH),
    ("wss://h/prefix/", "wss://h/prefix" + PATH),
    ("127.0.0.1:9000", "ws://127.0.0.1:9000" + PATH),
])
def test_base_urls(base: str, expected: str) -> None:
    assert live_url(base) == expected


def test_versions_and_errors() -> None:
    assert ".v1alpha." in live_url(api_version="v1alpha")
    assert ".v1.GenerativeService" in live_url(api_version="v1")
    with pytest.raises(ValueError):
        live_url(api_version="v2")
    with pytest.raises(ValueError):
        live_url("ftp://x")
    with pytest.raises(ValueError):
        endpoint(api_key="k", token="auth_tokens/t")


def test_key_is_url_encoded_and_redacted() -> None:
    ep = endpoint("http://h:1", api_key="a b/c")
    assert ep.url.endswith("?key=a%20b%2Fc")
    assert ep.redacted_url.endswith("?key=***")
    assert "a%20b" not in ep.redacted_url


def test_model_name() -> None:
    assert model_name("gemini-2.0-flash-exp") == "models/gemini-2.0-flash-exp"
    assert model_name("models/gemini-2.0-flash-exp") == "models/gemini-2.0-flash-exp"


def test_endpoint_paths_are_the_documented_ones() -> None:
    assert endpoints.live_path() == PATH
    assert endpoints.live_path("v1alpha", constrained=True) == CONSTRAINED
    assert endpoints.auth_tokens_path() == "/v1alpha/auth_tokens"
    assert endpoints.models_path() == "/v1beta/models"
    assert endpoints.models_path("v1", "gemini-2.0-flash-exp") == "/v1/models/gemini-2.0-flash-exp"
    assert endpoints.API_VERSIONS == ("v1", "v1beta", "v1alpha")


@pytest.mark.parametrize("path,version", [
    ("/v1alpha/auth_tokens", "v1alpha"), ("//v1beta/auth_tokens", "v1beta"),
    ("/prefix/v1/auth_tokens", "v1"), ("/v2/auth_tokens", None),
    ("/v1alpha/auth_tokens/x", None), ("/v1alpha/auth_tokensx", None)])
def test_auth_tokens_path_pattern(path: str, version: str | None) -> None:
    m = endpoints.AUTH_TOKENS_PATH_PATTERN.match(path)
    assert (m.group(1) if m else None) == version
