"""Where the relay sends sessions: the upstream Live endpoint and the server-held key."""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from ...wire.endpoints import live_url

GOOGLE_UPSTREAM = "https://generativelanguage.googleapis.com"


@dataclass(frozen=True)
class Upstream:
    """Where sessions go, and with which key (the key is never logged nor shown in repr)."""

    base_url: str
    api_key: str | None = field(default=None, repr=False)
    ssl_context: ssl.SSLContext | None = None  # None: the system's trusted CAs
    compression: bool = False  # permessage-deflate on the upstream hop (costs latency)
    connect_timeout: float = 10.0

    def __post_init__(self) -> None:
        live_url(self.base_url)  # ValueError on a URL that is not http(s):// or ws(s)://

    @property
    def host(self) -> str:
        """host[:port] for log lines and close reasons."""
        base = self.base_url if "://" in self.base_url else "ws://" + self.base_url
        return urlsplit(base).netloc

    def url(self, api_version: str) -> str:
        """The upstream's plain Live method in the client's API version (ephemeral tokens
        are openlive's own: upstream, the server key opens the unconstrained method)."""
        return live_url(self.base_url, api_version=api_version)

    def headers(self) -> dict[str, str]:
        return {"x-goog-api-key": self.api_key} if self.api_key else {}
