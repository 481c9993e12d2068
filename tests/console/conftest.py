"""Browser console tests: a real `openlive serve` subprocess, Debian's Chromium driven by
Playwright, and a question spoken by Piper at test time fed as the fake microphone.

Screenshots of each state land in test-artifacts/console/ (gitignored)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
import wave
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import soxr

from live_client import free_port

os.environ.setdefault("HF_HUB_OFFLINE", "1")

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "console"
QUESTION = "How tall is the Eiffel Tower in Paris?"
WAV_RATE = 48_000
API_KEY = "console-test-key-3f9a"  # the server's key: must never reach the page
OTHER_API_KEY = "other-server-key-77c1"  # the second server's key, typed into the page

SCRIPT = """\
- match: "weather in (?P<city>\\\\w+)"
  call: {name: get_weather, args: {city: "{city}"}}
  say: "It is {result[summary]} in {city}."
- match: "please go away"
  go_away: 5s
  say: "Reconnect soon."
- match: "crash"
  close: {code: 1011, reason: "The service is currently unavailable."}
"""

CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
    "--autoplay-policy=no-user-gesture-required",
]


def chromium_executable() -> str:
    exe = os.environ.get("OPENLIVE_CHROMIUM") or shutil.which("chromium") or (
        "/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None)
    if exe is None or not os.path.exists(exe):
        pytest.fail("Chromium is not installed: run `make install-dev` (it installs Debian's "
                    "chromium package) or set OPENLIVE_CHROMIUM", pytrace=False)
    return exe


@pytest.fixture(scope="session")
def question() -> str:
    """What the fake microphone says."""
    return QUESTION


@pytest.fixture(scope="session")
def question_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The question spoken by Piper: 48 kHz mono PCM16 with 0.5 s of silence before it and
    8 s after (VAD ends the utterance; the reply plays before Chromium loops the file)."""
    from openlive.engines.audio.tts import Synthesizer

    tts = Synthesizer(noise_scale=0.0, noise_w_scale=0.0)
    speech = np.frombuffer(b"".join(tts.synthesize(QUESTION)), dtype="<i2")
    speech = soxr.resample(speech, tts.output_rate, WAV_RATE).astype("<i2")
    pcm = np.concatenate([np.zeros(WAV_RATE // 2, "<i2"), speech,
                          np.zeros(8 * WAV_RATE, "<i2")])
    path = tmp_path_factory.mktemp("console-audio") / "question.wav"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(WAV_RATE)
        out.writeframes(pcm.tobytes())
    return path


@dataclass
class ConsoleServer:
    url: str
    api_key: str | None
    log: Path


@contextmanager
def openlive_serve(workdir: Path, *args: str, api_key: str | None) -> Iterator[ConsoleServer]:
    """`openlive serve --api-key KEY ARGS…` (an open server: ``api_key=None``) as a
    subprocess on a free loopback port, until the block ends (then stopped; the key must
    never be in its log)."""
    log = workdir / "server.log"
    port = free_port()
    keyed = ["--api-key", api_key] if api_key else []
    cmd = [sys.executable, "-m", "openlive.cli", "serve", "--port", str(port), *keyed, *args]
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=workdir)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                pytest.fail(f"openlive serve exited ({proc.returncode}):\n{log.read_text()}")
            try:
                with urllib.request.urlopen(url + "/healthz", timeout=1) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"openlive serve did not start in 60 s:\n{log.read_text()}")
            time.sleep(0.2)
        yield ConsoleServer(url, api_key, log)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    assert not api_key or api_key not in log.read_text(), "the server logged its API key"


@pytest.fixture(scope="module")
def console_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsoleServer]:
    """`openlive serve` (emulator with voice, an API key, a script with a tool call, a goAway
    and an error close) as a subprocess on a free loopback port."""
    workdir = tmp_path_factory.mktemp("console-server")
    script = workdir / "script.yaml"
    script.write_text(SCRIPT)
    with openlive_serve(workdir, "--script", str(script), api_key=API_KEY) as server:
        yield server


@pytest.fixture(scope="module")
def other_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsoleServer]:
    """A second `openlive serve` with its own API key: the page connects to it by URL."""
    workdir = tmp_path_factory.mktemp("other-server")
    with openlive_serve(workdir, api_key=OTHER_API_KEY) as server:
        yield server


@pytest.fixture(scope="module")
def browser(question_wav: Path) -> Iterator[object]:
    """Headless Chromium (Debian's) with fake media devices: the microphone plays
    ``question_wav`` in a loop, the camera is Chromium's test pattern."""
    from playwright.sync_api import sync_playwright

    exe = chromium_executable()
    with sync_playwright() as pw:
        # Playwright gives each launch a fresh, temporary --user-data-dir.
        chromium = pw.chromium.launch(
            executable_path=exe, headless=True,
            args=[*CHROMIUM_ARGS, f"--use-file-for-fake-audio-capture={question_wav}"])
        try:
            yield chromium
        finally:
            chromium.close()


@contextmanager
def console_page(browser, console_server: ConsoleServer) -> Iterator[object]:
    """A fresh page (1280x800) of ``browser`` on the console, idle; on leaving, fails the
    test if the page logged an error or requested anything but the server it came from."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    errors: list[str] = []
    foreign: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    origin = console_server.url.replace("http://", "")

    def check_request(request) -> None:
        if origin not in request.url and not request.url.startswith(("data:", "blob:")):
            foreign.append(request.url)

    page.on("request", check_request)
    try:
        page.goto(console_server.url + "/")
        page.wait_for_selector("#state[data-state=idle]")
        yield page
    finally:
        context.close()
    assert not foreign, f"the page requested other hosts: {foreign}"
    assert not errors, f"errors in the page: {errors}"


@pytest.fixture
def page(browser, console_server: ConsoleServer) -> Iterator[object]:
    """:func:`console_page` on the fake-microphone browser."""
    with console_page(browser, console_server) as page:
        yield page


@pytest.fixture
def shot(page) -> object:
    """``shot(name)``: a screenshot of the page as test-artifacts/console/<name>.png."""
    def save(name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path))
        return path

    return save


@dataclass
class Frame:
    socket: int  # which of the page's WebSockets (0: the first opened)
    url: str  # its URL
    direction: str  # "out" (page -> server) or "in"
    message: dict


@pytest.fixture
def frames(page) -> list[Frame]:
    """Every JSON message on the page's WebSockets, as Chromium saw it on the wire (recorded
    by the browser, not by the page's own code)."""
    seen: list[Frame] = []
    opened: list[object] = []

    def watch(ws) -> None:
        index = len(opened)
        opened.append(ws)

        def add(direction: str, payload) -> None:
            text = payload.decode() if isinstance(payload, bytes) else payload
            try:
                seen.append(Frame(index, ws.url, direction, json.loads(text)))
            except ValueError:
                pass

        ws.on("framesent", lambda payload: add("out", payload))
        ws.on("framereceived", lambda payload: add("in", payload))

    page.on("websocket", watch)
    return seen
