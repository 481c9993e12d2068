"""The chat, talk and mic commands (parsers in :mod:`openlive.client.cli`).

Replies and transcripts go to stdout; status lines (connected, goAway, resumed, errors) go
to stderr prefixed ``openlive:``. ``--json`` prints every server message as one JSON line
on stdout instead, for scripting. Exit status: 0 done, 1 session error or no reply,
2 bad usage / no sound device.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import ssl
import sys
import threading
import time
from typing import Any

from ..wire.server_messages import ServerMessage
from . import audio, speaker
from .errors import LiveClientError, LiveConnectError
from .session import LiveSession, Received, connect
from .speaker import NoSoundDevice, Player, open_sounddevice


def run(args: argparse.Namespace) -> int:
    """Run chat, talk or mic; the process exit status."""
    runner = {"chat": _chat, "talk": _talk, "mic": _mic}[args.command]
    out = Output(args)
    problem = _usage_problem(args)
    if problem:  # a user error: one line and exit 2, never a traceback
        print(f"openlive: {problem}", file=sys.stderr)
        return 2
    try:
        return asyncio.run(runner(args, out))
    except KeyboardInterrupt:
        return 130
    except LiveConnectError as exc:
        out.status(str(exc))
        return 1


def _usage_problem(args: argparse.Namespace) -> str | None:
    """What is wrong with the options before anything connects (None: nothing)."""
    from ..wire.endpoints import live_url

    try:
        live_url(args.url)
    except ValueError as exc:
        return f"--url: {exc}"
    ca_file = getattr(args, "ca_file", None)
    if ca_file and not os.path.isfile(ca_file):
        return f"--ca-file: no such file: {ca_file}"
    return None


# --------------------------------------------------------------------------- output

class Output:
    def __init__(self, args: argparse.Namespace) -> None:
        self.json = args.json
        self.quiet = args.quiet
        self._open_line = False

    def status(self, text: str) -> None:
        if self.quiet:
            return
        self.end_line()
        print(f"openlive: {text}", file=sys.stderr, flush=True)

    def text(self, text: str) -> None:
        if self.json or not text:
            return
        sys.stdout.write(text)
        sys.stdout.flush()
        self._open_line = not text.endswith("\n")

    def line(self, text: str) -> None:
        if self.json:
            return
        self.end_line()
        print(text, flush=True)

    def end_line(self) -> None:
        if self._open_line:
            sys.stdout.write("\n")
            sys.stdout.flush()
            self._open_line = False

    def raw(self, got: Received) -> None:
        if self.json:
            try:
                shown = json.dumps(json.loads(got.raw), separators=(",", ":"))
            except ValueError:
                shown = got.raw
            print(shown, flush=True)


def _ssl(args: argparse.Namespace) -> Any:
    if args.insecure:
        return False
    if args.ca_file:
        return ssl.create_default_context(cafile=args.ca_file)
    return True


async def _open(args: argparse.Namespace, out: Output, **options: Any) -> LiveSession:
    session = await connect(args.model, api_key=args.api_key, token=args.token,
                            base_url=args.url, api_version=args.api_version, ssl=_ssl(args),
                            resumption=not args.no_resume, **options)
    out.status(f"connected to {session.endpoint.redacted_url} (model {session.setup.model})")
    return session


def _describe(message: ServerMessage, out: Output, session: LiveSession) -> None:
    """Status lines for the messages a person should hear about."""
    if message.go_away is not None:
        out.status(f"server sent goAway ({message.go_away.time_left or '?'} left)"
                   + (": resuming on a new connection" if session.handle else ""))
    if message.setup_complete is not None and session.reconnects:
        out.status(f"session resumed (reconnect {session.reconnects})")
    if message.tool_call is not None:
        names = ", ".join(c.name or "?" for c in message.tool_call.function_calls or ())
        out.status(f"model called: {names}")


def _audio_parts(message: ServerMessage) -> list[tuple[bytes, int]]:
    content = message.server_content
    turn = content.model_turn if content else None
    found = []
    for part in (turn.parts or ()) if turn else ():
        blob = part.inline_data
        if blob and blob.data and (blob.mime_type or "").startswith("audio/"):
            found.append((blob.data, audio.mime_rate(blob.mime_type)))
    return found


def _text_parts(message: ServerMessage) -> str:
    content = message.server_content
    turn = content.model_turn if content else None
    return turn.text() if turn else ""


def _save(out: Output, path: str | None, pcm: bytearray, rate: int) -> None:
    if not path:
        return
    if not pcm:
        out.status(f"no reply audio to save to {path}")
        return
    audio.write_wav(path, bytes(pcm), rate)
    out.status(f"saved {audio.duration(bytes(pcm), rate):.2f} s of reply audio to {path}")


# ----------------------------------------------------------------------------- chat

class StdinLines:
    """stdin lines from a daemon thread, so a blocked read never keeps the process alive
    after the session ended (a tty waiting for Enter)."""

    def __init__(self) -> None:
        loop = asyncio.get_running_loop()
        self._queue: asyncio.Queue[str | None] = asyncio.Queue()

        def pump() -> None:
            for line in sys.stdin:
                loop.call_soon_threadsafe(self._queue.put_nowait, line.rstrip("\r\n"))
            loop.call_soon_threadsafe(self._queue.put_nowait, None)

        threading.Thread(target=pump, name="openlive-stdin", daemon=True).start()

    async def next(self, *, unless: asyncio.Task[Any]) -> str | None:
        """The next line; None at end of input or once ``unless`` finished."""
        getter = asyncio.ensure_future(self._queue.get())
        await asyncio.wait({getter, unless}, return_when=asyncio.FIRST_COMPLETED)
        if getter.done():
            return getter.result()
        getter.cancel()
        return None


async def _chat(args: argparse.Namespace, out: Output) -> int:
    player = None
    if args.audio and not args.save:
        try:
            player = Player(open_sounddevice(need_output=True))
        except NoSoundDevice as exc:
            out.status(f"cannot play audio: {exc}; use --save reply.wav instead")
            return 2
    options: dict[str, Any] = {"system_instruction": args.system}
    if getattr(args, "text", False):
        options.update(modality="TEXT")
    else:  # Live models answer in AUDIO only: the reply's text is its transcript
        options.update(modality="AUDIO", output_transcription=True)
    session = await _open(args, out, **options)
    interactive = sys.stdin.isatty()
    turn_done = asyncio.Event()
    reply_audio = bytearray()
    rate = audio.OUTPUT_RATE
    failure: list[BaseException] = []

    async def show() -> None:
        nonlocal rate
        try:
            async for got in session.received():
                message = got.message
                out.raw(got)
                _describe(message, out, session)
                out.text(_text_parts(message))
                content = message.server_content
                if content and content.output_transcription and content.output_transcription.text:
                    out.text(content.output_transcription.text)
                for pcm, r in _audio_parts(message):
                    rate = r
                    reply_audio.extend(pcm)
                    if player is not None:
                        player.play(pcm)
                if content and content.interrupted and player is not None:
                    player.clear()
                if content and content.turn_complete:
                    out.end_line()
                    turn_done.set()
        except LiveClientError as exc:
            failure.append(exc)
        turn_done.set()

    reader = asyncio.create_task(show())
    code = 0
    try:
        if interactive:
            out.status("type a message and press Enter; Ctrl+D to quit")
        lines = StdinLines()
        while True:
            if interactive:
                print("> ", end="", file=sys.stderr, flush=True)
            line = await lines.next(unless=reader)
            if line is None:
                break
            if not line.strip():
                continue
            turn_done.clear()
            await session.send_text(line)
            try:
                async with asyncio.timeout(args.timeout):
                    await turn_done.wait()
            except TimeoutError:
                out.status(f"no complete reply within {args.timeout:g} s")
                code = 1
                break
            if reader.done():
                break
    except LiveClientError as exc:
        failure.append(exc)
    finally:
        await session.close()
        await asyncio.gather(reader, return_exceptions=True)
        if player is not None:
            while player.pending_seconds > 0:
                await asyncio.sleep(0.05)
            player.close()
    _save(out, args.save, reply_audio, rate)
    if failure:
        out.status(str(failure[0]))
        return 1
    return code


# ----------------------------------------------------------------------------- talk

class TurnClock:
    """Per-turn latency: first reply output minus the end of the user's input, where "end"
    is the later of the end of the file and the last end-of-speech signal (a finished
    input transcription or voiceActivity END) the server sent before the reply."""

    def __init__(self) -> None:
        self.input_end: float | None = None
        self.speech_end: float | None = None
        self.first_output: float | None = None
        self.turns = 0
        self.in_progress = False
        self.input_since_reply = False

    def reference(self) -> tuple[float | None, str]:
        marks = [(t, label) for t, label in ((self.speech_end, "end of speech"),
                                             (self.input_end, "end of input")) if t is not None]
        if not marks:
            return None, ""
        return max(marks)


async def _talk(args: argparse.Namespace, out: Output) -> int:
    try:
        samples, in_rate = audio.read_audio(args.input)
    except audio.AudioError as exc:
        out.status(str(exc))
        return 2
    pcm = audio.to_input_pcm(samples, in_rate)
    out.status(f"{args.input}: {len(samples) / in_rate:.2f} s, {in_rate} Hz, "
               f"{samples.shape[1]} channel(s) -> 16 kHz mono")
    session = await _open(args, out, modality="AUDIO", input_transcription=True,
                          output_transcription=True)
    clock = TurnClock()
    reply_audio = bytearray()
    rate = audio.OUTPUT_RATE
    done = asyncio.Event()
    failure: list[BaseException] = []

    def check_done() -> None:
        if clock.input_end is not None and clock.turns and not clock.in_progress \
                and not clock.input_since_reply:
            done.set()

    async def show() -> None:
        nonlocal rate
        try:
            async for got in session.received():
                message, at = got.message, got.at
                out.raw(got)
                _describe(message, out, session)
                content = message.server_content
                va = message.voice_activity
                if va is not None and (va.type or "").upper().endswith("END"):
                    clock.speech_end = at
                if content is None:
                    continue
                tin = content.input_transcription
                if tin is not None and tin.text:
                    out.line(f"[you] {tin.text.strip()}")
                    clock.input_since_reply = True
                    if tin.finished:
                        clock.speech_end = at
                tout = content.output_transcription
                text = (tout.text if tout and tout.text else "") + _text_parts(message)
                pieces = _audio_parts(message)
                if (text or pieces) and not clock.in_progress:
                    clock.in_progress, clock.first_output = True, at
                if text:
                    out.line(f"[model] {text.strip()}")
                for data, r in pieces:
                    rate = r
                    reply_audio.extend(data)
                if content.turn_complete:
                    if clock.in_progress:
                        clock.turns += 1
                        ref, label = clock.reference()
                        assert clock.first_output is not None
                        if ref is not None and ref <= clock.first_output:
                            out.line(f"turn {clock.turns}: first reply "
                                     f"{(clock.first_output - ref) * 1000:.0f} ms after {label}")
                        else:
                            out.line(f"turn {clock.turns}: reply began during the input")
                    clock.in_progress = clock.input_since_reply = False
                    check_done()
        except LiveClientError as exc:
            failure.append(exc)
        done.set()

    reader = asyncio.create_task(show())
    code = 0
    try:
        seconds = await session.stream_audio(pcm, chunk_ms=args.chunk_ms,
                                             realtime=not args.fast)
        await session.send_audio_stream_end()
        clock.input_end = time.monotonic()
        out.status(f"sent {seconds:.2f} s of audio and audioStreamEnd; waiting for the reply")
        check_done()
        try:
            async with asyncio.timeout(args.timeout):
                await done.wait()
        except TimeoutError:
            out.status(f"no reply within {args.timeout:g} s after the end of input")
            code = 1
    except LiveClientError as exc:
        failure.append(exc)
    finally:
        await session.close()
        await asyncio.gather(reader, return_exceptions=True)
    _save(out, args.save, reply_audio, rate)
    if failure:
        out.status(str(failure[0]))
        return 1
    return code


# ------------------------------------------------------------------------------ mic

async def _mic(args: argparse.Namespace, out: Output) -> int:
    in_dev, out_dev = speaker.device(args.input_device), speaker.device(args.output_device)
    try:
        sd = open_sounddevice(need_input=not args.list_devices,
                              need_output=not args.list_devices,
                              input_device=in_dev, output_device=out_dev)
    except NoSoundDevice as exc:
        out.status(f"mic needs a microphone and a speaker: {exc}. Without a sound device, "
                   "use: openlive talk INPUT.wav --save reply.wav")
        return 2
    if args.list_devices:
        print(sd.query_devices())
        return 0
    out.status("use headphones: from the speakers the model hears itself and stops")
    device_rate = int(sd.query_devices(in_dev, kind="input")["default_samplerate"])
    loop = asyncio.get_running_loop()
    chunks: asyncio.Queue[bytes] = asyncio.Queue()

    def on_input(indata: Any, frames: int, when: Any, status: Any) -> None:
        loop.call_soon_threadsafe(chunks.put_nowait, bytes(indata))

    session = await _open(args, out, modality="AUDIO", input_transcription=True,
                          output_transcription=True)
    player = Player(sd, audio.OUTPUT_RATE, device=out_dev)
    mic = sd.RawInputStream(samplerate=device_rate, channels=1, dtype="int16",
                            blocksize=device_rate // 10, callback=on_input, device=in_dev)

    async def send() -> None:
        while True:
            await session.send_audio(await chunks.get(), sample_rate=device_rate)

    async def show() -> None:
        async for got in session.received():
            message = got.message
            out.raw(got)
            _describe(message, out, session)
            content = message.server_content
            if content is None:
                continue
            if content.interrupted:
                player.clear()  # barge-in: stop talking over the user
                out.status("interrupted")
            if content.input_transcription and content.input_transcription.text:
                out.line(f"[you] {content.input_transcription.text.strip()}")
            if content.output_transcription and content.output_transcription.text:
                out.line(f"[model] {content.output_transcription.text.strip()}")
            for data, _ in _audio_parts(message):
                player.play(data)

    out.status("listening; Ctrl+C to stop")
    mic.start()
    tasks = [asyncio.create_task(send()), asyncio.create_task(show())]
    try:
        finished, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        for task in finished:
            if task.exception() is not None:
                out.status(str(task.exception()))
                return 1
        return 0
    finally:
        mic.stop()
        mic.close()
        for task in tasks:
            task.cancel()
        await session.close()
        player.close()
