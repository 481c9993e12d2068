"""The console in a real headless Chromium: resuming after a scripted goAway, connecting to
another `openlive serve` with a typed key or ephemeral token, push-to-talk with automatic
activity detection off, and screen sharing. WebSocket frames are checked as Chromium saw
them on the wire (the ``frames`` fixture), not as the page reports them."""

from __future__ import annotations

import base64
import struct
import subprocess
import sys

from openlive.wire import errors

STATE = "#state"


def wait_for(page, condition: str, timeout: float = 20.0) -> None:
    page.wait_for_function(condition, timeout=timeout * 1000)


def say(page, text: str) -> None:
    page.fill("#chat input[name=text]", text)
    page.press("#chat input[name=text]", "Enter")


def record_states(page) -> None:
    """Keep every state the badge shows in window.seenStates (short ones too)."""
    page.evaluate("""() => {
      window.seenStates = [document.querySelector('#state').dataset.state];
      new MutationObserver(() => {
        const now = document.querySelector('#state').dataset.state;
        if (window.seenStates.at(-1) !== now) window.seenStates.push(now);
      }).observe(document.querySelector('#state'), { attributes: true });
    }""")


def use_text_replies(page) -> None:
    """TEXT replies on the emulator's own model: these tests are about the console's sessions,
    not speech, and gemini models answer in AUDIO only (a TEXT setup is refused,
    session/models.py; the console's default model is gemini-3.8-live)."""
    page.fill("input[name=model]", "openlive-emulator")
    page.select_option("select[name=modality]", "TEXT")


def sockets(frames) -> list[str]:
    """The URLs of the page's WebSockets, in the order they were opened."""
    urls: dict[int, str] = {}
    for frame in frames:
        urls.setdefault(frame.socket, frame.url)
    return [urls[i] for i in sorted(urls)]


def sent(frames, url: str | None = None) -> list[dict]:
    return [f.message for f in frames if f.direction == "out" and url in (None, f.url)]


def received(frames, url: str | None = None) -> list[dict]:
    return [f.message for f in frames if f.direction == "in" and url in (None, f.url)]


def test_go_away_reconnects_and_resumes_the_session(page, shot, frames, console_server):
    use_text_replies(page)
    assert page.is_checked("input[name=resume]")
    page.click("#connect")
    page.wait_for_selector(f"{STATE}[data-state=live]", timeout=15_000)
    say(page, "hello before the move")
    page.wait_for_selector(".turn.model >> text=You said: hello before the move",
                           timeout=15_000)
    record_states(page)
    # The page's timers stand still (Playwright's fake clock) so that the reconnecting state,
    # which lasts 300 ms, can be looked at; the WebSocket itself runs as usual.
    page.clock.install()
    page.clock.pause_at(page.evaluate("() => Date.now()") / 1000 + 0.05)  # seconds
    say(page, "please go away")  # the script: goAway{timeLeft: 5s}, then "Reconnect soon."
    page.wait_for_selector(f"{STATE}[data-state=reconnecting]", timeout=15_000)
    shot("06-reconnecting")
    assert page.inner_text("#state-detail") == "attempt 1"
    assert page.is_disabled("#chat input")
    page.clock.resume()
    page.wait_for_selector(f"{STATE}[data-state=live]", timeout=15_000)
    assert page.evaluate("() => window.seenStates") == ["live", "reconnecting", "live"]
    # The reply of the turn that got the goAway was not lost: the page moved after it.
    page.wait_for_selector(".turn.model >> text=Reconnect soon.", timeout=5_000)
    assert "will close this connection in 5s" in page.inner_text("#transcript")
    assert "resuming the session" in page.inner_text("#transcript")
    say(page, "hello after the move")
    page.wait_for_selector(".turn.model >> text=You said: hello after the move",
                           timeout=15_000)
    shot("07-resumed")
    first, second = sockets(frames)
    assert first == second  # the same endpoint and console token (resumable with it)
    # On the wire: the second connection's setup carries the last handle of the first.
    setups = [i for i, f in enumerate(frames) if f.direction == "out" and "setup" in f.message]
    assert len(setups) == 2
    first_setup, resumed_setup = (frames[i].message["setup"] for i in setups)
    assert "handle" not in first_setup["sessionResumption"]
    handles = [f.message["sessionResumptionUpdate"]["newHandle"] for f in frames
               if f.direction == "in"
               and f.message.get("sessionResumptionUpdate", {}).get("newHandle")]
    issued_before = [f.message["sessionResumptionUpdate"]["newHandle"]
                     for f in frames[:setups[1]] if f.direction == "in"
                     and f.message.get("sessionResumptionUpdate", {}).get("newHandle")]
    assert resumed_setup["sessionResumption"]["handle"] == issued_before[-1]
    assert len(handles) > len(issued_before)  # the resumed connection issues new ones
    # The goAway came during the turn; the page waited for its handle to move.
    go_away = next(i for i, f in enumerate(frames) if "goAway" in f.message)
    assert any("Reconnect soon." in str(f.message) for f in frames[go_away:setups[1]])
    assert page.evaluate("() => window.openliveConsole.close.code") == 1000  # the page's own
    assert page.evaluate("() => window.openliveConsole.stats.reconnects") == 1
    assert "resumed a stored session" in console_server.log.read_text()


