"""Session recordings: ``openlive serve --record DIR`` and ``openlive recordings list/show``."""

from .recorder import Recorder, read_recording

__all__ = ["Recorder", "read_recording"]
