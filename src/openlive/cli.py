"""`openlive` command line."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys

from . import __version__

DEFAULT_PORT = 8080


def _serve_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="run a Live API server",
                       description="Serve the Gemini Live API (BidiGenerateContent) on one port.")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1; 0.0.0.0 for all)")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"default {DEFAULT_PORT}")
    p.add_argument("--engine", choices=["emulator"], default="emulator",
                   help="what answers: emulator (scripted, deterministic; default)")
    p.add_argument("--script", metavar="FILE", help="emulator rules (YAML); see README")
    p.add_argument("--api-key", action="append", default=[], metavar="KEY",
                   help="accept this API key (repeatable); also $OPENLIVE_API_KEYS "
                        "(comma-separated). With none, the server is open.")
    tls = p.add_mutually_exclusive_group()
    tls.add_argument("--tls-self-signed", metavar="DIR",
                     help="serve wss/https with DIR/cert.pem + key.pem (created if missing)")
    tls.add_argument("--tls-cert", metavar="PEM", help="serve TLS with this certificate chain")
    p.add_argument("--tls-key", metavar="PEM", help="private key for --tls-cert")
    p.add_argument("--text-frames", action="store_true",
                   help="send server messages as text frames (default: binary, like Google)")
    p.add_argument("--no-compression", action="store_true",
                   help="refuse permessage-deflate (saves CPU with many sessions)")
    p.add_argument("--log-level", default="info",
                   choices=["debug", "info", "warning", "error"])


def _event_loop_runner():
    """uvloop where installed (about 7% less CPU per message in bench/sessions.py)."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run
    return uvloop.run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="openlive", description=__doc__)
    parser.add_argument("--version", action="version", version=f"openlive {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    _serve_parser(sub)
    from .client.cli import COMMANDS as CLIENT_COMMANDS
    from .client.cli import add_client_parsers, run_client_command
    add_client_parsers(sub)
    args = parser.parse_args(argv)
    if args.command == "serve":
        return _serve(args, parser)
    if args.command in CLIENT_COMMANDS:
        return run_client_command(args)
    parser.print_help()
    return 2


def _serve(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from .engines.emulator import EmulatorEngine, ScriptError
    from .server.app import ServerConfig
    from .server.run import serve_forever, start_server
    from .server.tls import ensure_self_signed, server_context, trust_instructions

    logging.basicConfig(level=args.log_level.upper(),
                        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s")
    log = logging.getLogger("openlive")
    keys = list(args.api_key)
    keys += [k.strip() for k in os.environ.get("OPENLIVE_API_KEYS", "").split(",") if k.strip()]
    if args.tls_cert and not args.tls_key:
        parser.error("--tls-cert needs --tls-key")
    try:
        engine = EmulatorEngine.from_script(args.script) if args.script else EmulatorEngine()
    except ScriptError as exc:
        print(f"openlive: {exc}", file=sys.stderr)
        return 2
    ssl_ctx, cert = None, None
    if args.tls_self_signed:
        cert, key, created = ensure_self_signed(args.tls_self_signed)
        log.info("%s self-signed certificate %s", "created" if created else "reusing", cert)
        ssl_ctx = server_context(cert, key)
    elif args.tls_cert:
        ssl_ctx = server_context(args.tls_cert, args.tls_key)
    config = ServerConfig(api_keys=keys, binary_frames=not args.text_frames,
                          compression=not args.no_compression)

    async def run() -> None:
        try:
            server = await start_server(engine, config, host=args.host, port=args.port,
                                        ssl_context=ssl_ctx)
        except OSError as exc:
            raise SystemExit(f"openlive: cannot listen on {args.host}:{args.port}: "
                             f"{exc.strerror or exc}") from None
        script = f" (script {args.script})" if args.script else " (default reply: 'You said: …')"
        log.info("openlive %s: %s engine%s", __version__, engine.name, script)
        log.info("Live endpoint: %s/ws/google.ai.generativelanguage.v1beta.GenerativeService."
                 "BidiGenerateContent", server.ws_url)
        log.info("base URL for the SDKs: %s   models: %s/v1beta/models", server.http_url,
                 server.http_url)
        if keys:
            log.info("API keys required: %d configured", len(keys))
        else:
            log.warning("open server: no API keys configured, any key (or none) is accepted")
        if cert is not None:
            for line in trust_instructions(cert, server.port).splitlines():
                log.info("%s", line)
        log.info("press Ctrl+C to stop")
        await serve_forever(server)

    try:
        _event_loop_runner()(run())
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
