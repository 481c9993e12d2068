"""What every replayed connection of one engine shares: the recordings, the speed, and the
resumption handles this server issued (each stands for a recorded handle's digest)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ...recording.recorder import handle_digest
from .matching import Matcher
from .script import Recording

MAX_HANDLES = 10_000  # handles issued by this server, remembered for resumption


@dataclass
class ReplaySource:
    recordings: list[Recording]
    speed: float = 1.0  # recorded delays are divided by it (0: no waiting)
    handles: dict[str, str] = field(default_factory=dict)  # issued here -> recorded digest
    matcher: Matcher = field(default_factory=Matcher)  # how client messages are compared
    # the recording's before_record hook, applied to what the client sends before it is
    # compared (what was recorded went through it: a redacted field matches)
    before_record: Callable[[str, dict], dict | None] | None = None

    def issue_handle(self, handle: str, recorded: str) -> None:
        """Remember that ``handle`` (sent by this server) stands for ``recorded``."""
        if len(self.handles) >= MAX_HANDLES:
            self.handles.pop(next(iter(self.handles)))
        self.handles[handle] = recorded

    def recorded_handle(self, handle: str) -> str:
        """The recorded digest a client's resumption handle stands for (a handle issued
        by this server, or else the digest of the handle as it came)."""
        return self.handles.get(handle) or handle_digest(handle)
