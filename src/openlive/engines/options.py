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


#: Options of another engine's group that an engine also reads (the emulator looks at
#: frames with the local engine's vision options).
SHARED: dict[str, frozenset[str]] = {
    "emulator": frozenset({"vision", "vlm_url", "vlm_model_name", "vlm_api_key_env"}),
}

#: option dest -> (the engine whose group holds it, its flag, its default)
_OWNERS: dict[str, tuple[str, str, Any]] = {}


def _module(name: str) -> ModuleType:
    return importlib.import_module(ENGINES[name])


def add_engine_arguments(p: argparse.ArgumentParser) -> None:
    default = next(iter(ENGINES))
    helps = "; ".join(f"{name}: {_module(name).HELP}" for name in ENGINES)
    p.add_argument("--engine", choices=list(ENGINES), default=default,
                   help=f"what answers (default {default}). {helps}")
    for name in ENGINES:
        group = p.add_argument_group(f"{name} engine")
        _module(name).add_arguments(group)
        for action in group._group_actions:
            _OWNERS[action.dest] = (name, action.option_strings[0], action.default)


def build_engine(args: argparse.Namespace) -> Any:
    return _module(args.engine).build(args)


def check_engine_options(engine: str, argv: list[str]) -> None:
    """Refuse a command-line option of another engine (``--engine relay --script x.yaml``
    used to start and ignore the script): the user meant something this server would not
    do. Raises :class:`EngineOptionError`."""
    shared = SHARED.get(engine, frozenset())
    flags = {flag: (dest, owner) for dest, (owner, flag, _) in _OWNERS.items()}
    for word in argv:
        flag = word.split("=", 1)[0]
        if flag not in flags:
            continue
        dest, owner = flags[flag]
        if owner != engine and dest not in shared:
            raise EngineOptionError(
                f"{flag} is an option of the {owner} engine, but this server runs "
                f"--engine {engine}: remove it, or use --engine {owner}")


def describe_engine(args: argparse.Namespace, engine: Any) -> str:
    return _module(args.engine).describe(args, engine)
