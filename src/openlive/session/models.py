"""Which model names a session accepts, and the catalogue listed at GET /v1beta/models."""

from __future__ import annotations

import re
from collections.abc import Iterable

# Current and recent Live models (spec/protocol.md §8). Apps hard-code these, and retired
# ones too, so the whole gemini-* family is accepted; this list is what ListModels shows.
GEMINI_LIVE_MODELS = (
    "gemini-2.5-flash-native-audio-preview-12-2025",
    "gemini-2.5-flash-native-audio-preview-09-2025",
    "gemini-2.5-flash-native-audio-latest",
    "gemini-3.1-flash-live-preview",
    "gemini-3.8-live",
    "gemini-3.8-live-extended-thinking",
    "gemini-live-2.5-flash-preview",
    "gemini-2.0-flash-live-001",
    "gemini-2.0-flash-exp",
)

_GEMINI_FAMILY = re.compile(r"^gemini-[a-z0-9][a-z0-9.\-]*$")


class ModelCatalog:
    """Accepts ``gemini-*`` names and the names an engine adds, with or without ``models/``."""

    def __init__(self, extra_names: Iterable[str] = ()) -> None:
        self.extra = tuple(_bare(n) for n in extra_names)

    def resolve(self, name: str) -> str | None:
        """The canonical ``models/NAME``, or None if this server does not serve it."""
        if not name.startswith("models/"):
            if "/" in name:  # tunedModels/…, projects/… (Vertex): not served here
                return None
            name = "models/" + name
        bare = name[len("models/"):]
        if bare in self.extra or _GEMINI_FAMILY.match(bare):
            return name
        return None

    def listed(self) -> list[str]:
        seen: dict[str, None] = dict.fromkeys((*self.extra, *GEMINI_LIVE_MODELS))
        return list(seen)


def _bare(name: str) -> str:
    return name[len("models/"):] if name.startswith("models/") else name
