"""`openlive serve`: its options, and starting the server (one process or several workers).

Each engine's own options and construction live beside it (``engines/<name>/options.py``,
listed in :mod:`openlive.engines.options`)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import ssl
import sys

from .. import __version__
from .. import cli_types as ct
from ..defaults import DEFAULT_PORT
from ..engines.options import (
    EngineOptionError,
    add_engine_arguments,
    build_engine,
    check_engine_options,
    describe_engine,
)


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="run a Live API server",
                       description="Serve the Gemini Live API (BidiGenerateContent) on one port.")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1; 0.0.0.0 for all)")
    p.add_argument("--port", type=ct.port, default=DEFAULT_PORT, help=f"default {DEFAULT_PORT}")
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
                   choices=["debug", "info", "warning", "error"],
                   help="how much the server logs (default info: a line per session and "
                        "start-up; debug: every rule matched and message dropped)")
    p.add_argument("--workers", type=ct.positive, default=1, metavar="N",
                   help="server processes sharing the port (SO_REUSEPORT, Linux; default 1). "
                        "Needs a shared --store (sqlite:PATH or redis://…) so that any "
                        "process can resume a session or spend a token")
    p.add_argument("--worker-index", type=int, default=0, help=argparse.SUPPRESS)
    p.add_argument("--worker-parent", type=int, default=0, help=argparse.SUPPRESS)
    p.add_argument("--record", metavar="DIR",
                   help="record every session into DIR: <time>-<session>.jsonl (each message "
                        "with timings, audio included; `openlive recordings audio FILE` "
                        "writes it as WAV); see `openlive recordings`")
    _sessions_arguments(p)
    _console_arguments(p)
    _operations_arguments(p)
    add_engine_arguments(p)


def _console_arguments(p: argparse.ArgumentParser) -> None:
    """The browser console at / (docs/console.md)."""
    g = p.add_argument_group("browser console (docs/console.md)")
    g.add_argument("--no-console", action="store_true",
                   help="do not serve the console: GET / and POST /console/token are 404")
    g.add_argument("--no-console-tokens", action="store_true",
                   help="serve the console, but never give it a token (POST /console/token "
                        "is 403; users type an API key or an ephemeral token). Use it behind "
                        "a reverse proxy on the same machine, where every request looks "
                        "like loopback")


def _operations_arguments(p: argparse.ArgumentParser) -> None:
    """Metrics, logs and configuration (docs/deploy.md)."""
    from .logging_setup import LOG_FORMATS
    from .metrics import METRICS_MODES
    g = p.add_argument_group("metrics, logs and configuration (docs/deploy.md)")
    g.add_argument("--metrics", choices=METRICS_MODES, default="keyed",
                   help="GET /metrics (Prometheus): keyed (default: a keyed server asks for "
                        "one of its API keys, as Authorization: Bearer KEY), open, or off")
    g.add_argument("--log-format", choices=LOG_FORMATS, default="text",
                   help="text (default) or json: one object a line with time, level, logger, "
                        "message, session and close_code")
    g.add_argument("--config", metavar="FILE",
                   help="read settings from this TOML file (also $OPENLIVE_CONFIG): each flag's "
                        "name as key, e.g. port = 8080, api-key = [...]; every flag is also "
                        "$OPENLIVE_<NAME>; flags > environment > file > defaults")
    g.add_argument("--drain", type=ct.seconds, default=0.0, metavar="SECONDS",
                   help="on SIGTERM/SIGINT, stop taking connections, send each session goAway "
                        "with this many seconds left and wait for them to leave (default 0: "
                        "close them at once with 1001)")
    g.add_argument("--print-config", action="store_true",
                   help="print the configuration in effect as TOML (secrets masked, each "
                        "value with its source) and exit")


def _sessions_arguments(p: argparse.ArgumentParser) -> None:
    """Sessions, limits, tokens and stores (README: "Sessions, limits, tokens and stores")."""
    from ..session import limits as lm
    g = p.add_argument_group("sessions, limits, tokens and stores")
    g.add_argument("--store", default="memory",
                   metavar="memory|sqlite:PATH|redis://HOST:PORT/DB",
                   help="where resumable sessions and ephemeral tokens live (default memory; "
                        "also $OPENLIVE_STORE)")
    g.add_argument("--session-ttl", type=ct.seconds, default=lm.HANDLE_TTL, metavar="SECONDS",
                   help="how long a resumption handle stays valid after the session ends "
                        "(default 7200 = 2 h)")
    g.add_argument("--connection-lifetime", type=ct.seconds, default=lm.CONNECTION_LIFETIME,
                   metavar="SECONDS", help="close each connection after this long "
                                          "(default 600; 0 = never)")
    g.add_argument("--setup-timeout", type=ct.seconds, default=lm.SETUP_TIMEOUT, metavar="SECONDS",
                   help="close a connection that sends no setup this long after it opens "
                        "(default 30; 0 = never)")
    g.add_argument("--handshake-timeout", type=ct.seconds, default=10.0, metavar="SECONDS",
                   help="close a connection whose request head (or REST body) has not "
                        "arrived this long after it opens, or after its last request "
                        "(default 10; 0 = about an hour; docs/security.md)")
    g.add_argument("--max-connections", default="auto", metavar="N|auto",
                   help="open TCP connections at once; past it HTTP gets 503 and a Live "
                        "WebSocket a 1011 close (default auto: 80%% of the file-descriptor "
                        "limit, raised to its hard limit at start, less 64; 0 = no cap)")
    g.add_argument("--max-connections-per-ip", type=ct.count, default=0, metavar="N",
                   help="open TCP connections per client address (default 0 = no cap). "
                        "Behind a reverse proxy, name it with --trusted-proxy: its "
                        "requests then count per X-Forwarded-For client")
    g.add_argument("--trusted-proxy", action="append", default=[], metavar="CIDR",
                   help="a reverse proxy's address or network (repeatable; e.g. "
                        "127.0.0.1/32, 10.0.0.0/8): from these peers X-Forwarded-For names "
                        "the client (the right-most address not itself trusted) for logs, "
                        "--max-connections-per-ip and the admin API's loopback check; from "
                        "any other peer it is ignored (default: none)")
    g.add_argument("--max-sessions", type=ct.count, default=0, metavar="N",
                   help="Live sessions at once; past it new ones are closed with 1011 "
                        "'The service is currently unavailable.' (default 0 = no cap; with "
                        "--workers N, each worker counts its own)")
    g.add_argument("--max-loop-lag", type=ct.seconds, default=0.5, metavar="SECONDS",
                   help="refuse new sessions (1011) and REST requests (503) while the event "
                        "loop is this late on each of its last 3 probes (default 0.5; 0 = off)")
    g.add_argument("--send-timeout", type=ct.seconds, default=30.0, metavar="SECONDS",
                   help="drop a connection whose client reads nothing: a send that cannot "
                        "finish this long (default 30; 0 = never)")
    g.add_argument("--go-away-before", type=ct.seconds, default=lm.GO_AWAY_BEFORE,
                   metavar="SECONDS",
                   help="send goAway this long before a connection or session ends (default 60)")
    g.add_argument("--session-limit-audio", type=ct.seconds, default=lm.SESSION_LIMIT_AUDIO,
                   metavar="SECONDS", help="audio-only session duration without "
                                          "contextWindowCompression (default 900; 0 = none)")
    g.add_argument("--session-limit-video", type=ct.seconds, default=lm.SESSION_LIMIT_VIDEO,
                   metavar="SECONDS", help="audio+video session duration without "
                                          "contextWindowCompression (default 120; 0 = none)")
    g.add_argument("--keys-file", "--api-key-file", metavar="FILE",
                   help="API keys, one a line (# comments); also $OPENLIVE_KEYS_FILE. Keys "
                        "here or in $OPENLIVE_API_KEYS are not shown by ps, unlike --api-key")
    g.add_argument("--max-sessions-per-key", type=ct.count, default=0, metavar="N",
                   help="concurrent sessions per API key (default 0 = unlimited; with "
                        "--workers N, each worker counts its own)")
    g.add_argument("--max-starts-per-minute", type=ct.count, default=0, metavar="N",
                   help="session starts per API key per minute (default 0 = unlimited; "
                        "with --workers N, each worker counts its own)")
    g.add_argument("--allow-origin", action="append", default=[], metavar="ORIGIN",
                   help="browser Origin allowed to connect (repeatable; default: any)")
    g.add_argument("--permissive", action="store_true",
                   help="accept what each model refuses on Google's service (TEXT replies on "
                        "AUDIO-only models, fields a model removed): for apps mid-migration; "
                        "off by default (docs/fidelity.md)")


def _max_connections(parser: argparse.ArgumentParser, value: str) -> int | str | None:
    if value == "auto":
        return value
    try:
        return int(value) or None
    except ValueError:
        parser.error("--max-connections takes a number or 'auto'")


def _warn_where_keys_show(log: logging.Logger, argv: list[str], keys_file: str | None) -> None:
    """Keys on the command line are in every user's ``ps`` output; a keys file others can
    read is no better (docs/security.md)."""
    if any(a == "--api-key" or a.startswith("--api-key=") for a in argv):
        log.warning("--api-key puts keys on the command line, where ps shows them to every "
                    "user: use --api-key-file FILE or $OPENLIVE_API_KEYS instead")
    if keys_file:
        try:
            mode = os.stat(keys_file).st_mode
        except OSError:
            return
        if mode & 0o077:
            log.warning("keys file %s can be read by other users (mode %o): chmod 600 it",
                        keys_file, mode & 0o777)


def read_keys_file(path: str) -> list[str]:
    """One key a line; blank lines and # comments ignored."""
    with open(path, encoding="utf-8") as f:
        lines = [line.split("#", 1)[0].strip() for line in f]
    return [line for line in lines if line]


