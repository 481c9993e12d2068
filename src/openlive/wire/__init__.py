"""The Live API message schema: parse client JSON, emit server JSON. Pure, no I/O."""

from .client_messages import (
    ClientContent,
    ClientMessage,
    ContextUpdate,
    RealtimeInput,
    ToolResponse,
)
from .codec import (
    client_message_from_dict,
    encode_server_message,
    parse_client_frame,
    parse_server_frame,
)
from .content import Blob, Content, FunctionCall, FunctionResponse, Part
from .errors import LiveError
from .server_messages import (
    GoAway,
    ServerContent,
    ServerMessage,
    SetupComplete,
    ToolCall,
    ToolCallCancellation,
    Transcription,
    UsageMetadata,
)
from .setup import FunctionDeclaration, GenerationConfig, Setup, Tool

__all__ = [
    "Blob", "ClientContent", "ClientMessage", "Content", "ContextUpdate", "FunctionCall",
    "FunctionDeclaration", "FunctionResponse", "GenerationConfig", "GoAway", "LiveError", "Part",
    "RealtimeInput", "ServerContent", "ServerMessage", "Setup", "SetupComplete", "Tool",
    "ToolCall", "ToolCallCancellation", "ToolResponse", "Transcription", "UsageMetadata",
    "client_message_from_dict", "encode_server_message", "parse_client_frame",
    "parse_server_frame",
]
