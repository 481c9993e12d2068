"""``openlive recordings list DIR`` and ``openlive recordings show FILE``."""

from __future__ import annotations

import argparse
import sys
import wave
from pathlib import Path

from .describe import describe, shorten
from .recorder import client_audio, export_audio, read_recording, server_audio


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("recordings", help="list and show sessions recorded with serve --record",
                       description="Read sessions written by `openlive serve --record DIR`.")
    rsub = p.add_subparsers(dest="recordings_command", metavar="ACTION")
    ls = rsub.add_parser("list", help="one line per recorded session")
    ls.add_argument("directory", metavar="DIR")
    show = rsub.add_parser("show", help="a session as a readable transcript with timings")
    show.add_argument("file", metavar="FILE", help="a .jsonl recording")
    show.add_argument("--width", type=int, default=100, help="cut long lines (default 100)")
    audio = rsub.add_parser("audio", help="write a recording's audio as WAV files",
                            description="Write the audio held in a recording as WAV files "
                                        "(<stem>.client.wav, <stem>.server.wav).")
    audio.add_argument("file", metavar="FILE", help="a .jsonl recording")
    audio.add_argument("--out", metavar="DIR", help="where to write them (default: beside it)")


def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    if args.recordings_command == "list":
        return list_recordings(Path(args.directory))
    if args.recordings_command == "show":
        return show_recording(Path(args.file), args.width)
    if args.recordings_command == "audio":
        return write_audio(Path(args.file), args.out)
    parser.parse_args(["recordings", "--help"])
    return 2


def _summary(records: list[dict]) -> dict:
    opened = records[0] if records and records[0].get("direction") == "open" else {}
    model = None
    counts = {"client": 0, "server": 0}
    for r in records:
        if r.get("direction") in counts:
            counts[r["direction"]] += 1
        setup = (r.get("message") or {}).get("setup") if r.get("direction") == "client" else None
        if isinstance(setup, dict) and model is None:
            model = setup.get("model")
    closed = records[-1] if records and records[-1].get("direction") == "close" else None
    return {"started": opened.get("started", "?"), "model": model or "-",
            "duration": records[-1].get("t", 0.0) if records else 0.0,
            "client": counts["client"], "server": counts["server"],
            "close": "open/cut" if closed is None else closed.get("code")}


def list_recordings(directory: Path) -> int:
    if not directory.is_dir():
        print(f"openlive: no such directory: {directory}", file=sys.stderr)
        return 2
    files = sorted(directory.glob("*.jsonl"))
    if not files:
        print(f"no recordings in {directory}")
        return 0
    print(f"{'session':<34} {'started':<21} {'secs':>7} {'in':>5} {'out':>5} {'close':>8}  model")
    for path in files:
        try:
            records = read_recording(path)
        except (OSError, UnicodeDecodeError):
            records = []
        if _not_a_recording(records) is not None:
            print(f"{path.stem:<34} (not a recording)")
            continue
        s = _summary(records)
        print(f"{path.stem:<34} {s['started']:<21} {s['duration']:>7.2f} {s['client']:>5} "
              f"{s['server']:>5} {str(s['close']):>8}  {s['model']}")
    return 0


def _cut(text: str, width: int) -> str:
    return shorten(text.replace("\n", "\\n"), width)


def _not_a_recording(records: list) -> str | None:
    """Why ``records`` (read from a file) are not a recording, or None when they are."""
    if not records:
        return "no JSON lines in it"
    if not all(isinstance(r, dict) and "direction" in r for r in records):
        return "its lines are not recorded messages"
    if records[0].get("direction") != "open":
        return "it does not start with a session's open line"
    return None


def show_recording(path: Path, width: int = 100) -> int:
    try:
        records = read_recording(path)
    except OSError as exc:
        print(f"openlive: cannot read {path}: {exc.strerror}", file=sys.stderr)
        return 2
    except UnicodeDecodeError:
        records = []  # a binary file
    why = _not_a_recording(records)
    if why is not None:
        print(f"openlive: {path} is not a recording ({why}; recordings are the .jsonl "
              "files written by serve --record)", file=sys.stderr)
        return 2
    arrows = {"client": "app  ->", "server": "  <- model"}
    for r in records:
        t, direction = r.get("t", 0.0), r.get("direction")
        if direction == "open":
            line = (f"session {r.get('session')} opened {r.get('started')} "
                    f"({r.get('api_version')}, auth: {r.get('auth')})")
        elif direction == "close":
            line = f"closed with code {r.get('code')}"
            if r.get("reason"):
                line += f": {r['reason']}"
        elif "invalid" in r:
            line = f"{arrows.get(direction, direction)} (not JSON) {r['invalid']}"
        else:
            line = f"{arrows.get(direction, direction)} {describe(direction, r['message'])}"
        print(f"{t:9.3f}s  " + _cut(line, width))
    if not records or records[-1].get("direction") != "close":
        print("          (recording ends here: the session did not close cleanly)")
    wavs = sorted(path.parent.glob(path.stem + ".*.wav"))
    for wav_path in wavs:
        with wave.open(str(wav_path)) as w:
            secs = w.getnframes() / w.getframerate()
            print(f"audio: {wav_path.name} ({w.getframerate()} Hz, {secs:.2f} s)")
    if not wavs:
        seconds = {"client": 0.0, "server": 0.0}
        for r in records:
            message = r.get("message")
            if isinstance(message, dict) and r.get("direction") in seconds:
                read = client_audio if r["direction"] == "client" else server_audio
                seconds[r["direction"]] += sum(len(p) / 2 / rate for p, rate in read(message))
        if any(seconds.values()):
            print(f"audio: {seconds['client']:.2f} s from the app, {seconds['server']:.2f} s "
                  f"from the model (openlive recordings audio {path} writes them as WAV)")
    return 0


def write_audio(path: Path, out: str | None) -> int:
    try:
        records = read_recording(path)
    except OSError as exc:
        print(f"openlive: cannot read {path}: {exc.strerror}", file=sys.stderr)
        return 2
    except UnicodeDecodeError:
        records = []
    why = _not_a_recording(records)
    if why is not None:
        print(f"openlive: {path} is not a recording ({why})", file=sys.stderr)
        return 2
    try:
        written = export_audio(path, out)
    except OSError as exc:
        print(f"openlive: cannot write the audio: {exc.strerror}: {exc.filename}",
              file=sys.stderr)
        return 1
    for wav_path in written:
        print(wav_path)
    if not written:
        print(f"no audio in {path}")
    return 0
