"""A real Chromium for browser steps: the only module that imports Playwright.

Playwright's sync API belongs to the thread that started it and refuses a thread that runs an
asyncio event loop, so every Playwright call of a process runs on one thread of its own (the
Playwright thread); :class:`Browser` and :class:`BrowserSession` hand their work to it and can
be used from any thread, an event loop's included. The runner opens one shared browser per
process, started in the background as soon as a run includes a browser scenario, and one
:class:`BrowserSession` per scenario, so cookies never leak between scenarios. Every Playwright
failure leaves this module as a :class:`BrowserError`, so callers never import Playwright to
catch it; a browser that cannot start is a :class:`BrowserUnavailable` whose message says how to
install one (never a silent skip).

Which Chromium: ``SSO_HARNESS_CHROMIUM`` when set (a path or a command name; an explicit choice
wins, and a wrong one is an error rather than a quiet fallback), else Playwright's own build
where it is installed, else the first of ``chromium``, ``chromium-browser`` and
``google-chrome`` on ``PATH`` (the names Debian, Ubuntu and Google's packages install).
"""

from __future__ import annotations

import concurrent.futures
import functools
import os
import queue
import shutil
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

if TYPE_CHECKING:
    from playwright.sync_api import Browser as _PWBrowser
    from playwright.sync_api import BrowserContext, Page, Playwright

ENV_CHROMIUM = "SSO_HARNESS_CHROMIUM"
CHROMIUM_COMMANDS = ("chromium", "chromium-browser", "google-chrome")
# One line a runner can show as the reason it skipped browser scenarios.
NO_CHROMIUM = f"no Chromium: install it (apt-get install chromium) or set {ENV_CHROMIUM}"
INSTALL_HINT = (
    "install one with `apt-get install chromium` (Debian/Ubuntu) or "
    f"`python -m playwright install chromium`, or point {ENV_CHROMIUM} at a Chromium binary"
)

# Headless and quiet: CI machines have no display, often no GPU and no internet, and a browser
# that phones home for updates or sync stalls or logs noise there.
CHROMIUM_ARGS: tuple[str, ...] = (
    "--headless",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)

# The auto-submitting form of the SAML HTTP-POST binding: while the page shows one, the browser
# is still on its way (IdP -> SP ACS -> the SP's landing page).
_AUTO_POST_FORM = "form input[name=SAMLResponse], form input[name=SAMLRequest]"


class BrowserError(Exception):
    """A browser step failed: a page did not load, a field or button was not found, a timeout."""


class BrowserUnavailable(BrowserError):  # noqa: N818 - named for what the user must fix
    """No Chromium could be started; the message says how to install one."""


def chromium_args(*, as_root: bool | None = None) -> list[str]:
    """The command-line flags for Chromium; ``--no-sandbox`` only as root, where the sandbox
    refuses to start at all."""
    root = os.geteuid() == 0 if as_root is None else as_root
    return [*CHROMIUM_ARGS, *(["--no-sandbox"] if root else [])]


def find_chromium(playwright_own: str | None) -> Path | None:
    """The executable to launch, or None to let Playwright use its own build.

    ``playwright_own`` is where Playwright's own Chromium would be (None when unknown).
    """
    explicit = os.environ.get(ENV_CHROMIUM)
    if explicit:
        found = shutil.which(explicit)
        if found is None:
            raise BrowserUnavailable(
                f"{ENV_CHROMIUM}={explicit} is no executable file or command; {INSTALL_HINT}"
            )
        return Path(found)
    if playwright_own and Path(playwright_own).is_file():
        return None
    for command in CHROMIUM_COMMANDS:
        found = shutil.which(command)
        if found is not None:
            return Path(found)
    raise BrowserUnavailable(NO_CHROMIUM)


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or ["unknown error"])[0]


P = ParamSpec("P")
T = TypeVar("T")


class _PlaywrightThread:
    """The thread that makes every Playwright call of this process, one at a time."""

    def __init__(self) -> None:
        self._calls: queue.SimpleQueue[tuple[concurrent.futures.Future[Any], Callable[[], Any]]]
        self._calls = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._serve, name="playwright", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            future, work = self._calls.get()
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(work())
            except BaseException as exc:  # raised again in the caller's thread
                future.set_exception(exc)

    def submit(self, work: Callable[[], T]) -> concurrent.futures.Future[T]:
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        self._calls.put((future, work))
        return future

    def call(self, work: Callable[[], T]) -> T:
        if threading.get_ident() == self._thread.ident:
            return work()
        return self.submit(work).result()


# Keyed by process id: a worker forked from a process with a Playwright thread has no thread.
_THREADS: dict[int, _PlaywrightThread] = {}
_THREADS_LOCK = threading.Lock()


