"""The console in a real headless Chromium against a real `openlive serve` (emulator that
hears with Whisper and speaks with Piper): voice, text, tool calls, barge-in, errors."""

from __future__ import annotations

import re
import time

from playwright.sync_api import expect

STATE = "#state"


def connect(page, modality: str = "AUDIO") -> None:
    """AUDIO on the console's default model (gemini-3.8-live), or TEXT on the emulator's own
    model (gemini models answer in AUDIO only: a TEXT setup is refused, session/models.py)."""
    if modality == "TEXT":
        page.fill("input[name=model]", "openlive-emulator")
    page.select_option("select[name=modality]", modality)
    page.check("input[name=inputTranscription]")
    page.check("input[name=outputTranscription]")
    page.click("#connect")
    page.wait_for_selector(f"{STATE}[data-state=live]", timeout=15_000)


def say(page, text: str) -> None:
    page.fill("#chat input[name=text]", text)
    page.press("#chat input[name=text]", "Enter")


def stats(page) -> dict:
    return page.evaluate("() => JSON.parse(JSON.stringify(window.openliveConsole.stats))")


def wait_for(page, condition: str, timeout: float = 20.0) -> None:
    page.wait_for_function(condition, timeout=timeout * 1000)


def test_connecting_then_live_with_a_console_token(page, shot, console_server):
    release: list = []
    page.route("**/console/token", lambda route: release.append(route))
    page.click("#connect")
    page.wait_for_selector(f"{STATE}[data-state=connecting]")
    shot("01-connecting")
    deadline = time.monotonic() + 10
    while not release and time.monotonic() < deadline:
        page.wait_for_timeout(50)
    assert release, "the page did not ask its server for a token"
    release[0].continue_()
    page.wait_for_selector(f"{STATE}[data-state=live]", timeout=15_000)
    assert "console token" in page.inner_text("#auth-hint")
    log = console_server.log.read_text()
    assert "ephemeral token" in log  # the session opened with the token, not the key
    html = page.content()
    assert console_server.api_key not in html
    shot("02-live")


def test_spoken_question_is_transcribed_answered_and_played(page, shot, question):
    connect(page, "AUDIO")
    page.click("#mic")
    user = page.locator(".turn.user[data-how=speech]").first
    user.wait_for(timeout=30_000)
    # The whole question, as Whisper heard it through Chromium's audio processing.
    wait_for(page, "() => /how tall is the eiffel tower in paris\\?/i.test("
                   "document.querySelector('.turn.user[data-how=speech]').textContent)", 30)
    model = page.locator(".turn.model").first
    model.wait_for(timeout=30_000)
    wait_for(page, "() => /you said: how tall is the eiffel tower in paris\\?/i.test("
                   "document.querySelector('.turn.model').textContent)", 30)
    assert question in page.inner_text(".turn.user[data-how=speech]")
    # Reply audio really plays: the playback worklet counts samples it has output.
    wait_for(page, "() => window.openliveConsole.stats.playback.played >= 24000", 30)
    counters = stats(page)
    assert counters["sentAudioChunks"] > 10
    assert 35 <= counters["sentAudioMs"] / counters["sentAudioChunks"] <= 45  # 40 ms chunks
    # Latency of the spoken turn: end of speech (page estimate) -> first reply audio.
    wait_for(page, "() => window.openliveConsole.latency.some(v => v.kind === 'voice')")
    voice = [v for v in page.evaluate("() => window.openliveConsole.latency")
             if v["kind"] == "voice"]
    assert 50 < voice[0]["ms"] < 15_000
    assert re.search(r"\d+ ms\s+voice", page.inner_text("#latency-list"))
    # Input transcription is on (connect()): the turn splits at the final transcription
    # into hearing (end of speech -> final transcript) + answer (-> first reply).
    first = voice[0]
    for stage in ("hearingMs", "answerMs"):
        assert isinstance(first[stage], (int, float)) and first[stage] > 0, first
    assert abs(first["hearingMs"] + first["answerMs"] - first["ms"]) <= 2, first
    ms, hearing, answer = (int(first[k]) for k in ("ms", "hearingMs", "answerMs"))
    item = page.locator("#latency-list li[data-kind=voice]").last  # the oldest: first turn
    assert item.get_attribute("data-ms") == str(ms)
    assert item.get_attribute("data-hearing-ms") == str(hearing)
    assert item.get_attribute("data-answer-ms") == str(answer)
    assert f"{ms} ms  voice · hearing {hearing} + answer {answer}" in item.text_content()
    assert "hearing" in page.inner_text("#latency-legend")
    # Camera: a preview and JPEG frames at one a second.
    page.click("#camera")
    page.wait_for_selector("#preview:not([hidden])")
    wait_for(page, "() => window.openliveConsole.stats.sentFrames >= 2", 10)
    events = page.inner_text("#event-log")
    assert "realtimeInput · audio" in events and "realtimeInput · video" in events
    assert "serverContent · inputTranscription" in events
    shot("03-voice-transcript")
    page.click("#mic")  # mic off: audioStreamEnd
    page.click("#camera")
    page.wait_for_selector("#preview[hidden]", state="attached")


