"""`openlive serve --engine replay` options (see :mod:`openlive.engines.options`)."""

from __future__ import annotations

import argparse
from typing import Any

from ..options import EngineOptionError

HELP = "answers from sessions recorded with --record (docs/recording.md)"


def parse_speed(text: str) -> float:
    """``--speed``: a factor (2 = twice as fast), or 0 / ``max`` for no waiting at all."""
    if text.strip().lower() in ("max", "0"):
        return 0.0
    try:
        speed = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number or 'max': {text!r}") from None
    if not speed > 0 or speed == float("inf"):
        raise argparse.ArgumentTypeError(f"must be more than 0, or 0/max: {text!r}")
    return speed


def add_arguments(g: argparse._ArgumentGroup) -> None:
    g.add_argument("--recordings", metavar="DIR",
                   help="the recordings to answer from (made with serve --record DIR)")
    g.add_argument("--recording", metavar="NAME",
                   help="answer every session from this one recording (its file name)")
    g.add_argument("--speed", type=parse_speed, default=1.0, metavar="X",
                   help="send recorded server messages X times faster (default 1 = the "
                        "recorded timing; 0 or max = no waiting)")


def build(args: argparse.Namespace) -> Any:
    from .engine import ReplayEngine
    from .script import RecordingError

    if not args.recordings:
        raise EngineOptionError("--engine replay needs --recordings DIR (made with "
                                "openlive serve --record DIR)")
    try:
        return ReplayEngine(args.recordings, speed=args.speed, name=args.recording)
    except RecordingError as exc:
        raise EngineOptionError(f"--recordings: {exc}") from None


def describe(args: argparse.Namespace, engine: Any) -> str:
    speed = "no waiting" if not engine.speed else f"speed {engine.speed:g}"
    return (f"replay engine ({len(engine.recordings)} recordings from {args.recordings}, "
            f"{speed})")