def connect_to(page, url: str, credential: str) -> None:
    page.fill("input[name=url]", url)
    page.fill("input[name=credential]", credential)
    use_text_replies(page)
    page.click("#connect")


def test_another_server_with_a_typed_api_key(page, shot, frames, console_server,
                                              other_server):
    token_requests: list[str] = []
    page.on("request", lambda r: token_requests.append(r.url) if "/console/token" in r.url
            else None)
    connect_to(page, other_server.url, other_server.api_key)
    page.wait_for_selector(f"{STATE}[data-state=live]", timeout=15_000)
    assert page.inner_text("#auth-hint") == "authenticated with: your key"
    say(page, "hello other server")
    page.wait_for_selector(".turn.model >> text=You said: hello other server",
                           timeout=15_000)
    shot("08-other-server")
    port = other_server.url.rsplit(":", 1)[1]
    [url] = sockets(frames)
    assert url == (f"ws://127.0.0.1:{port}/ws/google.ai.generativelanguage.v1beta."
                   f"GenerativeService.BidiGenerateContent?key={other_server.api_key}")
    assert not token_requests  # a typed key: the page's own server is not asked
    assert "connected from" in other_server.log.read_text()
    assert other_server.api_key not in page.evaluate("() => JSON.stringify(localStorage)")


def test_another_server_with_a_typed_ephemeral_token(page, frames, other_server):
    made = subprocess.run(
        [sys.executable, "-m", "openlive.cli", "token", "create", "--url", other_server.url,
         "--api-key", other_server.api_key, "--uses", "1"],
        capture_output=True, text=True, timeout=30)
    assert made.returncode == 0, made.stdout + made.stderr
    token = made.stdout.strip().splitlines()[-1]
    assert token.startswith("auth_tokens/")
    connect_to(page, other_server.url, token)
    page.wait_for_selector(f"{STATE}[data-state=live]", timeout=15_000)
    assert page.inner_text("#auth-hint") == "authenticated with: your token"
    say(page, "hello with a token")
    page.wait_for_selector(".turn.model >> text=You said: hello with a token", timeout=15_000)
    [url] = sockets(frames)
    assert "BidiGenerateContentConstrained?access_token=auth_tokens" in url
    assert "v1alpha" in url and "key=" not in url
    # The token had one use: a second connection with it is refused, code and reason shown.
    page.click("#disconnect")
    page.wait_for_selector(f"{STATE}[data-state=closed]")
    page.click("#connect")
    page.wait_for_selector(f"{STATE}[data-state=closed]", timeout=15_000)
    assert page.inner_text("#state-detail").startswith("1008 ")


def test_another_server_with_a_wrong_key_shows_the_close(page, shot, other_server):
    connect_to(page, other_server.url, "not-the-right-key")
    page.wait_for_selector(f"{STATE}[data-state=closed]", timeout=15_000)
    reason = f"1007 {errors.API_KEY_INVALID}"
    assert page.inner_text("#state-detail") == reason
    assert page.inner_text("#error") == f"Closed with code {reason}"
    assert f"closed: {reason}" in page.inner_text("#transcript")
    assert page.is_enabled("#connect") and not page.is_enabled("#chat input")
    shot("09-wrong-key")