def test_text_message_and_tool_call_round_trip(page, shot, console_server):
    connect(page, "TEXT")
    say(page, "hello console")
    page.wait_for_selector(".turn.model >> text=You said: hello console", timeout=15_000)
    assert page.locator(".turn.user[data-how=typed]").first.inner_text().endswith(
        "hello console")
    say(page, "What is the weather in Paris?")
    card = page.locator(".tool-call[data-name=get_weather]")
    card.wait_for(timeout=15_000)
    assert '"city": "Paris"' in card.locator(".tool-args").inner_text()
    # A bad response is refused in the page, with the reason.
    card.locator("textarea").fill("{not json")
    card.locator("button").click()
    assert "not JSON" in card.locator(".tool-status").inner_text()
    card.locator("textarea").fill('{"summary": "sunny"}')
    shot("04-tool-call")
    card.locator("button").click()
    page.wait_for_selector(".turn.model >> text=It is sunny in Paris.", timeout=15_000)
    assert card.locator(".tool-status").inner_text() == "sent"
    # Expandable JSON in the event log: the tool response as sent.
    row = page.locator("#event-log details.event.out", has_text="toolResponse").first
    row.locator("summary").click()
    expect(row.locator("pre")).to_contain_text('"summary": "sunny"')
    latencies = page.evaluate("() => window.openliveConsole.latency")
    assert any(v["kind"] == "text" for v in latencies)
    # Typed turns have no stages: only their total.
    assert all(v["hearingMs"] is None and v["answerMs"] is None
               for v in latencies if v["kind"] == "text")
    assert page.locator("#latency-list li[data-kind=text][data-hearing-ms]").count() == 0


def test_interrupted_reply_flushes_playback(page):
    connect(page, "AUDIO")
    say(page, "Tell me a long story about the sea, the wind, the rain and the mountains, "
              "and about the people who live between them.")
    wait_for(page, "() => window.openliveConsole.stats.playback.received > 24000", 30)
    say(page, "stop")  # a new turn during the reply interrupts it
    wait_for(page, "() => window.openliveConsole.stats.interruptions >= 1", 15)
    wait_for(page, "() => window.openliveConsole.stats.playback.flushed > 0", 5)
    counters = stats(page)["playback"]
    assert counters["played"] + counters["flushed"] <= counters["received"] + 2400
    page.wait_for_selector(".turn.model.interrupted")


def test_error_close_shows_code_and_reason(page, shot):
    connect(page, "TEXT")
    say(page, "crash now")
    page.wait_for_selector(f"{STATE}[data-state=closed]", timeout=15_000)
    detail = page.inner_text("#state-detail")
    assert detail == "1011 The service is currently unavailable."
    assert "1011 The service is currently unavailable." in page.inner_text("#error")
    assert page.is_enabled("#connect") and not page.is_enabled("#chat input")
    shot("05-error")


def test_settings_are_remembered_but_not_the_credential(page, console_server):
    page.fill("textarea[name=systemInstruction]", "Speak like a pirate.")
    page.select_option("select[name=voice]", "Kore")
    page.fill("input[name=credential]", "typed-secret")
    page.fill("textarea[name=tools]", "[{bad json")
    page.click("#connect")
    assert "Tools is not valid JSON" in page.inner_text("#error")
    page.reload()
    page.wait_for_selector(f"{STATE}[data-state=idle]")
    assert page.input_value("textarea[name=systemInstruction]") == "Speak like a pirate."
    assert page.input_value("select[name=voice]") == "Kore"
    assert page.input_value("input[name=credential]") == ""
    stored = page.evaluate("() => JSON.stringify(localStorage)")
    assert "typed-secret" not in stored
    page.click("#reset-settings")
