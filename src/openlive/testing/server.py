"""An in-process openlive for tests: started on a background event loop, so that sync and
async tests (and any client: google-genai, websockets, a browser) can talk to it.

The pytest fixture ``live_server`` (:mod:`openlive.testing.plugin`) is built on
:func:`start_live_server`; use that directly outside pytest.
"""

from __future__ import annotations

import asyncio
import json
import ssl
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = ["LiveTestServer", "ObservedSession", "OptionError", "running_live_server",
           "start_live_server"]


class ObservedSession:
    """One WebSocket session as the server saw it: the frames each side sent, in order.

    ``client`` holds the client's messages as camelCase JSON objects (normalised by
    openlive's own parser, whatever naming or base64 flavour the client used); a frame the
    server could not parse appears as ``{"invalid": "<the raw text>"}``. ``server`` holds
    what openlive sent back.
    """

    def __init__(self, label: str, info: dict[str, Any]) -> None:
        self.label = label
        self.info = info  # api_version, constrained, auth ("api_key" | "token" | "none")
        self.close_code: int | None = None
        self._closed = threading.Event()
        self._client_frames: list[str | bytes] = []
        self._server_frames: list[bytes] = []
        self._client: list[dict[str, Any]] = []
        self._server: list[dict[str, Any]] = []

    def __repr__(self) -> str:
        state = f"closed {self.close_code}" if self.closed else "open"
        return (f"<ObservedSession {self.label} {state}: {len(self._client_frames)} client, "
                f"{len(self._server_frames)} server messages>")

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    def wait_closed(self, timeout: float = 5.0) -> None:
        if not self._closed.wait(timeout):
            raise TimeoutError(f"{self.label} still open after {timeout} s")

    @property
    def client(self) -> list[dict[str, Any]]:
        """The client's messages, parsed, in the order received."""
        from ..wire.codec import parse_client_frame
        from ..wire.errors import LiveError

        frames = self._client_frames
        while len(self._client) < len(frames):
            frame = frames[len(self._client)]
            try:
                message = parse_client_frame(frame).to_json_dict()
            except LiveError:
                text = frame.decode("utf-8", "replace") if isinstance(frame, bytes) else frame
                message = {"invalid": text}
            self._client.append(message)
        return list(self._client)

    @property
    def server(self) -> list[dict[str, Any]]:
        """openlive's messages, parsed, in the order sent."""
        frames = self._server_frames
        while len(self._server) < len(frames):
            self._server.append(json.loads(frames[len(self._server)]))
        return list(self._server)

    def kinds(self) -> list[str]:
        """The kind of each client message: ``["setup", "clientContent", ...]``."""
        return [next(iter(m), "?") for m in self.client]

    @property
    def setup(self) -> dict[str, Any] | None:
        """The ``setup`` the client sent (None before it came)."""
        return next((m["setup"] for m in self.client if "setup" in m), None)

    def texts(self) -> list[str]:
        """The user's text, one entry per clientContent turn or realtimeInput.text."""
        out: list[str] = []
        for m in self.client:
            if "clientContent" in m:
                parts = [p.get("text", "") for t in m["clientContent"].get("turns", [])
                         for p in t.get("parts", [])]
                if any(parts):
                    out.append("".join(parts))
            elif "text" in m.get("realtimeInput", {}):
                out.append(m["realtimeInput"]["text"])
        return out

    def tool_responses(self) -> list[dict[str, Any]]:
        """Every functionResponse the client sent, in order."""
        return [r for m in self.client if "toolResponse" in m
                for r in m["toolResponse"].get("functionResponses", [])]

    def replies(self) -> list[str]:
        """The model's text, one entry per completed turn (what openlive answered, for
        TEXT replies; see :meth:`transcripts` for AUDIO ones)."""
        return self._per_turn(lambda content: [
            part["text"] for part in content.get("modelTurn", {}).get("parts", [])
            if "text" in part])

    def transcripts(self) -> list[str]:
        """What the model said, one entry per completed turn: the ``outputTranscription``
        of its AUDIO replies (sent when the setup asks for ``outputAudioTranscription``)."""
        return self._per_turn(lambda content: [
            content["outputTranscription"].get("text", "")]
            if isinstance(content.get("outputTranscription"), dict) else [])

    def _per_turn(self, pieces: Callable[[dict[str, Any]], list[str]]) -> list[str]:
        out: list[str] = []
        current: list[str] = []
        for m in self.server:
            content = m.get("serverContent", {})
            current += pieces(content)
            if content.get("turnComplete"):
                out.append("".join(current))
                current = []
        return out


