"""The replay engine: answers sessions from recordings made with ``serve --record``."""

from .connection import DIVERGED
from .engine import ReplayEngine
from .script import RecordingError

__all__ = ["DIVERGED", "RecordingError", "ReplayEngine"]