def _playwright_thread() -> _PlaywrightThread:
    with _THREADS_LOCK:
        thread = _THREADS.get(os.getpid())
        if thread is None:
            thread = _THREADS[os.getpid()] = _PlaywrightThread()
        return thread


def _on_playwright_thread(method: Callable[P, T]) -> Callable[P, T]:
    @functools.wraps(method)
    def handed_over(*args: P.args, **kwargs: P.kwargs) -> T:
        return _playwright_thread().call(functools.partial(method, *args, **kwargs))

    return handed_over


# Process id -> the Playwright driver of this process (used on its Playwright thread only) and
# how many started browsers use it: the last one to close stops it. By process: a worker forked
# from a process with a driver inherits the entry but not a usable connection.
_DRIVERS: dict[int, tuple[Playwright, int]] = {}


def _acquire_driver() -> Playwright:
    here = os.getpid()
    if here in _DRIVERS:
        driver, users = _DRIVERS[here]
        _DRIVERS[here] = (driver, users + 1)
        return driver
    try:
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        raise BrowserUnavailable(
            f"the Python package playwright is not installed (pip install playwright); "
            f"then {INSTALL_HINT}"
        ) from exc
    try:
        driver = sync_playwright().start()
    except PlaywrightError as exc:
        raise BrowserError(f"Playwright cannot start: {_first_line(exc)}") from exc
    _DRIVERS[here] = (driver, 1)
    return driver


def _release_driver() -> None:
    driver, users = _DRIVERS.pop(os.getpid())
    if users > 1:
        _DRIVERS[os.getpid()] = (driver, users - 1)
    else:
        driver.stop()


