"""What the server saw (issue 14): ``GET /console/seen`` and the console's panel.

Against a real `openlive serve` (the emulator, which looks at video when the vision extra is
installed, as `make install-dev` does): the route over real sockets (a raw Live client sends
a rendered sign; the route, asked with the SHA-256 of that first frame, answers with the
sign's OCR'd text; refusals and 404s), and Chromium whose fake camera is a .y4m file of the
same kind of sign: the panel shows the text the server read. The Live connection carries
nothing new: only the message types Google's SDKs know.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from console.conftest import (
    API_KEY,
    ARTIFACTS,
    CHROMIUM_ARGS,
    ConsoleServer,
    chromium_executable,
    console_page,
)
from live_client import SDK_KEYS, open_live, recv, send, setup
from vision.images import jpeg, sign

ROUTE = "/console/seen"
WS_WORDS = "GATE 42 NORTH"  # the raw client's sign
CAMERA_WORDS = "PLATFORM 9"  # the fake camera's sign
EMULATOR_MODEL = "models/openlive-emulator"
OCR_WAIT = 90.0  # seconds: the OCR models load at the first frame, on a small shared machine


def http(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def seen_url(server: ConsoleServer, key: str) -> str:
    return f"{server.url}{ROUTE}?frame={key}"


# ---------------------------------------------------------------- the route, real sockets

def test_the_route_refuses_bad_asks_and_unknown_sessions(console_server):
    status, body = http(console_server.url + ROUTE)
    assert status == 400 and body["error"]["status"] == "INVALID_ARGUMENT", body
    status, body = http(seen_url(console_server, "not-a-hash"))
    assert status == 400, body
    unknown = hashlib.sha256(b"no such frame").hexdigest()
    status, body = http(seen_url(console_server, unknown))
    assert status == 404, body
    assert body["error"]["status"] == "NOT_FOUND"
    assert "received that video frame" in body["error"]["message"]
    # the console routes' guard: another site's page, a DNS-rebound name
    status, body = http(seen_url(console_server, unknown),
                        {"Origin": "http://evil.example"})
    assert status == 403 and body["error"]["status"] == "PERMISSION_DENIED", body
    status, body = http(seen_url(console_server, unknown), {"Host": "evil.example"})
    assert status == 403, body


def test_the_route_reports_what_a_live_session_saw(console_server):
    frame = jpeg(sign(WS_WORDS))
    other = jpeg(sign("SOMETHING ELSE"))
    key = hashlib.sha256(frame).hexdigest()
    ws_url = console_server.url.replace("http://", "ws://")

    async def session() -> dict:
        ws = await open_live(ws_url, key=API_KEY)
        try:
            # openlive's own model takes all video (a 2.x Gemini model counts only frames
            # sent while the user speaks: turnCoverage)
            await setup(ws, EMULATOR_MODEL, transcribe=False)
            status, body = http(seen_url(console_server, key))
            assert status == 404, body  # no frame sent yet
            await send(ws, {"realtimeInput": {"video": {"mimeType": "image/jpeg",
                                                        "data": _b64(frame)}}})
            await send(ws, {"realtimeInput": {"video": {"mimeType": "image/jpeg",
                                                        "data": _b64(other)}}})
            deadline = time.monotonic() + OCR_WAIT
            while True:
                status, body = http(seen_url(console_server, key))
                # 404 until the server has read the frame off the socket
                assert status == 200 or (status == 404 and time.monotonic() < deadline
                                         - OCR_WAIT + 10), body
                if status == 200 and body["seen"]["analysed"]:
                    break
                assert time.monotonic() < deadline, f"nothing analysed: {body}"
                await asyncio.sleep(0.5)  # (the client's loop sends the frames meanwhile)
            # a later frame's hash names no session: only the first one does
            later = hashlib.sha256(other).hexdigest()
            assert http(seen_url(console_server, later))[0] == 404
            # the Live client got nothing for all this
            with pytest.raises(TimeoutError):
                extra = await recv(ws, timeout=1.0)
                pytest.fail(f"the Live client received {extra}")
            return body["seen"]
        finally:
            await ws.close()

    seen = asyncio.run(session())
    assert seen["source"] == "detectors"
    assert seen["analyser"].startswith("OCR")
    assert seen["age"] >= 0
    assert seen["frames"] >= 1
    read = " ".join(seen["text"]) if seen["text"] else ""
    # the background analysis may have taken either frame (the latest when it ran)
    assert WS_WORDS in read or "SOMETHING ELSE" in read, seen
    assert seen["size"] == [640, 480]
    # the session closed: its frame names nothing any more
    deadline = time.monotonic() + 10
    while http(seen_url(console_server, key))[0] != 404:
        assert time.monotonic() < deadline, "the closed session is still found"
        time.sleep(0.2)


def test_a_server_without_the_vision_extra_says_how_to_install_it(monkeypatch):
    """The console routes in-process on a real socket, with the vision packages reported
    missing: the 404 names the install step (the page shows it in the panel)."""
    import aiohttp
    from aiohttp import web

    from openlive.console import add_console_routes
    from openlive.engines.vision import console_view, models
    from openlive.store.memory import MemoryStore

    monkeypatch.setattr(models, "missing_vision_packages", lambda: ["rapidocr==3.10.0"])
    key = hashlib.sha256(b"a frame nobody sent").hexdigest()

    async def ask() -> tuple[int, dict]:
        app = web.Application()
        add_console_routes(app, store=MemoryStore(), open_server=True,
                           seen=console_view.answer)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        try:
            async with aiohttp.ClientSession() as http_client, http_client.get(
                    f"http://127.0.0.1:{port}{ROUTE}?frame={key}") as resp:
                return resp.status, await resp.json()
        finally:
            await runner.cleanup()

    status, body = asyncio.run(ask())
    assert status == 404, body
    message = body["error"]["message"]
    assert "does not look at video" in message and "rapidocr==3.10.0" in message, message
    assert models.INSTALL_HINT in message


def _b64(data: bytes) -> str:
    import base64

    return base64.b64encode(data).decode()


# ---------------------------------------------------------------------- the real browser

def y4m(image: Image.Image, path: Path, frames: int = 10) -> Path:
    """``image`` as a Y4M video (I420, 10 fps) for Chromium's fake camera."""
    ycc = image.convert("RGB").convert("YCbCr")
    y, cb, cr = ycc.split()
    half = (image.width // 2, image.height // 2)
    plane = y.tobytes() + cb.resize(half).tobytes() + cr.resize(half).tobytes()
    header = f"YUV4MPEG2 W{image.width} H{image.height} F10:1 Ip A1:1 C420jpeg\n".encode()
    path.write_bytes(header + b"".join(b"FRAME\n" + plane for _ in range(frames)))
    return path


@pytest.fixture(scope="module")
def sign_browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """Headless Chromium whose fake camera shows a sign reading CAMERA_WORDS."""
    from playwright.sync_api import sync_playwright

    video = y4m(sign(CAMERA_WORDS), tmp_path_factory.mktemp("camera") / "sign.y4m")
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=chromium_executable(), headless=True,
            args=[*CHROMIUM_ARGS, f"--use-file-for-fake-video-capture={video}"])
        try:
            yield chromium
        finally:
            chromium.close()