class _Observer:
    """ServerConfig.observer for one test server: keeps every session's frames."""

    def __init__(self) -> None:
        self.sessions: list[ObservedSession] = []
        self._by_label: dict[str, ObservedSession] = {}

    def __call__(self, label: str, direction: str, message: Any) -> None:
        if direction == "open":
            session = ObservedSession(label, dict(message))
            self._by_label[label] = session
            self.sessions.append(session)
            return
        session = self._by_label.get(label)
        if session is None:
            return
        if direction == "client":
            session._client_frames.append(message)
        elif direction == "server":
            session._server_frames.append(message)
        elif direction == "close":
            session.close_code = message.get("code")
            session._closed.set()
            self._by_label.pop(label, None)


class _LoopThread:
    """One event loop on a daemon thread, shared by every test server of a process."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="openlive-test-loop",
                                        daemon=True)
        self._thread.start()

    def run(self, coro: Any, timeout: float = 30.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        if self.loop.is_closed():
            return
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)
        if not self._thread.is_alive():
            self.loop.close()


_shared: dict[str, Any] = {}
_shared_lock = threading.Lock()


def _loop_thread() -> _LoopThread:
    with _shared_lock:
        thread = _shared.get("loop")
        if thread is None or thread.loop.is_closed():
            thread = _shared["loop"] = _LoopThread()
        return thread


def _tls_material(directory: str | Path | None) -> tuple[Path, ssl.SSLContext, ssl.SSLContext]:
    """(cert.pem, server context, client context trusting it), made once per directory."""
    from ..server.tls import ensure_self_signed, server_context

    with _shared_lock:
        if directory is None:
            directory = _shared.get("tls_dir")
            if directory is None:
                directory = _shared["tls_dir"] = tempfile.mkdtemp(prefix="openlive-tls-")
        key = ("tls", str(directory))
        found = _shared.get(key)
        if found is None:
            cert, private_key, _ = ensure_self_signed(directory)
            found = _shared[key] = (cert, server_context(cert, private_key),
                                    ssl.create_default_context(cafile=str(cert)))
        return found


def _ca_bundle(cert: Path) -> Path:
    """``cert`` appended to certifi's CA bundle (when certifi is installed: google-genai
    depends on it), beside ``cert``; made once."""
    bundle = cert.with_name("ca-bundle.pem")
    with _shared_lock:
        if not bundle.is_file():
            try:
                import certifi
                authorities = Path(certifi.where()).read_text(encoding="ascii")
            except (ImportError, OSError):
                authorities = ""
            temporary = bundle.with_name(f".ca-bundle.{threading.get_ident()}.tmp")
            temporary.write_text(authorities.rstrip("\n") + "\n"
                                 + cert.read_text(encoding="ascii"), encoding="ascii")
            temporary.replace(bundle)
    return bundle


def shutdown() -> None:
    """Stop the shared event loop thread (the plugin calls this when pytest ends)."""
    with _shared_lock:
        thread = _shared.pop("loop", None)
    if thread is not None:
        thread.close()


class OptionError(ValueError):
    """An option of :func:`start_live_server` (or the fixture) is unknown or wrong."""


#: engines chosen by name: ``engine="replay"`` (with ``recordings=DIR``), ``"local"``
ENGINE_NAMES = ("emulator", "replay", "local")
_REPLAY_OPTIONS = ("recordings", "speed", "recording", "match_ignore", "match_normalise",
                   "before_record")


def voice_models(voice: bool | None) -> Any:
    """The emulator's speech models, chosen as ``openlive serve`` chooses them: ``None``
    (the default) uses them when the ``local`` extra is installed, as serve does; ``True``
    requires them; ``False`` leaves them out (the emulator then does not hear audio)."""
    if voice is False:
        return None
    from ..engines.audio.voice_models import missing_voice_packages
    from ..engines.emulator.engine import voice_if_installed

    if voice is True:
        missing = missing_voice_packages()
        if missing:
            raise OptionError(f"voice=True needs the speech stages: {', '.join(missing)} not "
                              "installed (pip install 'openlive[local]')")
    elif voice is not None:
        raise OptionError(f"voice: True, False or None (as serve), not {voice!r}")
    with _shared_lock:  # what is installed does not change during a run: looked up once
        if "voice" not in _shared:
            _shared["voice"] = voice_if_installed()
        return _shared["voice"]


def matcher(match_ignore: Any = None, match_normalise: Any = None) -> Any:
    """The replay's :class:`~openlive.engines.replay.matching.Matcher` from the options."""
    from ..engines.replay.matching import Matcher

    if match_normalise is not None and not callable(match_normalise):
        raise OptionError("match_normalise: a function of one client message (a dict)")
    try:
        return Matcher(match_ignore or (), match_normalise)
    except (TypeError, ValueError) as exc:
        raise OptionError(str(exc)) from None


