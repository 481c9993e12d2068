"""One recording per test, with record modes, as pytest-recording and VCR.py have them
(https://vcrpy.readthedocs.io/en/latest/usage.html#record-modes,
https://github.com/kiwicom/pytest-recording#usage): ``none`` replays and never records,
``once`` records when the test has no recording yet, ``new_episodes`` replays what is
recorded and records the sessions beyond it, ``all`` records every session (the recorded
ones are kept in the file, none is replayed), ``rewrite`` records anew and replaces the file.

Recording means relaying the test's sessions to a real upstream (Google's service, or any
Live endpoint: ``--openlive-upstream``) with a key from the environment, and writing what
the app and the upstream sent (:class:`openlive.recording.cassette.CassetteRecorder`).
Replaying is the replay engine on the test's file. docs/testing.md, docs/recording.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..engines.base import Engine, EngineSession
from ..wire.setup import Setup

RECORD_MODES = ("none", "once", "new_episodes", "all", "rewrite")
DEFAULT_DIR = "recordings"
DEFAULT_KEY_ENV = "GEMINI_API_KEY"


class CassetteError(Exception):
    """The test cannot run in this mode (no recording to replay, no upstream key…)."""


def recording_name(node_name: str, class_name: str | None = None) -> str:
    """A test's recording's file stem: ``test_x[param]`` or ``TestClass.test_x`` (the
    names pytest-recording gives its cassettes), with characters a file name should not
    hold replaced by ``-``."""
    name = f"{class_name}.{node_name}" if class_name else node_name
    return re.sub(r"[^\w.\[\]=,+-]+", "-", name).strip("-.") or "test"


@dataclass
class Plan:
    """What the fixture runs for one test: its engine, and the recorder to save after."""

    engine: Any  # an Engine (replay, relay, or both)
    recorder: Any = None  # a CassetteRecorder, saved when the test ends (None: replay only)
    path: Path | None = None


class EpisodesEngine(Engine):
    """``new_episodes`` on a test that has a recording: its first ``recorded`` sessions are
    replayed (each matched among the recorded ones, as the replay engine does), every later
    session is relayed to the upstream and recorded."""

    name = "replay"

    def __init__(self, replay: Engine, relay: Engine, recorded: int) -> None:
        self.replay, self.relay, self.recorded = replay, relay, recorded
        self._opened = 0

    def served_models(self) -> list[str]:
        return self.replay.served_models()

    def pass_through(self, edge: Any, gate: Any, **context: Any) -> Any:
        self._opened += 1
        engine = self.replay if self._opened <= self.recorded else self.relay
        return engine.pass_through(edge, gate, **context)

    def open_session(self, setup: Setup, model: str) -> EngineSession:
        raise RuntimeError("whole connections are replayed or relayed (pass_through)")

    async def aclose(self) -> None:
        await self.relay.aclose()
        await self.replay.aclose()


def _relay(upstream: str, key_env: str, cafile: str | None, environ: Any) -> Engine:
    import ssl

    from ..engines.relay import RelayEngine, Upstream

    key = (environ.get(key_env) or "").strip()
    if not key:
        raise CassetteError(f"recording needs the upstream's API key in ${key_env}, which is "
                            "not set (set it, or name another variable with "
                            "--openlive-upstream-key-env)")
    context = None
    if cafile:
        try:
            context = ssl.create_default_context(cafile=cafile)
        except (OSError, ssl.SSLError) as exc:
            raise CassetteError(f"upstream CA file {cafile}: "
                                f"{getattr(exc, 'strerror', None) or exc}") from None
    try:
        return RelayEngine(Upstream(upstream, api_key=key, ssl_context=context))
    except ValueError as exc:
        raise CassetteError(f"upstream {upstream!r}: {exc}") from None


def plan(path: Path, mode: str, *, upstream: str, key_env: str = DEFAULT_KEY_ENV,
         cafile: str | None = None, environ: Any, speed: float = 0.0,
         matcher: Any = None, before_record: Any = None) -> Plan:
    """The engine (and recorder) for a test whose recording is ``path``, in ``mode``."""
    from ..engines.replay import RecordingError, ReplayEngine
    from ..engines.replay.script import load_cassette
    from ..recording.cassette import CassetteRecorder, read_cassette

    if mode not in RECORD_MODES:
        raise CassetteError(f"unknown record mode {mode!r}: use one of {', '.join(RECORD_MODES)}")
    exists = path.is_file()

    def replay() -> Engine:
        try:
            return ReplayEngine(load_cassette(path), speed=speed, matcher=matcher,
                                before_record=before_record)
        except RecordingError as exc:
            raise CassetteError(f"recording {path}: {exc}") from None

    def recorder(keep: list[list[dict]], skip: int = 0) -> CassetteRecorder:
        return CassetteRecorder(path, keep=keep, skip=skip, before_record=before_record)

    if mode == "none" or (mode == "once" and exists):
        if not exists:
            raise CassetteError(f"no recording {path} (record mode none): record it with "
                                "--openlive-record-mode=once against a real upstream")
        return Plan(replay(), None, path)
    relay = _relay(upstream, key_env, cafile, environ)
    if mode == "new_episodes" and exists:
        kept = read_cassette(path)
        return Plan(EpisodesEngine(replay(), relay, len(kept)), recorder(kept, len(kept)), path)
    kept = read_cassette(path) if mode == "all" and exists else []
    return Plan(relay, recorder(kept), path)
