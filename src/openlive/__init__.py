"""openlive: a self-hosted, wire-compatible Gemini Live API."""

__version__ = "0.1.0"
