"""Forward every session to an upstream Live endpoint with a key the server holds."""

from .engine import GOOGLE_UPSTREAM, RelayEngine, Upstream

__all__ = ["GOOGLE_UPSTREAM", "RelayEngine", "Upstream"]
