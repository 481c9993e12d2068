"""Which HTTP paths are Live endpoints (pure)."""

from __future__ import annotations

import re
from dataclasses import dataclass

# Both SDKs send a leading "//" when the base URL has no path, and keep a base-URL prefix.
_LIVE_PATH = re.compile(
    r"^/+(?:.*/)?ws/google\.ai\.generativelanguage\.(v1|v1beta|v1alpha)\."
    r"GenerativeService\.(BidiGenerateContent|BidiGenerateContentConstrained)$"
)
_MODELS_PATH = re.compile(r"^/+(?:.*/)?(v1|v1beta|v1alpha)/models(?:/(.+))?$")


@dataclass(frozen=True)
class LiveRoute:
    api_version: str
    method: str

    @property
    def constrained(self) -> bool:
        return self.method == "BidiGenerateContentConstrained"


def match_live_path(path: str) -> LiveRoute | None:
    m = _LIVE_PATH.match(path)
    return LiveRoute(api_version=m.group(1), method=m.group(2)) if m else None


def match_models_path(path: str) -> tuple[str, str | None] | None:
    """(api_version, model name or None) for GET …/v1beta/models[/NAME]."""
    m = _MODELS_PATH.match(path)
    return (m.group(1), m.group(2)) if m else None
