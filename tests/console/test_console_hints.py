"""What the console tells its user about the server (issue 17): an open server needs no
credential (the page does not claim to fetch a token), a server that does not hear audio
says so before anyone speaks to it, and a wrong server URL says what to check instead of
"Closed with code 1006"."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from console.conftest import ConsoleServer, openlive_serve
from live_client import free_port


@pytest.fixture(scope="module")
def deaf_open_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsoleServer]:
    """An open `openlive serve --no-voice`: the emulator with the placeholder voice, which
    does not listen to audio (CI's behaviour without the local extra)."""
    with openlive_serve(tmp_path_factory.mktemp("deaf"), "--no-voice", api_key=None) as srv:
        yield srv


@pytest.fixture
def deaf_page(browser, deaf_open_server: ConsoleServer) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(deaf_open_server.url + "/")
    page.wait_for_selector("#state[data-state=idle]")
    try:
        yield page
    finally:
        context.close()
    assert not errors, errors


def test_an_open_server_that_does_not_hear_says_both(deaf_page):
    expect(deaf_page.locator("#auth-hint")).to_have_text(
        "This server is open: no API key or token is needed.")
    hint = deaf_page.locator("#server-hint")
    expect(hint).to_be_visible()
    expect(hint).to_contain_text("This server does not listen to audio")
    deaf_page.click("#connect")
    deaf_page.wait_for_selector("#state[data-state=live]", timeout=15_000)
    expect(deaf_page.locator("#auth-hint")).to_have_text("authenticated with: open server")
    deaf_page.click("#mic")
    expect(deaf_page.locator("#transcript")).to_contain_text(
        "this server does not listen to audio: your speech is ignored")


def test_a_server_that_hears_shows_no_such_notice(page):
    page.wait_for_function("() => document.querySelector('#auth-hint').textContent.length")
    expect(page.locator("#server-hint")).to_be_hidden()


def test_a_wrong_server_url_says_what_to_check(deaf_page):
    nobody = f"http://127.0.0.1:{free_port()}"
    deaf_page.fill("input[name=url]", nobody)
    deaf_page.fill("input[name=credential]", "any-key")
    deaf_page.click("#connect")
    error = deaf_page.locator("#error")
    expect(error).to_be_visible(timeout=15_000)
    expect(error).to_contain_text(f"Could not open a Live connection to {nobody[7:]}")
    expect(error).to_contain_text("that openlive serve is running there")
