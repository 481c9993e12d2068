"""Which HTTP paths are Live endpoints (pure). The paths and versions themselves live in
:mod:`openlive.wire.endpoints`; this module only matches them."""

from __future__ import annotations

from dataclasses import dataclass

from ..wire.endpoints import CONSTRAINED_METHOD, LIVE_PATH_PATTERN, MODELS_PATH_PATTERN


@dataclass(frozen=True)
class LiveRoute:
    api_version: str
    method: str

    @property
    def constrained(self) -> bool:
        return self.method == CONSTRAINED_METHOD


def match_live_path(path: str) -> LiveRoute | None:
    m = LIVE_PATH_PATTERN.match(path)
    return LiveRoute(api_version=m.group(1), method=m.group(2)) if m else None


def match_models_path(path: str) -> tuple[str, str | None] | None:
    """(api_version, model name or None) for GET …/v1beta/models[/NAME]."""
    m = MODELS_PATH_PATTERN.match(path)
    return (m.group(1), m.group(2)) if m else None