def test_the_panel_shows_the_text_the_server_read_from_the_camera(sign_browser,
                                                                   console_server):
    received: list[dict] = []
    with console_page(sign_browser, console_server) as page:
        page.on("websocket", lambda ws: ws.on("framereceived", lambda payload: received.append(
            json.loads(payload.decode() if isinstance(payload, bytes) else payload))))
        assert page.locator("#seen").is_hidden()  # nothing shared yet: no panel
        page.fill("input[name=model]", "openlive-emulator")
        page.select_option("select[name=modality]", "TEXT")
        page.click("#connect")
        page.wait_for_selector("#state[data-state=live]", timeout=15_000)
        page.click("#camera")
        page.wait_for_selector("#seen:not([hidden])", timeout=10_000)
        page.wait_for_function(
            "(words) => (document.querySelector('#seen .seen-text') || {}).textContent"
            "?.includes(words)", arg=CAMERA_WORDS, timeout=OCR_WAIT * 1000)
        panel = page.inner_text("#seen")
        assert panel.startswith("Seen "), panel
        assert "text: " in panel and "people: " in panel and "objects: " in panel, panel
        seen = page.evaluate("() => window.openliveConsole.seen")
        assert seen["analysed"] and CAMERA_WORDS in " ".join(seen["text"]), seen
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "seen-panel.png"))
        # the page's Live connection carried only what Google's SDKs know
        assert received and all(set(m) <= SDK_KEYS for m in received), received
