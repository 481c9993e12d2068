"""The replay engine: answers sessions from recordings made with ``serve --record``."""

from .. import lazy_exports

__all__ = ["DIVERGED", "RecordingError", "ReplayEngine"]
__getattr__ = lazy_exports(__name__, {"DIVERGED": "connection", "ReplayEngine": "engine",
                                      "RecordingError": "script"})
