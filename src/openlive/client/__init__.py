"""Raw-WebSocket client for the Gemini Live API (Google's endpoint or any openlive server)."""

from .config import make_setup
from .errors import LiveClientError, LiveConnectError, LiveSessionClosed
from .reconnect import ResumptionState, RetryPolicy
from .session import LiveSession, Received, State, connect
from .tools import ToolRegistry, ToolResult, declaration_for
from .url import Endpoint, endpoint, live_url

__all__ = [
    "Endpoint", "LiveClientError", "LiveConnectError", "LiveSession", "LiveSessionClosed",
    "Received", "ResumptionState", "RetryPolicy", "State", "ToolRegistry", "ToolResult",
    "connect", "declaration_for", "endpoint", "live_url", "make_setup",
]
