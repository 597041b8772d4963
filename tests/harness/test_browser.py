"""harness.browser against a real Chromium and a real page on loopback: a login form whose answer
is a SAML-style auto-submitting form, like the mock IdP's."""

from __future__ import annotations

import asyncio
import html
import multiprocessing
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from harness import browser
from harness.browser import (
    Browser,
    BrowserError,
    BrowserUnavailable,
    close_shared_browser,
    prestart_shared_browser,
    shared_browser,
)
from harness.protocol.saml.bindings import post_form_html
from tests.support.servers import serve

LOGIN_PAGE = """<!DOCTYPE html><html><body><h1>Sign in</h1>
<form method="post" action="/login">
  <input name="username"><input name="password" type="password">
  <button type="submit">Sign in</button>
</form></body></html>"""


async def login_page(request: Request) -> Response:
    return HTMLResponse(LOGIN_PAGE)


async def login(request: Request) -> Response:
    form = await request.form()
    # Like the IdP: answer with the HTTP-POST binding's auto-submitting form to the "ACS".
    return HTMLResponse(
        post_form_html("/acs", {"SAMLResponse": "PHNhbWw+", "RelayState": str(form["username"])})
    )


async def acs(request: Request) -> Response:
    form = await request.form()
    response = RedirectResponse(f"/home?user={form['RelayState']}", status_code=303)
    response.set_cookie("session", str(form["RelayState"]))
    return response


async def home(request: Request) -> Response:
    user = html.escape(request.cookies.get("session", "nobody"))
    return HTMLResponse(f"<html><body><p>Signed in as {user}</p></body></html>")


APP = Starlette(
    routes=[
        Route("/", login_page),
        Route("/login", login, methods=["POST"]),
        Route("/acs", acs, methods=["POST"]),
        Route("/home", home),
    ]
)


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    with serve(APP) as url:
        yield url


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    with Browser(timeout_s=10) as started:
        yield started


@pytest.mark.browser
@pytest.mark.loopback
def test_sign_in_through_a_form_and_an_auto_post(
    chromium: Browser, base_url: str, tmp_path: Path
) -> None:
    with chromium.session() as session:
        assert session.goto(base_url + "/") == 200
        assert "Sign in" in session.text()
        session.fill_and_submit({"username": "dana", "password": "secret"})
        # Landed after the auto-submitting form and the ACS's 303, not on the intermediate page.
        assert session.url == f"{base_url}/home?user=dana"
        assert "Signed in as dana" in session.text()
        assert any(c["name"] == "session" for c in session.cookies())
        shot = session.screenshot(tmp_path / "shots" / "home.png")
    assert shot.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


@pytest.mark.browser
@pytest.mark.loopback
def test_sessions_do_not_share_cookies(chromium: Browser, base_url: str) -> None:
    with chromium.session() as first:
        first.goto(base_url + "/")
        first.fill_and_submit({"username": "dana", "password": "x"})
    with chromium.session() as second:
        second.goto(base_url + "/home")
        assert "Signed in as nobody" in second.text()


@pytest.mark.browser
@pytest.mark.loopback
def test_page_failures_are_browser_errors(chromium: Browser, base_url: str) -> None:
    with chromium.session(timeout_s=0.5) as session:
        session.goto(base_url + "/home")
        with pytest.raises(BrowserError, match="submitting form"):
            session.fill_and_submit({"username": "x"})  # no form on this page


def test_a_wrong_explicit_chromium_is_an_error_naming_the_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(browser.ENV_CHROMIUM, str(tmp_path / "no-such-chromium"))
    with pytest.raises(BrowserUnavailable, match="apt-get install chromium"):
        browser.find_chromium(None)


