"""``openlive chat | talk | mic``: Live sessions from the command line.

Only argument parsing lives here (so ``openlive serve`` does not import numpy or aiohttp's
client); the commands themselves are in :mod:`openlive.client.commands`.
"""

from __future__ import annotations

import argparse
import os

# DEFAULT_MODEL: Google's default Live model (ai.google.dev/gemini-api/docs/models/gemini-3.8-live)
from ..session.models import DEFAULT_MODEL
from ..wire.endpoints import API_VERSIONS

COMMANDS = ("chat", "talk", "mic")
DEFAULT_URL = "http://127.0.0.1:8080"


def add_client_parsers(sub: argparse._SubParsersAction) -> None:
    """Add the chat, talk and mic subcommands to ``openlive``'s parser."""
    chat = sub.add_parser("chat", help="interactive text session (reads stdin when piped)",
                          description="Type a line, get the reply as it streams. Reads stdin "
                                      "when it is not a terminal, one turn per line, and waits "
                                      "for the last reply before exiting.")
    _common(chat)
    chat.add_argument("--audio", action="store_true",
                      help="play the AUDIO replies (needs sounddevice); without it their "
                           "transcript is printed and the audio dropped")
    chat.add_argument("--text", action="store_true",
                      help="ask for TEXT replies (Google's Live models refuse them: for "
                           "openlive's own models or a --permissive server)")
    chat.add_argument("--save", metavar="WAV", help="save the reply audio to this WAV file")
    chat.add_argument("--system", metavar="TEXT", help="system instruction")

    talk = sub.add_parser("talk", help="stream a speech file, print transcripts, save the reply",
                          description="Streams INPUT (WAV, FLAC, OGG or MP3; any rate, any "
                                      "channels) at real-time "
                                      "pace as 16 kHz mono PCM, prints input and output "
                                      "transcripts and per-turn latency, and exits once the "
                                      "reply is complete.")
    talk.add_argument("input", metavar="INPUT",
                      help="speech to send: WAV, FLAC, OGG or MP3, any rate and channels")
    _common(talk)
    talk.add_argument("--save", metavar="WAV", help="save the reply audio to this WAV file")
    talk.add_argument("--fast", action="store_true",
                      help="send as fast as possible instead of at real-time pace")
    talk.add_argument("--chunk-ms", type=int, default=100, help="audio chunk length (100)")

    mic = sub.add_parser("mic", help="microphone in, speaker out, with barge-in",
                         description="A voice session on this machine's microphone and "
                                     "speaker (pip install 'openlive[audio]'). Ctrl+C ends "
                                     "it. Use headphones: from the speakers the model hears "
                                     "itself and interrupts its own answer.")
    _common(mic)
    mic.add_argument("--list-devices", action="store_true",
                     help="print the sound devices (number and name) and exit")
    mic.add_argument("--input-device", metavar="N|NAME",
                     help="microphone: a number from --list-devices or part of a name "
                          "(default: the system's)")
    mic.add_argument("--output-device", metavar="N|NAME",
                     help="speaker: a number from --list-devices or part of a name "
                          "(default: the system's)")


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--url", default=os.environ.get("OPENLIVE_URL", DEFAULT_URL),
                   help="server base URL: http(s):// or ws(s)://, optional path prefix "
                        f"(default $OPENLIVE_URL or {DEFAULT_URL}; Google: "
                        "https://generativelanguage.googleapis.com)")
    p.add_argument("--model", default=os.environ.get("OPENLIVE_MODEL", DEFAULT_MODEL),
                   help=f"model (default $OPENLIVE_MODEL or {DEFAULT_MODEL})")
    p.add_argument("--api-key", metavar="K",
                   default=(os.environ.get("OPENLIVE_API_KEY") or os.environ.get("GEMINI_API_KEY")
                            or os.environ.get("GOOGLE_API_KEY")),
                   help="API key (default $OPENLIVE_API_KEY, $GEMINI_API_KEY, $GOOGLE_API_KEY)")
    p.add_argument("--token", metavar="auth_tokens/…", help="ephemeral token instead of a key")
    p.add_argument("--api-version", choices=API_VERSIONS,
                   help="API version in the URL (default v1beta; v1alpha with --token)")
    p.add_argument("--ca-file", metavar="PEM", help="trust this certificate (self-signed TLS)")
    p.add_argument("--insecure", action="store_true", help="do not verify TLS certificates")
    p.add_argument("--no-resume", action="store_true",
                   help="do not ask for session resumption (no transparent reconnects)")
    p.add_argument("--timeout", type=float, default=60.0,
                   help="seconds to wait for a reply before giving up (default 60)")
    p.add_argument("--json", action="store_true",
                   help="print each server message as one JSON line instead of text")
    p.add_argument("--quiet", "-q", action="store_true", help="no status lines on stderr")


def run_client_command(args: argparse.Namespace) -> int:
    """Run chat, talk or mic; the process exit status."""
    from .commands import run  # noqa: PLC0415 - heavy imports only when a client runs

    return run(args)