def _shared_local_engine() -> Any:
    """The local engine, its models loaded once per process and shared by every server."""
    import argparse

    from ..engines.local import options
    from ..engines.options import EngineOptionError

    with _shared_lock:
        engine = _shared.get("local")
        if engine is None:
            parser = argparse.ArgumentParser()
            options.add_arguments(parser.add_argument_group())  # `serve`'s defaults
            try:
                engine = _shared["local"] = options.build(parser.parse_args([]))
            except EngineOptionError as exc:
                raise OptionError(f"engine='local': {exc}") from None
        return engine


def _replay_engine(recordings: Any, speed: Any = 1.0, recording: str | None = None,
                   match_ignore: Any = None, match_normalise: Any = None,
                   before_record: Any = None) -> Any:
    import argparse

    from ..engines.replay import RecordingError, ReplayEngine
    from ..engines.replay.options import parse_speed

    speed = 1.0 if speed is None else speed
    if recordings is None:
        raise OptionError("engine='replay' needs recordings=DIR (sessions recorded with "
                          "openlive serve --record DIR, or Recorder(DIR) as observer)")
    try:
        speed = parse_speed(str(speed))
    except argparse.ArgumentTypeError as exc:
        raise OptionError(f"speed: {exc}") from None
    try:
        return ReplayEngine(recordings, speed=speed, name=recording,
                            matcher=matcher(match_ignore, match_normalise),
                            before_record=before_record)
    except RecordingError as exc:
        raise OptionError(f"recordings: {exc}") from None


def _make_engine(script: Any = None, engine: Any = None, voice: bool | None = None,
                 **replay: Any) -> Any:
    if voice is not None and engine not in (None, "emulator"):
        raise OptionError(f"voice= is for the emulator, not engine={engine!r}")
    if isinstance(engine, str):
        if engine not in ENGINE_NAMES:
            raise OptionError(f"unknown engine {engine!r}: use one of "
                              f"{', '.join(ENGINE_NAMES)}, or pass an Engine")
        if script is not None and engine != "emulator":
            raise OptionError(f"script= is for the emulator, not engine={engine!r}")
    given = [k for k in _REPLAY_OPTIONS if replay.get(k) is not None]
    if given and engine != "replay":
        raise OptionError(f"{', '.join(given)}= need engine='replay'")
    if engine == "replay":
        return _replay_engine(**replay)
    if engine == "local":
        return _shared_local_engine()
    if engine is not None and engine != "emulator":
        if script is not None:
            raise OptionError("script= is for the emulator: pass either script or engine")
        factory = isinstance(engine, type) or not hasattr(engine, "open_session")
        return engine() if factory and callable(engine) else engine
    from ..engines.emulator import EmulatorEngine
    from ..engines.emulator.script import ScriptError, parse_rules

    speech = voice_models(voice)
    try:
        if script is None:
            return EmulatorEngine(voice=speech)
        if isinstance(script, str | Path):
            return EmulatorEngine.from_script(script, voice=speech)
        return EmulatorEngine(parse_rules(list(script)), voice=speech)
    except ScriptError as exc:
        raise OptionError(f"script: {exc}") from None


