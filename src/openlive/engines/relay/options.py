"""`openlive serve --engine relay` options (see :mod:`openlive.engines.options`)."""

from __future__ import annotations

import argparse
import os
from typing import Any

from ..options import EngineOptionError
from .upstream import GOOGLE_UPSTREAM

HELP = "forwards every session to an upstream Live endpoint with a server-held key"
DEFAULT_UPSTREAM = GOOGLE_UPSTREAM
DEFAULT_KEY_ENV = "GEMINI_API_KEY"


def add_arguments(g: argparse._ArgumentGroup) -> None:
    g.add_argument("--upstream", metavar="URL", default=DEFAULT_UPSTREAM,
                   help=f"the upstream's base URL: Google's (default {DEFAULT_UPSTREAM}) or "
                        "another openlive (http(s):// or ws(s)://)")
    g.add_argument("--upstream-api-key-env", metavar="NAME", default=DEFAULT_KEY_ENV,
                   help=f"environment variable holding the upstream API key (default "
                        f"{DEFAULT_KEY_ENV}); sent upstream only, never to clients or logs")
    g.add_argument("--upstream-cafile", metavar="PEM",
                   help="trust this CA / self-signed certificate for a wss:// upstream")
    g.add_argument("--upstream-compression", action="store_true",
                   help="offer permessage-deflate upstream (less traffic, more latency)")
    g.add_argument("--upstream-timeout", type=float, default=10.0, metavar="SECONDS",
                   help="give up connecting to the upstream after this long (default 10)")


def build(args: argparse.Namespace) -> Any:
    import ssl

    from .engine import RelayEngine
    from .upstream import Upstream

    name = args.upstream_api_key_env
    key = os.environ.get(name, "").strip()
    if not key:
        raise EngineOptionError(
            f"--engine relay needs the upstream API key in ${name}, which is not set "
            f"(set it, or name another variable with --upstream-api-key-env)")
    ctx = None
    if args.upstream_cafile:
        try:
            ctx = ssl.create_default_context(cafile=args.upstream_cafile)
        except (OSError, ssl.SSLError) as exc:
            raise EngineOptionError(f"cannot use --upstream-cafile {args.upstream_cafile}: "
                                    f"{getattr(exc, 'strerror', None) or exc}") from None
    if args.upstream_timeout <= 0:
        raise EngineOptionError("--upstream-timeout must be more than 0 seconds")
    try:
        return RelayEngine(Upstream(args.upstream, api_key=key, ssl_context=ctx,
                                    compression=args.upstream_compression,
                                    connect_timeout=args.upstream_timeout))
    except ValueError as exc:
        raise EngineOptionError(f"--upstream: {exc}") from None


def describe(args: argparse.Namespace, engine: Any) -> str:
    return (f"relay engine (upstream {engine.upstream.base_url}, key from "
            f"${args.upstream_api_key_env})")
