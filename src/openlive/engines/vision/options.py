"""Video options of an engine (``--vision``, ``--vlm-url``…): docs/vision.md.

Importing this module loads no model.
"""

from __future__ import annotations

import argparse
import logging
import os
from typing import Any

from ..options import EngineOptionError


def add_vision_arguments(g: argparse._ArgumentGroup) -> None:
    """Video: the detectors of the vision extra, or a vision model (docs/vision.md)."""
    g.add_argument("--vision", choices=["auto", "on", "off"], default="auto",
                   help="describe realtimeInput.video frames (text read, QR codes, people, "
                        "colours) for the LLM: auto (default) when the vision extra is "
                        "installed, on (fail without it), off")
    g.add_argument("--vlm-url", metavar="URL",
                   help="send video frames to a vision model behind an OpenAI-compatible "
                        "chat-completions endpoint instead (image_url content), e.g. "
                        "llama.cpp's server with --mmproj, vLLM, Ollama")
    g.add_argument("--vlm-model-name", metavar="NAME",
                   help="with --vlm-url: the model name to request (default: the server's)")
    g.add_argument("--vlm-api-key-env", metavar="VAR",
                   help="with --vlm-url: the environment variable holding its API key "
                        "(sent as a Bearer token, never logged)")


def build_vision(args: argparse.Namespace) -> Any:
    """The engine's :class:`~openlive.engines.vision.session.Vision`, loaded now, or None."""
    from ..vision.session import Vision

    url = getattr(args, "vlm_url", None)
    if url is None:
        for flag, attr in (("--vlm-model-name", "vlm_model_name"),
                           ("--vlm-api-key-env", "vlm_api_key_env")):
            if getattr(args, attr, None):
                raise EngineOptionError(f"{flag} needs --vlm-url")
    if url is not None:
        from ..vision.vlm import VisionModel, VisionModelError

        if args.vision == "off":
            raise EngineOptionError("--vlm-url and --vision off exclude each other")
        if not url.startswith(("http://", "https://")):
            raise EngineOptionError(f"--vlm-url {url}: not an http(s) URL")
        key = None
        if args.vlm_api_key_env:
            key = os.environ.get(args.vlm_api_key_env)
            if not key:
                raise EngineOptionError(f"--vlm-api-key-env {args.vlm_api_key_env}: that "
                                        "environment variable is not set")
        vlm = VisionModel(url, model=args.vlm_model_name, api_key=key)
        try:
            served = vlm.check()
        except VisionModelError as exc:
            raise EngineOptionError(f"--vlm-url: {exc}") from None
        logging.getLogger("openlive.server").info("vision endpoint %s serves %s", url,
                                                  ", ".join(served) or "(no model list)")
        return Vision(vlm=vlm)
    if args.vision == "off":
        return None
    from ..vision.models import INSTALL_HINT, ModelError, missing_vision_packages

    missing = missing_vision_packages()
    if missing:
        if args.vision == "on":
            raise EngineOptionError(f"--vision on needs {', '.join(missing)}: {INSTALL_HINT}")
        logging.getLogger("openlive.server").info(
            "video frames are not looked at: %s not installed (%s)", ", ".join(missing),
            INSTALL_HINT)
        return None
    from ..vision.analyser import FrameAnalyser

    analyser = FrameAnalyser(threads=getattr(args, "llm_threads", 2))
    try:
        analyser.load()
    except ModelError as exc:
        raise EngineOptionError(str(exc)) from None
    return Vision(analyser=analyser)


def vision_if_installed() -> Any:
    """A :class:`~openlive.engines.vision.session.Vision` on the detectors when the vision
    extra is installed (models load at the first frame), else None (logged)."""
    from .models import INSTALL_HINT, missing_vision_packages

    missing = missing_vision_packages()
    if missing:
        logging.getLogger("openlive.server").info(
            "video frames are not looked at: %s not installed (%s)", ", ".join(missing),
            INSTALL_HINT)
        return None
    from .analyser import FrameAnalyser
    from .session import Vision

    return Vision(analyser=FrameAnalyser())