class LiveTestServer:
    """A running in-process openlive: ``url``, ``ws_url``, ``genai_client()``, ``sessions``."""

    def __init__(self, running: Any, observer: _Observer, loop: _LoopThread,
                 cert: Path | None, client_ssl: ssl.SSLContext | None) -> None:
        self._running = running
        self._observer = observer
        self._loop = loop
        self.cert = cert  # the self-signed certificate (None without TLS)
        self.ssl_context = client_ssl  # a client SSLContext that trusts ``cert``
        self.engine = running.live.engine
        self.port: int = running.port
        self.url: str = running.http_url  # https://127.0.0.1:PORT (the SDKs' base URL)
        self.ws_url: str = running.ws_url  # wss://127.0.0.1:PORT
        self.recording: Path | None = None  # the test's own recording (record=True)
        self._stopped = False

    def __repr__(self) -> str:
        return f"<LiveTestServer {self.url} ({self.engine.name} engine)>"

    @property
    def live_url(self) -> str:
        """The full BidiGenerateContent WebSocket URL (append ``?key=…`` if keys are set)."""
        from ..wire.endpoints import live_path
        return self.ws_url + live_path()

    @property
    def sessions(self) -> list[ObservedSession]:
        """Every session so far, in the order they connected."""
        return list(self._observer.sessions)

    def wait_closed(self, timeout: float = 5.0) -> list[ObservedSession]:
        """Block until every session so far has closed on the server's side (a client's
        last frames and its close may still be in flight when its ``async with`` ends)."""
        deadline = time.monotonic() + timeout
        for session in self.sessions:
            session.wait_closed(max(0.0, deadline - time.monotonic()))
        return self.sessions

    async def await_closed(self, timeout: float = 5.0) -> list[ObservedSession]:
        """:meth:`wait_closed` for async tests (does not block the test's event loop)."""
        async with asyncio.timeout(timeout):
            while not all(s.closed for s in self.sessions):
                await asyncio.sleep(0.002)
        return self.sessions

    def environ(self, api_key: str = "test") -> dict[str, str | None]:
        """The environment under which an app that builds its own client talks to this
        server unchanged (the ``live_server_env`` fixture sets it for one test):

        * ``GOOGLE_GEMINI_BASE_URL``: the base URL both SDKs read when none is given
          (google-genai ``_base_url.get_base_url``, 1.x-3.x; @google/genai ``getBaseUrl``);
        * ``GEMINI_API_KEY`` and ``GOOGLE_API_KEY``: ``api_key`` (google-genai prefers the
          second when both are set; a real key in the environment is never sent here), and
          ``GOOGLE_GENAI_USE_VERTEXAI`` unset (Vertex AI would ignore the base URL);
        * with TLS, ``SSL_CERT_FILE``: a CA bundle of certifi's authorities plus this
          server's certificate (google-genai and Python's ``ssl`` read it, so other HTTPS
          keeps working), and ``NODE_EXTRA_CA_CERTS``: the certificate, for Node.

        A value of None means "unset this variable"."""
        env: dict[str, str | None] = {"GOOGLE_GEMINI_BASE_URL": self.url,
                                      "GEMINI_API_KEY": api_key, "GOOGLE_API_KEY": api_key,
                                      "GOOGLE_GENAI_USE_VERTEXAI": None}
        if self.cert is not None:
            env["SSL_CERT_FILE"] = str(_ca_bundle(self.cert))
            env["NODE_EXTRA_CA_CERTS"] = str(self.cert)
        return env

    def genai_client(self, api_key: str = "test", **http_options: Any) -> Any:
        """An official ``google.genai.Client`` pointed at this server, trusting its
        certificate. Extra keyword arguments go into ``http_options``."""
        try:
            from google import genai
        except ImportError as exc:
            raise RuntimeError(
                "live_server.genai_client() needs the official SDK: pip install google-genai"
            ) from exc
        options: dict[str, Any] = {"base_url": self.url, "api_version": "v1beta"}
        if self.ssl_context is not None:
            options["client_args"] = {"verify": self.ssl_context}
            options["async_client_args"] = {"ssl": self.ssl_context}
        options.update(http_options)
        return genai.Client(api_key=api_key, http_options=options)

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        self._loop.run(self._running.stop())


