"""`openlive serve --engine local` options (see :mod:`openlive.engines.options`)."""

from __future__ import annotations

import argparse
import importlib.util
import logging
from typing import Any

from ..options import EngineOptionError

HELP = ("VAD, speech recognition, LLM and speech synthesis on local models "
        "(needs pip install 'openlive[local]')")


def add_arguments(g: argparse._ArgumentGroup) -> None:
    del g  # model paths come from $OPENLIVE_* variables for now (docs/voice.md)


def build(args: argparse.Namespace) -> Any:
    """The local engine with its models loaded now (a clear error if they cannot be)."""
    from ..audio.models import ModelError
    from ..audio.voice import missing_voice_packages
    from .engine import LocalEngine

    missing = missing_voice_packages()
    if importlib.util.find_spec("xllamacpp") is None:
        missing.append("xllamacpp")
    if missing:
        raise EngineOptionError(f"--engine local needs {', '.join(missing)}: "
                         "pip install 'openlive[local]'")
    engine = LocalEngine()
    logging.getLogger("openlive.server").info("loading the local models…")
    try:
        engine.load()
    except ModelError as exc:
        raise EngineOptionError(str(exc)) from None
    return engine


def describe(args: argparse.Namespace, engine: Any) -> str:
    return "local engine (local models)"
