"""Which engines `openlive serve --engine NAME` knows, and how each is built from its options.

Each engine keeps its own command-line options beside it, in ``engines/<name>/options.py``,
a module with:

* ``HELP`` — one line for ``--engine``'s help;
* ``add_arguments(group)`` — its options, added to an argparse group of their own;
* ``build(args) -> Engine`` — the engine, ready to serve (models loaded, files read); on a
  problem the user can fix it raises :class:`EngineOptionError` with a clear message
  (``openlive serve`` prints it and exits 2);
* ``describe(args, engine) -> str`` — what is being served, for the start-up log line.

Modules are imported when the parser is built, so they keep heavy imports inside
``build``.
"""

from __future__ import annotations

import argparse
import importlib
from types import ModuleType
from typing import Any


class EngineOptionError(Exception):
    """An engine cannot be built from the options given (the message says why and what to do)."""


#: engine name -> module with its options; the first is the default.
ENGINES: dict[str, str] = {
    "emulator": "openlive.engines.emulator.options",
    "local": "openlive.engines.local.options",
    "relay": "openlive.engines.relay.options",
    "replay": "openlive.engines.replay.options",
}


def _module(name: str) -> ModuleType:
    return importlib.import_module(ENGINES[name])


def add_engine_arguments(p: argparse.ArgumentParser) -> None:
    default = next(iter(ENGINES))
    helps = "; ".join(f"{name}: {_module(name).HELP}" for name in ENGINES)
    p.add_argument("--engine", choices=list(ENGINES), default=default,
                   help=f"what answers (default {default}). {helps}")
    for name in ENGINES:
        _module(name).add_arguments(p.add_argument_group(f"{name} engine"))


def build_engine(args: argparse.Namespace) -> Any:
    return _module(args.engine).build(args)


def describe_engine(args: argparse.Namespace, engine: Any) -> str:
    return _module(args.engine).describe(args, engine)
