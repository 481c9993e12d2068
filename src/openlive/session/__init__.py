"""The Live session core: every protocol rule, no sockets, no clocks (see state.py)."""

from .models import GEMINI_LIVE_MODELS, ModelCatalog
from .state import (
    CLIENT_RULES,
    ClaimSession,
    EdgeError,
    LoadSession,
    Phase,
    SessionCore,
    SpendToken,
)

__all__ = ["CLIENT_RULES", "GEMINI_LIVE_MODELS", "ClaimSession", "EdgeError", "LoadSession",
           "ModelCatalog", "Phase", "SessionCore", "SpendToken"]
