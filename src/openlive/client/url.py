"""The Live endpoint URL and handshake headers, exactly as Google documents them. Pure.
The paths and versions, and ``live_url``, live in :mod:`openlive.wire.endpoints`.

``wss://generativelanguage.googleapis.com/ws/google.ai.generativelanguage.v1beta.
GenerativeService.BidiGenerateContent?key=KEY`` for API keys, and
``…v1alpha.GenerativeService.BidiGenerateContentConstrained?access_token=auth_tokens/…``
for ephemeral tokens (spec/protocol.md §1).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import quote, urlsplit, urlunsplit

from .. import __version__
from ..wire.endpoints import (
    API_VERSIONS,
    CONSTRAINED_METHOD,
    DEFAULT_API_VERSION,
    GOOGLE_BASE_URL,
    METHOD,
    TOKEN_API_VERSION,
    live_url,
)

USER_AGENT = f"openlive-client/{__version__}"

__all__ = [  # the endpoint names are re-exported: client code may keep importing them here
    "API_VERSIONS", "CONSTRAINED_METHOD", "DEFAULT_API_VERSION", "GOOGLE_BASE_URL", "METHOD",
    "TOKEN_API_VERSION", "USER_AGENT", "Endpoint", "endpoint", "live_url", "model_name",
]


@dataclass(frozen=True)
class Endpoint:
    """Where and how to open a Live WebSocket."""

    url: str
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def redacted_url(self) -> str:
        """The URL with credentials hidden, for logs and status lines."""
        parts = urlsplit(self.url)
        if not parts.query:
            return self.url
        query = "&".join(
            (kv.split("=", 1)[0] + "=***") if kv.split("=", 1)[0] in ("key", "access_token")
            else kv for kv in parts.query.split("&"))
        return urlunsplit(parts._replace(query=query))


def model_name(model: str) -> str:
    """``gemini-x`` -> ``models/gemini-x`` (what setup.model holds); full names are kept."""
    return model if "/" in model else f"models/{model}"


def endpoint(base_url: str | None = None, *, api_key: str | None = None,
             token: str | None = None, api_version: str | None = None,
             key_in_header: bool = False,
             headers: dict[str, str] | None = None) -> Endpoint:
    """URL and headers for one connection.

    - ``api_key``: sent as ``?key=`` (Google's raw-WebSocket guide) or, with
      ``key_in_header=True``, as the ``x-goog-api-key`` header (what google-genai does).
    - ``token`` (an ephemeral ``auth_tokens/…`` name): the Constrained method, v1alpha unless
      ``api_version`` says otherwise, ``?access_token=`` as in Google's docs.
    """
    if api_key and token:
        raise ValueError("give api_key or token, not both")
    if api_key and api_key.startswith("auth_tokens/"):  # what google-genai does, too
        api_key, token = None, api_key
    url = live_url(base_url, api_version=api_version, constrained=token is not None)
    out = {"User-Agent": USER_AGENT}
    out.update(headers or {})
    if token is not None:
        url += "?access_token=" + quote(token, safe="/")
    elif api_key:
        if key_in_header:
            out["x-goog-api-key"] = api_key
        else:
            url += "?key=" + quote(api_key, safe="")
    return Endpoint(url=url, headers=out)