def test_push_to_talk_with_automatic_activity_detection_off(page, shot, frames):
    page.uncheck("input[name=vad]")
    assert page.is_visible("#ptt")
    use_text_replies(page)
    page.check("input[name=inputTranscription]")
    page.click("#connect")
    page.wait_for_selector(f"{STATE}[data-state=live]", timeout=15_000)
    setup = sent(frames)[0]["setup"]
    assert setup["realtimeInputConfig"]["automaticActivityDetection"] == {"disabled": True}
    page.click("#mic")
    wait_for(page, "() => window.openliveConsole.stats.sentAudioChunks > 0", 10)
    # Hold the button while the fake microphone plays the question (0.5 s of silence, the
    # question, then silence: 4 s covers it), then let go.
    box = page.locator("#ptt").bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.wait_for_timeout(300)
    assert page.get_attribute("#ptt", "aria-pressed") == "true"
    shot("10-push-to-talk")
    page.wait_for_timeout(3700)
    page.mouse.up()
    assert page.get_attribute("#ptt", "aria-pressed") == "false"
    page.wait_for_selector(".turn.model", timeout=30_000)
    wait_for(page, "() => /you said: how tall/i.test("
                   "document.querySelector('.turn.model').textContent)", 30)
    assert "eiffel tower" in page.inner_text(".turn.user[data-how=speech]").lower()
    realtime = [m["realtimeInput"] for m in sent(frames) if "realtimeInput" in m]
    kinds = [next(iter(r)) for r in realtime]
    start, end = kinds.index("activityStart"), kinds.index("activityEnd")
    assert kinds.count("activityStart") == 1 and kinds.count("activityEnd") == 1
    assert realtime[start] == {"activityStart": {}} and realtime[end] == {"activityEnd": {}}
    assert kinds[start + 1:end].count("audio") >= 80  # about 4 s of 40 ms chunks between
    page.click("#mic")  # mic off: no audioStreamEnd without automatic detection
    page.wait_for_timeout(300)
    assert "audioStreamEnd" not in kinds and not any(
        "audioStreamEnd" in m.get("realtimeInput", {}) for m in sent(frames))
    assert page.is_visible(f"{STATE}[data-state=live]")


def jpeg_size(data: bytes) -> tuple[int, int]:
    """(width, height) from a JPEG's start-of-frame segment."""
    i = 2
    while i < len(data):
        marker, length = data[i + 1], struct.unpack(">H", data[i + 2:i + 4])[0]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[i + 5:i + 9])
            return width, height
        i += 2 + length
    raise AssertionError("no JPEG frame header")


def test_screen_sharing_sends_scaled_frames(page, shot, frames):
    use_text_replies(page)
    page.click("#connect")
    page.wait_for_selector(f"{STATE}[data-state=live]", timeout=15_000)
    page.click("#screen")  # Chromium's fake display: a 1280x720 "monitor"
    page.wait_for_selector("#preview:not([hidden])")
    wait_for(page, "() => window.openliveConsole.stats.sentFrames >= 2", 10)
    assert page.evaluate("() => document.querySelector('#preview').srcObject"
                         ".getVideoTracks()[0].getSettings().displaySurface") == "monitor"
    assert "on" in page.get_attribute("#screen", "class")
    shot("11-screen")
    videos = [m["realtimeInput"]["video"] for m in sent(frames)
              if "video" in m.get("realtimeInput", {})]
    assert videos and all(v["mimeType"] == "image/jpeg" for v in videos)
    assert jpeg_size(base64.b64decode(videos[0]["data"])) == (640, 360)
    page.click("#screen")  # stop sharing
    page.wait_for_selector("#preview[hidden]", state="attached")
    count = page.evaluate("() => window.openliveConsole.stats.sentFrames")
    page.wait_for_timeout(1500)
    assert page.evaluate("() => window.openliveConsole.stats.sentFrames") == count