def start_live_server(*, script: Any = None, engine: Any = None, tls: bool = True,
                      tls_dir: str | Path | None = None, host: str = "127.0.0.1",
                      observer: Callable[[str, str, Any], None] | None = None,
                      recordings: str | Path | None = None, speed: float | str | None = None,
                      recording: str | None = None, voice: bool | None = None,
                      match_ignore: Any = None, match_normalise: Any = None,
                      before_record: Any = None, **config: Any) -> LiveTestServer:
    """Start an openlive on a free port; stop it with ``.stop()``.

    ``engine``: ``"emulator"`` (the default) answering from ``script`` (emulator rules: a
    list of dicts, or a YAML file path); ``"replay"`` answering from ``recordings`` (a
    directory made with ``serve --record``; ``speed``: 1 = recorded timing, 0 or ``"max"``
    = no waiting; ``recording``: one file's name); ``"local"`` (the local models, loaded
    once per process); or any openlive Engine (or a zero-argument factory of one).
    ``voice`` (emulator): its speech models as ``openlive serve`` has them: ``None`` = when
    the ``local`` extra is installed, ``True`` = required, ``False`` = none.
    ``match_ignore`` / ``match_normalise`` / ``before_record`` (replay): how client
    messages are compared with the recording (fields ignored, a normalising function), and
    the redaction hook the recordings were made with.
    ``tls``: serve https/wss with a self-signed certificate (google-genai needs it);
    other keywords go to :class:`openlive.server.app.ServerConfig` (``api_keys=[...]``…).
    Raises :class:`OptionError` for an unknown or wrong option.
    """
    import dataclasses

    from ..server.app import ServerConfig
    from ..server.run import start_server

    unknown = sorted(set(config) - {f.name for f in dataclasses.fields(ServerConfig)})
    if unknown:
        raise OptionError(f"unknown live_server option {', '.join(map(repr, unknown))}: "
                          "use script, engine, voice, recordings, speed, recording, "
                          "match_ignore, match_normalise, before_record, tls, tls_dir, "
                          "host, observer or a ServerConfig field")
    built = _make_engine(script, engine, voice, recordings=recordings, speed=speed,
                         recording=recording, match_ignore=match_ignore,
                         match_normalise=match_normalise, before_record=before_record)

    cert = server_ctx = client_ctx = None
    if tls:
        cert, server_ctx, client_ctx = _tls_material(tls_dir)
    watcher = _Observer()
    if observer is not None:
        def both(label: str, direction: str, message: Any) -> None:
            watcher(label, direction, message)
            observer(label, direction, message)
        config["observer"] = both
    else:
        config["observer"] = watcher
    loop = _loop_thread()
    running = loop.run(start_server(built, ServerConfig(**config), host=host, port=0,
                                    ssl_context=server_ctx))
    return LiveTestServer(running, watcher, loop, cert, client_ctx)


@contextmanager
def running_live_server(**options: Any) -> Iterator[LiveTestServer]:
    """``with running_live_server(script=[...]) as server:`` — start, yield, stop."""
    server = start_live_server(**options)
    try:
        yield server
    finally:
        server.stop()
