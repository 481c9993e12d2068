"""Scripted, deterministic replies for testing Live apps offline."""

from .. import lazy_exports

__all__ = ["EmulatorEngine", "ScriptError", "load_script"]
__getattr__ = lazy_exports(__name__, {"EmulatorEngine": "engine", "ScriptError": "script",
                                      "load_script": "script"})
