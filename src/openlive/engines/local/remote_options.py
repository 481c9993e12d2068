"""The local engine's remote speech stages: ``--asr-url`` and ``--tts-url`` (OpenAI-compatible
``/v1/audio/transcriptions`` and ``/v1/audio/speech``), their model names, voices, keys,
timeout and retries. Voice activity detection stays on this node. docs/deploy.md."""

from __future__ import annotations

import argparse
import logging
import os
from typing import Any

from ..options import EngineOptionError

log = logging.getLogger("openlive.server")


def add_remote_arguments(g: argparse._ArgumentGroup) -> None:
    g.add_argument("--asr-url", metavar="URL",
                   help="recognize speech on an OpenAI-compatible /audio/transcriptions "
                        "endpoint instead of the in-process Whisper, e.g. "
                        "http://gpu1:8000/v1 (speaches, vLLM, another openlive)")
    g.add_argument("--asr-model-name", metavar="NAME",
                   help="with --asr-url: the model to ask for (default: the first it lists)")
    g.add_argument("--asr-api-key-env", metavar="VAR",
                   help="with --asr-url: the environment variable holding its API key")
    g.add_argument("--tts-url", metavar="URL",
                   help="synthesize speech on an OpenAI-compatible /audio/speech endpoint "
                        "(response_format pcm, streamed) instead of the in-process Piper")
    g.add_argument("--tts-model-name", metavar="NAME",
                   help="with --tts-url: the model to ask for (default: the first it lists)")
    g.add_argument("--tts-voice", metavar="NAME",
                   help="with --tts-url: the voice to ask for (default alloy)")
    g.add_argument("--tts-api-key-env", metavar="VAR",
                   help="with --tts-url: the environment variable holding its API key")
    g.add_argument("--backend-timeout", type=float, default=30.0, metavar="SECONDS",
                   help="with --asr-url/--tts-url: seconds for each request (default 30)")
    g.add_argument("--backend-retries", type=int, default=2, metavar="N",
                   help="with --asr-url/--tts-url: retries of a failed request (connection "
                        "errors, timeouts, HTTP 408/409/429/5xx), with backoff and jitter "
                        "(default 2)")


def check_remote_arguments(args: argparse.Namespace) -> None:
    for stage, others in (("asr", ("model_name", "api_key_env")),
                          ("tts", ("model_name", "voice", "api_key_env"))):
        url = getattr(args, f"{stage}_url", None)
        if url is None:
            for name in others:
                if getattr(args, f"{stage}_{name}", None):
                    raise EngineOptionError(f"--{stage}-{name.replace('_', '-')} needs "
                                            f"--{stage}-url")
        elif not url.startswith(("http://", "https://")):
            raise EngineOptionError(f"--{stage}-url {url}: not an http(s) URL")
    if args.asr_url and args.whisper_model:
        raise EngineOptionError("--whisper-model and --asr-url exclude each other")
    if args.tts_url and args.piper_voice:
        raise EngineOptionError("--piper-voice and --tts-url exclude each other")
    if args.backend_timeout <= 0 or args.backend_retries < 0:
        raise EngineOptionError("--backend-timeout must be above 0 and --backend-retries "
                                "at least 0")


def api_key(flag: str, variable: str | None) -> str | None:
    """The key in the environment variable a ``--*-api-key-env`` flag names."""
    if not variable:
        return None
    key = os.environ.get(variable)
    if not key:
        raise EngineOptionError(f"{flag} {variable}: that environment variable is not set")
    return key


def build_remote_speech(args: argparse.Namespace) -> tuple[Any, Any]:
    """(transcriber, synthesizer): the HTTP back ends asked for (each checked now: one that
    does not answer stops the server, naming its flag), None for the in-process ones."""
    from ..audio.remote_backend import BackendError
    from ..audio.remote_speech import RemoteSynthesizer, RemoteTranscriber

    common = {"timeout": args.backend_timeout, "retries": args.backend_retries}
    stages: list[tuple[str, Any]] = []
    if args.asr_url:
        stages.append(("--asr-url", RemoteTranscriber(
            args.asr_url, model=args.asr_model_name,
            api_key=api_key("--asr-api-key-env", args.asr_api_key_env), **common)))
    if args.tts_url:
        stages.append(("--tts-url", RemoteSynthesizer(
            args.tts_url, model=args.tts_model_name, voice=args.tts_voice,
            api_key=api_key("--tts-api-key-env", args.tts_api_key_env), **common)))
    for flag, stage in stages:
        try:
            served = stage.check()
        except BackendError as exc:
            raise EngineOptionError(f"{flag}: {exc}") from None
        log.info("%s %s serves %s", flag, stage.url, ", ".join(served) or "(no model list)")
    transcriber = next((s for f, s in stages if f == "--asr-url"), None)
    synthesizer = next((s for f, s in stages if f == "--tts-url"), None)
    return transcriber, synthesizer
