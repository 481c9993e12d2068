"""The Live session core: every protocol rule, no sockets, no clocks (see state.py)."""

from .models import GEMINI_LIVE_MODELS, ModelCatalog
from .state import CLIENT_RULES, EdgeError, LoadSession, Phase, SessionCore, SpendToken

__all__ = ["CLIENT_RULES", "GEMINI_LIVE_MODELS", "EdgeError", "LoadSession", "ModelCatalog",
           "Phase", "SessionCore", "SpendToken"]