class Browser:
    """One Chromium process. Use as a context manager, from any thread; the browsers of a
    process share Playwright's driver."""

    def __init__(self, *, timeout_s: float = 10.0) -> None:
        self.timeout_ms = timeout_s * 1000
        self.executable: Path | None = None  # None: Playwright's own build
        self.version = ""
        self._playwright: Playwright | None = None
        self._browser: _PWBrowser | None = None
        # Contexts with their page made ahead (prepare_sessions), for sessions asked later.
        self._ready: list[tuple[BrowserContext, Page]] = []

    @_on_playwright_thread
    def start(self) -> Browser:
        """Launch Chromium (idempotent); BrowserUnavailable says how to install one."""
        if self._browser is not None:
            return self
        # First: without the playwright package this is BrowserUnavailable, not an ImportError.
        self._playwright = _acquire_driver()
        from playwright.sync_api import Error as PlaywrightError

        try:
            self.executable = find_chromium(self._playwright.chromium.executable_path)
            self._browser = self._playwright.chromium.launch(
                executable_path=self.executable,
                headless=True,
                args=chromium_args(),
                timeout=max(self.timeout_ms, 30_000),  # a cold start on a busy CI box is slow
            )
        except PlaywrightError as exc:
            self.close()
            where = self.executable or "Playwright's Chromium"
            raise BrowserUnavailable(
                f"Chromium ({where}) did not start: {_first_line(exc)}; {INSTALL_HINT}"
            ) from exc
        except BrowserUnavailable:
            self.close()
            raise
        self.version = self._browser.version
        return self

    @_on_playwright_thread
    def session(
        self, *, timeout_s: float | None = None, har_path: str | Path | None = None
    ) -> BrowserSession:
        """A fresh browser context (own cookies and storage) with one page: one per scenario.
        ``timeout_s`` bounds every wait of its steps (default: the browser's); ``har_path``
        records the session's traffic there as a HAR file, written when the session closes
        (what a customer's browser exports, for ``sso-harness decode`` and ``replay``)."""
        if self._browser is None:
            raise BrowserError("the browser is not started (use `with Browser() as browser:`)")
        timeout_ms = self.timeout_ms if timeout_s is None else timeout_s * 1000
        if har_path is None and self._ready:
            context, page = self._ready.pop()  # never used: as fresh as a new one
        elif har_path is None:
            context = self._browser.new_context()
            page = context.new_page()
        else:
            context = self._browser.new_context(record_har_path=str(har_path))
            page = context.new_page()
        context.set_default_timeout(timeout_ms)
        return BrowserSession(context, page, timeout_ms)

    @_on_playwright_thread
    def prepare_sessions(self, count: int) -> None:
        """Make ``count`` contexts with their page now, for the next sessions (without a HAR)
        to take: a new one costs 0.12 to 0.17 s, which a browser started in the background
        spends while the caller goes on."""
        if self._browser is None:
            raise BrowserError("the browser is not started (use `with Browser() as browser:`)")
        with _as_browser_error("preparing browser contexts"):
            while len(self._ready) < count:
                context = self._browser.new_context()
                self._ready.append((context, context.new_page()))

    @_on_playwright_thread
    def close(self) -> None:
        self._ready.clear()  # closed with the browser
        if self._browser is not None:
            self._browser.close()
            self._browser = None
        if self._playwright is not None:
            _release_driver()
            self._playwright = None

    def __enter__(self) -> Browser:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class BrowserSession:
    """One scenario's browser: navigate, fill and submit forms, read the page, take screenshots.

    Every action waits until the SAML HTTP-POST auto-submit chain has finished, so after a sign-in
    ``url`` and ``text()`` describe where the user actually landed.
    """

    def __init__(self, context: BrowserContext, page: Page, timeout_ms: float) -> None:
        self._context = context
        self._page = page
        self._timeout_ms = timeout_ms

    @property
    @_on_playwright_thread
    def url(self) -> str:
        return self._page.url

    @_on_playwright_thread
    def goto(self, url: str) -> int | None:
        """Open ``url``; returns the HTTP status of the last response (None for non-HTTP)."""
        with _as_browser_error(f"opening {url}"):
            response = self._page.goto(url, wait_until="load")
            self._follow_auto_posts()
            return response.status if response is not None else None

    @_on_playwright_thread
    def fill_and_submit(
        self, fields: Mapping[str, str], *, form: str = "form", submit: str | None = None
    ) -> None:
        """Fill the named fields of ``form`` (a CSS selector) and submit it by clicking
        ``submit`` (a CSS selector; default: the form's first submit button)."""
        with _as_browser_error(f"submitting {form} on {self._page.url}"):
            target = self._page.locator(form).first
            for name, value in fields.items():
                target.locator(f'[name="{_css_string(name)}"]').fill(value)
            button = (
                self._page.locator(submit)
                if submit
                else target.locator("button[type=submit], input[type=submit], button:not([type])")
            ).first
            with self._page.expect_navigation(wait_until="load"):
                button.click()
            self._follow_auto_posts()

    @_on_playwright_thread
    def click(self, selector: str) -> None:
        """Click a link or button that navigates (e.g. "Continue with SSO")."""
        with _as_browser_error(f"clicking {selector} on {self._page.url}"):
            with self._page.expect_navigation(wait_until="load"):
                self._page.locator(selector).first.click()
            self._follow_auto_posts()

    @_on_playwright_thread
    def fill(self, selector: str, value: str) -> None:
        """Type ``value`` into a field without submitting anything."""
        with _as_browser_error(f"filling {selector} on {self._page.url}"):
            self._page.locator(selector).first.fill(value)

    @_on_playwright_thread
    def set_checked(self, selector: str, checked: bool = True) -> None:
        """Tick or untick a checkbox (a consent box, "stay signed in"); no navigation."""
        with _as_browser_error(f"setting {selector} on {self._page.url}"):
            self._page.locator(selector).first.set_checked(checked)

    @_on_playwright_thread
    def select(self, selector: str, value: str) -> None:
        """Choose ``value`` in a <select> (an organisation picker); no navigation."""
        with _as_browser_error(f"selecting {value!r} in {selector} on {self._page.url}"):
            self._page.locator(selector).first.select_option(value)

    @_on_playwright_thread
    def text(self, selector: str = "body") -> str:
        """The visible text of the page, or of the first element matching ``selector``."""
        with _as_browser_error(f"reading {selector} on {self._page.url}"):
            return self._page.locator(selector).first.inner_text()

    @_on_playwright_thread
    def count(self, selector: str) -> int:
        """How many elements match ``selector`` and are visible (0 when none: never waits)."""
        with _as_browser_error(f"counting {selector} on {self._page.url}"):
            return self._page.locator(f"{selector} >> visible=true").count()

    @_on_playwright_thread
    def html(self) -> str:
        with _as_browser_error(f"reading {self._page.url}"):
            return self._page.content()

    @_on_playwright_thread
    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript ``expression`` in the page (a measurement, a property)."""
        with _as_browser_error(f"evaluating on {self._page.url}"):
            return self._page.evaluate(expression)

    @_on_playwright_thread
    def screenshot(self, path: str | Path) -> Path:
        """A PNG of the whole page at ``path`` (folders are created); returns the path."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        with _as_browser_error(f"screenshot of {self._page.url}"):
            self._page.screenshot(path=str(target), full_page=True)
        return target

    @_on_playwright_thread
    def download(self, selector: str, path: str | Path) -> Path:
        """Click ``selector``, which starts a download, and save the file at ``path`` (folders
        are created); returns the path."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        with _as_browser_error(f"downloading by {selector} on {self._page.url}"):
            with self._page.expect_download() as download:
                self._page.locator(selector).first.click()
            download.value.save_as(target)
        return target

    @_on_playwright_thread
    def cookies(self) -> list[dict[str, object]]:
        return [dict(cookie) for cookie in self._context.cookies()]

    @_on_playwright_thread
    def close(self) -> None:
        self._context.close()

    def __enter__(self) -> BrowserSession:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _follow_auto_posts(self) -> None:
        # An auto-submitting SAML form navigates again right after "load", and over loopback the
        # whole IdP -> ACS -> 303 chain can finish before Playwright's own view of the page (its
        # URL, its load state) has caught up. So ask the browser itself, polling, until a fully
        # loaded document without such a form is showing; then wait for Playwright to agree.
        from playwright.sync_api import Error as PlaywrightError

        deadline = time.monotonic() + self._timeout_ms / 1000
        while True:
            try:
                href, ready, auto_post = self._page.evaluate(_PAGE_STATE_JS, _AUTO_POST_FORM)
            except PlaywrightError:  # the document went away mid-question: a navigation
                href, ready, auto_post = "", "navigating", True
            if ready == "complete" and not auto_post:
                self._page.wait_for_url(_is_url(href), wait_until="load")
                return
            if time.monotonic() > deadline:
                raise BrowserError(f"the page at {href or self._page.url} never settled")
            self._page.wait_for_timeout(20)


def _is_url(expected: str) -> Callable[[str], bool]:
    # A predicate, not the string: Playwright reads a string as a glob, and "?" is in most URLs.
    return lambda url: url == expected


_PAGE_STATE_JS = (
    "selector => [location.href, document.readyState, !!document.querySelector(selector)]"
)


def _css_string(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


@contextmanager
def _as_browser_error(doing: str) -> Iterator[None]:
    """Turn Playwright's errors into BrowserError naming the step (callers never see Playwright)."""
    from playwright.sync_api import Error as PlaywrightError

    try:
        yield
    except PlaywrightError as exc:
        raise BrowserError(f"{doing}: {_first_line(exc)}") from exc


