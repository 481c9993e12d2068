"""Scripted, deterministic replies for testing Live apps offline."""

from .engine import EmulatorEngine
from .script import ScriptError, load_script

__all__ = ["EmulatorEngine", "ScriptError", "load_script"]