def test_no_chromium_anywhere_is_one_line_naming_the_fix(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv(browser.ENV_CHROMIUM, raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(BrowserUnavailable) as raised:
        browser.find_chromium(str(tmp_path / "ms-playwright" / "chrome"))
    assert str(raised.value) == (
        "no Chromium: install it (apt-get install chromium) or set SSO_HARNESS_CHROMIUM"
    )


def _executable(path: Path) -> Path:
    path.write_text("#!/bin/sh\n")
    path.chmod(0o755)
    return path


def test_playwright_own_build_is_preferred_then_chromium_on_path(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv(browser.ENV_CHROMIUM, raising=False)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setenv("PATH", str(bin_dir))
    chrome = _executable(bin_dir / "google-chrome")
    own = tmp_path / "chrome"
    assert browser.find_chromium(str(own)) == chrome
    chromium = _executable(bin_dir / "chromium-browser")
    assert browser.find_chromium(str(own)) == chromium  # earlier in the list of names
    own.write_bytes(b"")
    assert browser.find_chromium(str(own)) is None  # None: Playwright launches its own


def test_the_environment_variable_names_a_path_or_a_command(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    mine = _executable(tmp_path / "my-chromium")
    monkeypatch.setenv(browser.ENV_CHROMIUM, str(mine))
    assert browser.find_chromium(None) == mine
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv(browser.ENV_CHROMIUM, "my-chromium")
    assert browser.find_chromium(str(tmp_path / "own")) == mine  # explicit beats Playwright's


def test_no_sandbox_only_as_root() -> None:
    assert "--no-sandbox" in browser.chromium_args(as_root=True)
    assert "--no-sandbox" not in browser.chromium_args(as_root=False)
    assert "--headless" in browser.chromium_args(as_root=False)


def test_a_binary_that_is_no_chromium_is_unavailable_with_the_hint(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(browser.ENV_CHROMIUM, "/bin/false")
    with pytest.raises(BrowserUnavailable, match=r"Chromium \(/bin/false\) did not start.*apt-get"):
        Browser().start()


@pytest.mark.browser
def test_an_unreachable_url_is_a_browser_error(chromium: Browser) -> None:
    with (
        chromium.session(timeout_s=2) as session,
        pytest.raises(BrowserError, match=r"opening http://127\.0\.0\.1:9/: .*ERR_"),
    ):
        session.goto("http://127.0.0.1:9/")


@pytest.mark.browser
@pytest.mark.loopback
def test_usable_from_inside_an_asyncio_loop_and_from_other_threads(base_url: str) -> None:
    # Playwright's sync API refuses a thread that runs an event loop: a pytest-asyncio test or
    # an async runner would get an error. Every call goes to the Playwright thread instead.
    async def inside_a_loop() -> str:
        with Browser(timeout_s=10) as browser, browser.session() as session:
            session.goto(base_url)
            return session.text("h1")

    seen: list[str] = []
    worker = threading.Thread(target=lambda: seen.append(asyncio.run(inside_a_loop())))
    worker.start()
    worker.join(timeout=60)
    assert seen == ["Sign in"]


@pytest.mark.browser
def test_the_shared_browser_starts_in_the_background_and_serves_any_thread() -> None:
    close_shared_browser()
    prestart_shared_browser()  # returns at once; the start goes on meanwhile
    browsers: list[Browser] = []
    threads = [threading.Thread(target=lambda: browsers.append(shared_browser())) for _ in "ab"]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    try:
        assert len(browsers) == 2 and browsers[0] is browsers[1]
        with browsers[0].session() as session:
            assert session.goto("data:text/html,<h1>up</h1>") is None
            assert session.text("h1") == "up"
    finally:
        close_shared_browser()


@pytest.mark.browser
def test_sessions_made_ready_at_the_start_are_taken_fresh_and_isolated(base_url: str) -> None:
    close_shared_browser()
    prestart_shared_browser(sessions=2)
    started = shared_browser()
    try:
        assert len(started._ready) == 2  # made while the caller went on
        with started.session() as first, started.session() as second:
            assert len(started._ready) == 0  # both taken, none made on the spot
            first.goto(f"{base_url}/")
            first.fill_and_submit({"username": "ana", "password": "pw"})
            assert "Signed in as ana" in first.text()
            second.goto(f"{base_url}/home")  # a context of its own: no cookie of the first
            assert "Signed in as nobody" in second.text()
            with started.session() as third:  # none ready any more: one made as before
                third.goto(f"{base_url}/home")
                assert "Signed in as nobody" in third.text()
    finally:
        close_shared_browser()


@pytest.mark.browser
def test_closing_the_shared_browser_without_waiting_ends_it_before_the_next_close() -> None:
    close_shared_browser()
    prestart_shared_browser(sessions=1)
    started = shared_browser()
    close_shared_browser(wait=False)  # handed to the Playwright thread
    close_shared_browser()  # waits for that closing
    assert started._browser is None and started._ready == []
    again = shared_browser()  # a new one, as after any close
    try:
        assert again is not started
        with again.session() as session:
            assert session.goto("data:text/html,<h1>again</h1>") is None
    finally:
        close_shared_browser()


def _title_in_a_fresh_browser(answers: Any) -> None:
    try:
        with Browser(timeout_s=10) as browser, browser.session() as session:
            session.goto("data:text/html,<h1>worker</h1>")
            answers.put(session.text("h1"))
    except BaseException as exc:  # reported to the parent, which asserts on it
        answers.put(repr(exc))


@pytest.mark.browser
def test_a_worker_forked_from_a_process_with_a_browser_starts_its_own(chromium: Browser) -> None:
    # `sso-harness run --workers N` forks its workers: one inherits the parent's Playwright
    # state, but not a usable connection to its driver.
    with chromium.session() as session:
        session.goto("data:text/html,<h1>parent</h1>")
        context = multiprocessing.get_context("fork")
        answers = context.Queue()
        worker = context.Process(target=_title_in_a_fresh_browser, args=(answers,))
        worker.start()
        try:
            assert answers.get(timeout=60) == "worker"
        finally:
            worker.join(30)
        assert session.text("h1") == "parent"


def test_a_shared_browser_that_failed_to_start_closes_quietly_and_says_why_when_asked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The run's `finally` closes the shared browser: a start that failed in the background
    # (with whatever error) must not replace the run's own outcome there.
    def failing_start(self: Browser) -> Browser:
        raise RuntimeError("the driver went away")

    close_shared_browser()
    monkeypatch.setattr(Browser, "start", failing_start)
    prestart_shared_browser()
    with pytest.raises(RuntimeError, match="the driver went away"):
        shared_browser()
    prestart_shared_browser()
    close_shared_browser()  # nothing started: nothing raised
