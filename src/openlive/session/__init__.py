"""The session state machine (setup -> live -> closed). Pure: no sockets, no clocks."""

from .models import GEMINI_LIVE_MODELS, ModelCatalog
from .state import LiveSession, Phase

__all__ = ["GEMINI_LIVE_MODELS", "LiveSession", "ModelCatalog", "Phase"]
