"""Forward every session to an upstream Live endpoint with a key the server holds."""

from .. import lazy_exports

__all__ = ["GOOGLE_UPSTREAM", "RelayEngine", "Upstream"]
__getattr__ = lazy_exports(__name__, {"GOOGLE_UPSTREAM": "upstream", "RelayEngine": "engine",
                                      "Upstream": "upstream"})
