"""Where the Live API lives: endpoint paths, API versions, and the pure URL builder. The one
home for these strings: the client builds URLs from them, the server matches paths with
the patterns built from them, the relay dials its upstream with them (spec/protocol.md §1).

``/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent`` for API
keys; ``…v1alpha.GenerativeService.BidiGenerateContentConstrained`` for ephemeral tokens;
REST ``/{version}/auth_tokens`` mints tokens and ``/{version}/models[/NAME]`` lists models.
Imports nothing from openlive: this is the lowest layer.
"""

from __future__ import annotations

import re
import string
from urllib.parse import urlsplit, urlunsplit

GOOGLE_BASE_URL = "wss://generativelanguage.googleapis.com"
API_VERSIONS = ("v1", "v1beta", "v1alpha")
DEFAULT_API_VERSION = "v1beta"
TOKEN_API_VERSION = "v1alpha"  # ephemeral tokens: the Constrained method lives in v1alpha
METHOD = "BidiGenerateContent"
CONSTRAINED_METHOD = "BidiGenerateContentConstrained"  # ephemeral tokens (auth_tokens/…)
METHODS = (METHOD, CONSTRAINED_METHOD)

LIVE_PATH = "/ws/google.ai.generativelanguage.{version}.GenerativeService.{method}"
AUTH_TOKENS_PATH = "/{version}/auth_tokens"
MODELS_PATH = "/{version}/models"

_SCHEMES = {"http": "ws", "https": "wss", "ws": "ws", "wss": "wss"}


def live_path(api_version: str = DEFAULT_API_VERSION, *, constrained: bool = False) -> str:
    """The Live method's path (no base-URL prefix): ``/ws/google.ai.…BidiGenerateContent``."""
    return LIVE_PATH.format(version=api_version,
                            method=CONSTRAINED_METHOD if constrained else METHOD)


def auth_tokens_path(api_version: str = TOKEN_API_VERSION) -> str:
    """``/v1alpha/auth_tokens``: where ``POST`` mints an ephemeral token."""
    return AUTH_TOKENS_PATH.format(version=api_version)


def models_path(api_version: str = DEFAULT_API_VERSION, name: str | None = None) -> str:
    """``/v1beta/models`` (the listing), or ``/v1beta/models/NAME`` (one model)."""
    path = MODELS_PATH.format(version=api_version)
    return f"{path}/{name}" if name else path


def live_url(base_url: str | None = None, *, api_version: str | None = None,
             constrained: bool = False) -> str:
    """The Live endpoint URL without credentials.

    ``base_url`` may be ``http(s)://`` (rewritten to ``ws(s)://``, as the SDKs do) or
    ``ws(s)://``, with or without a path prefix (kept: ``https://h/prefix`` ->
    ``wss://h/prefix/ws/…``). Default: Google's endpoint. The version defaults to v1beta,
    v1alpha for the ``constrained`` (ephemeral-token) method.
    """
    base = (base_url or GOOGLE_BASE_URL).strip()
    if "://" not in base:
        base = "ws://" + base
    parts = urlsplit(base)
    scheme = _SCHEMES.get(parts.scheme.lower())
    if scheme is None:
        raise ValueError(f"base URL must be http(s):// or ws(s)://, got {base_url!r}")
    if not parts.netloc:
        raise ValueError(f"base URL has no host: {base_url!r}")
    version = api_version or (TOKEN_API_VERSION if constrained else DEFAULT_API_VERSION)
    if version not in API_VERSIONS:
        raise ValueError(f"api_version must be one of {', '.join(API_VERSIONS)}, got {version!r}")
    path = parts.path.rstrip("/") + live_path(version, constrained=constrained)
    return urlunsplit((scheme, parts.netloc, path, "", ""))


def _alternatives(names: tuple[str, ...]) -> str:
    return "(" + "|".join(re.escape(n) for n in names) + ")"


def path_pattern(template: str, **fields: str) -> re.Pattern[str]:
    """A path template as a regex matching a request path: each ``{field}`` becomes the
    regex given for it; the path may follow a base-URL prefix, and its leading ``/`` may be
    doubled (both SDKs send ``//`` when the base URL has no path)."""
    out = ""
    for literal, field, _, _ in string.Formatter().parse(template.lstrip("/")):
        out += re.escape(literal)
        if field is not None:
            out += fields[field]
    return re.compile(r"^/+(?:.*/)?" + out + "$")


_VERSION = _alternatives(API_VERSIONS)
LIVE_PATH_PATTERN = path_pattern(LIVE_PATH, version=_VERSION, method=_alternatives(METHODS))
"""Groups: api version, method."""
AUTH_TOKENS_PATH_PATTERN = path_pattern(AUTH_TOKENS_PATH, version=_VERSION)
"""Group: api version."""
MODELS_PATH_PATTERN = path_pattern(MODELS_PATH + "{name}", version=_VERSION,
                                   name=r"(?:/(.+))?")
"""Groups: api version, model name (None for the listing)."""
