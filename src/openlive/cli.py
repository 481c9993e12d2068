"""`openlive` command line."""

from __future__ import annotations

import argparse
import sys
import typing

from . import __version__
from .defaults import DEFAULT_PORT

__all__ = ["DEFAULT_PORT", "main"]


class _Parser(argparse.ArgumentParser):
    """A usage error is one line (and exit status 2), not the whole usage text."""

    def error(self, message: str) -> typing.NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def main(argv: list[str] | None = None) -> int:
    from .client.cli import COMMANDS as CLIENT_COMMANDS
    from .client.cli import add_client_parsers, run_client_command
    from .recording import cli as recordings_cli
    from .server import cli as serve_cli
    from .server import token_cli

    parser = _Parser(prog="openlive", description=__doc__)
    parser.add_argument("--version", action="version", version=f"openlive {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    serve_cli.add_parser(sub)
    token_cli.add_parser(sub)
    recordings_cli.add_parser(sub)
    add_client_parsers(sub)
    argv = sys.argv[1:] if argv is None else argv
    args = parser.parse_args(argv)
    if args.command == "serve":
        return serve_cli.run(args, parser, argv)
    if args.command == "token":
        if args.token_command != "create":
            parser.parse_args(["token", "--help"])
        return token_cli.run(args)
    if args.command == "recordings":
        return recordings_cli.run(args, parser)
    if args.command in CLIENT_COMMANDS:
        return run_client_command(args)
    parser.print_help()
    return 2


if __name__ == "__main__":
    sys.exit(main())