# Process id -> the shared browser, started or starting. The process id matters: a worker
# forked from a parent that had a browser inherits this dict but not a usable connection.
_SHARED: dict[int, concurrent.futures.Future[Browser]] = {}
# Process id -> the shared browser's closing, handed to the Playwright thread.
_CLOSING: dict[int, concurrent.futures.Future[None]] = {}


def prestart_shared_browser(*, timeout_s: float = 10.0, sessions: int = 0) -> None:
    """Start this process's shared browser in the background, if it is not started or starting:
    Playwright's driver and Chromium start (about half a second), and ``sessions`` contexts are
    made ready for the sessions to come, while the caller goes on. A browser that cannot start
    says so at ``shared_browser``."""
    with _THREADS_LOCK:
        if os.getpid() in _SHARED:
            return

    def start() -> Browser:
        browser = Browser(timeout_s=timeout_s).start()
        with suppress(BrowserError):  # a session then makes its own, and says why
            browser.prepare_sessions(sessions)
        return browser

    started = _playwright_thread().submit(start)
    with _THREADS_LOCK:
        _SHARED.setdefault(os.getpid(), started)


def shared_browser(*, timeout_s: float = 10.0) -> Browser:
    """This process's browser, started on first use (or by ``prestart_shared_browser``) and
    kept for the next scenarios: a cold Chromium start costs about half a second, a session a
    tenth. When it cannot start, each call tries again and raises the reason."""
    prestart_shared_browser(timeout_s=timeout_s)
    with _THREADS_LOCK:
        starting = _SHARED[os.getpid()]
    try:
        return starting.result()
    except BaseException:
        with _THREADS_LOCK:
            if _SHARED.get(os.getpid()) is starting:
                del _SHARED[os.getpid()]
        raise


def close_shared_browser(*, wait: bool = True) -> None:
    """Close this process's shared browser, if it has one (after its start, if it is still
    starting). ``wait=False`` hands the closing to the Playwright thread and returns: the caller
    goes on while Chromium ends, and the next call waits for it. A process that exits without
    calling this loses nothing: Playwright's driver ends with it and takes Chromium along."""
    here = os.getpid()
    with _THREADS_LOCK:
        starting = _SHARED.pop(here, None)
    if starting is not None:
        handed = _playwright_thread().submit(lambda: _close_started(starting))
        with _THREADS_LOCK:
            _CLOSING[here] = handed
    with _THREADS_LOCK:
        closing = _CLOSING.get(here)
    if closing is None or not wait:
        return
    try:
        closing.result()
    finally:
        with _THREADS_LOCK:
            if _CLOSING.get(here) is closing:
                del _CLOSING[here]


def _close_started(starting: concurrent.futures.Future[Browser]) -> None:
    # On the Playwright thread, after the start it queued first: the start's outcome is known.
    try:
        browser = starting.result()
    except Exception:  # it never started (the scenario that asked for it said why)
        return
    browser.close()