def event_loop_runner():
    """uvloop where installed (about 7% less CPU per message in bench/sessions.py)."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run
    return uvloop.run


def run(args: argparse.Namespace, parser: argparse.ArgumentParser, argv: list[str]) -> int:
    from . import logging_setup, settings
    from .app import ServerConfig
    from .run import serve_forever, start_server
    from .tls import ensure_self_signed, server_context, trust_instructions

    try:  # $OPENLIVE_<NAME> and the --config file become defaults: flags still win
        resolved = settings.resolve(settings.serve_parser(parser), argv[argv.index("serve") + 1:],
                                    args.config, os.environ.get(settings.CONFIG_ENV))
    except settings.ConfigError as exc:
        print(f"openlive: {exc}", file=sys.stderr)
        return 2
    args = parser.parse_args(argv)
    if args.worker_parent:  # worker 1..N-1 of --workers N: stop with worker 0
        from .workers import die_with_parent
        die_with_parent(args.worker_parent)
    if args.print_config:
        print(resolved.as_toml(args), end="")
        return 0
    from .client_address import parse_networks
    try:
        parse_networks(args.trusted_proxy)
    except ValueError as exc:
        print(f"openlive: --trusted-proxy: {exc}", file=sys.stderr)
        return 2
    keys = list(args.api_key)
    keys_file = args.keys_file
    if keys_file:
        try:
            keys += read_keys_file(keys_file)
        except OSError as exc:
            print(f"openlive: cannot read keys file {keys_file}: {exc.strerror}", file=sys.stderr)
            return 2
    logging_setup.configure(args.log_level, args.log_format, secrets=keys,
                            worker=str(args.worker_index) if args.workers > 1 else "")
    log = logging.getLogger("openlive")
    if args.worker_index == 0:
        _warn_where_keys_show(log, argv, keys_file)
    from ..session.limits import Limits
    from ..store import StoreError, open_store
    try:
        store = open_store(args.store)
    except StoreError as exc:
        print(f"openlive: {exc}", file=sys.stderr)
        return 2
    limits = Limits(connection_lifetime=args.connection_lifetime or None,
                    go_away_before=args.go_away_before,
                    session_audio=args.session_limit_audio or None,
                    session_video=args.session_limit_video or None,
                    handle_ttl=args.session_ttl,
                    setup_timeout=args.setup_timeout or None)
    if args.tls_cert and not args.tls_key:
        parser.error("--tls-cert needs --tls-key")
    try:
        check_engine_options(args.engine, argv)
    except EngineOptionError as exc:
        print(f"openlive: {exc}", file=sys.stderr)
        return 2
    ssl_ctx, cert = None, None
    try:  # before the engine loads its models: a bad file is a one-line error at once
        if args.tls_self_signed:
            cert, key, created = ensure_self_signed(args.tls_self_signed)
            log.info("%s self-signed certificate %s", "created" if created else "reusing", cert)
            ssl_ctx = server_context(cert, key)
        elif args.tls_cert:
            ssl_ctx = server_context(args.tls_cert, args.tls_key)
    except (OSError, ssl.SSLError) as exc:
        where = args.tls_self_signed or f"{args.tls_cert} / {args.tls_key}"
        print(f"openlive: cannot use the TLS certificate and key ({where}): "
              f"{getattr(exc, 'strerror', None) or exc}", file=sys.stderr)
        return 2
    try:
        engine = build_engine(args)
    except EngineOptionError as exc:
        print(f"openlive: {exc}", file=sys.stderr)
        return 2
    config = ServerConfig(api_keys=keys, binary_frames=not args.text_frames,
                          compression=not args.no_compression, store=store, limits=limits,
                          max_sessions_per_key=args.max_sessions_per_key or None,
                          max_starts_per_minute=args.max_starts_per_minute or None,
                          allow_origins=list(args.allow_origin),
                          console=not args.no_console,
                          console_tokens=not args.no_console_tokens,
                          metrics=args.metrics,
                          permissive=args.permissive,
                          # limits where a peer can hold resources (docs/security.md)
                          handshake_timeout=args.handshake_timeout or None,
                          max_connections=_max_connections(parser, args.max_connections),
                          max_connections_per_ip=args.max_connections_per_ip or None,
                          trusted_proxies=list(args.trusted_proxy),
                          max_sessions=args.max_sessions or None,
                          max_loop_lag=args.max_loop_lag or None,
                          send_timeout=args.send_timeout or None)
    if args.permissive:
        log.warning("--permissive: per-model refusals are off (TEXT replies on AUDIO-only "
                    "models, removed fields); Google's service refuses these sessions")

    if args.record:
        from ..recording import Recorder
        config.observer = Recorder(args.record)
        log.info("recording sessions into %s", args.record)
    if args.workers < 1:
        parser.error("--workers must be at least 1")
    if args.workers > 1 and (args.port == 0 or store.name.startswith("memory")):
        parser.error("--workers N needs a fixed --port and a shared store "
                     "(--store sqlite:PATH or --store redis://HOST:PORT/DB)")
    from .connection_caps import raise_fd_limit
    before, now, hard = raise_fd_limit()
    log.info("file descriptors: soft limit %d%s (hard %s)", now,
             f", raised from {before}" if now != before else "",
             "unlimited" if hard < 0 else hard)
    from .workers import Workers, stop_when_orphaned
    workers = (Workers(argv, args.workers) if args.workers > 1 and args.worker_index == 0
               else None)
    if workers is not None:
        workers.start()

    async def run() -> None:
        try:
            server = await start_server(engine, config, host=args.host, port=args.port,
                                        ssl_context=ssl_ctx, reuse_port=args.workers > 1)
        except OSError as exc:
            raise SystemExit(f"openlive: cannot listen on {args.host}:{args.port}: "
                             f"{exc.strerror or exc}") from None
        except StoreError as exc:
            raise SystemExit(f"openlive: {exc}") from None
        log.info("store: %s", store.name)
        log.info("openlive %s: %s", __version__, describe_engine(args, engine))
        from ..wire.endpoints import live_path, models_path  # (wire loads pydantic: not at import)
        log.info("Live endpoint: %s%s", server.ws_url, live_path())
        log.info("base URL for the SDKs: %s   models: %s%s", server.http_url,
                 server.http_url, models_path())
        if not config.console:
            log.info("console: off (--no-console)")
        elif keys and not config.console_tokens:
            log.info("console: %s/ (console tokens off: type a key or a token)",
                     server.http_url)
        else:
            log.info("console: %s/", server.http_url)
        if config.trusted_proxies:
            log.info("trusted proxies (their X-Forwarded-For names the client): %s",
                     ", ".join(config.trusted_proxies))
        if keys:
            log.info("API keys required: %d configured", len(keys))
        else:
            log.warning("open server: no API keys configured, any key (or none) is accepted")
        if cert is not None:
            for line in trust_instructions(cert, server.port).splitlines():
                log.info("%s", line)
        log.info("press Ctrl+C to stop")
        watch = (asyncio.create_task(workers.supervise()) if workers is not None else
                 asyncio.create_task(stop_when_orphaned(args.worker_parent))
                 if args.worker_parent else None)
        await serve_forever(server, on_stop=workers.stop_soon if workers is not None else None,
                            drain=args.drain)
        if watch is not None:
            watch.cancel()

    try:
        event_loop_runner()(run())
    except KeyboardInterrupt:
        pass
    finally:
        if workers is not None:
            workers.stop()
    return 0
