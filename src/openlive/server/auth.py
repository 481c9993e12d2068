"""Credentials on the handshake: API keys from ``?key=`` or ``x-goog-api-key``.

The check happens at the handshake, but Google reports a refusal only after the client's
first message (a close with code and reason), so the result is handed to the session.
Keys are compared in constant time and never logged.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ..wire import errors
from ..wire.errors import LiveError


@dataclass(frozen=True)
class Credentials:
    api_key: str | None = None
    access_token: str | None = None  # ephemeral tokens (auth_tokens/…), on …Constrained

    @classmethod
    def from_request(cls, query: Mapping[str, str], headers: Mapping[str, str]) -> Credentials:
        key = headers.get("x-goog-api-key") or query.get("key") or None
        token = query.get("access_token") or None
        auth = headers.get("authorization", "")
        if auth[:6].lower() == "token ":
            token = auth[6:].strip() or token
        if key and key.startswith("auth_tokens/"):  # google-genai sends tokens here too
            token, key = token or key, None
        return cls(api_key=key, access_token=token)


def fingerprint(secret: str) -> str:
    """A short, non-reversible label for logs: never the key itself."""
    return "key#" + hashlib.sha256(secret.encode()).hexdigest()[:8]


class KeyChecker:
    def __init__(self, keys: Iterable[str] = ()) -> None:
        self._keys = [k.encode() for k in keys if k]

    @property
    def open(self) -> bool:
        """No keys configured: every client is let in."""
        return not self._keys

    def check(self, creds: Credentials) -> LiveError | None:
        """None if the connection may proceed, else the error to close it with."""
        if self.open:
            return None
        if creds.api_key:
            given = creds.api_key.encode()
            ok = False
            for key in self._keys:  # no early exit: time does not depend on which key
                ok |= hmac.compare_digest(given, key)
            return None if ok else LiveError(1007, errors.API_KEY_INVALID)
        if creds.access_token:
            return LiveError(1007, errors.API_KEY_INVALID)  # tokens open …Constrained only
        return LiveError(1008, errors.UNREGISTERED_CALLER)
