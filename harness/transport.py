"""Synchronous HTTP to in-process ASGI apps, so one code path drives in-process worlds,
loopback servers and remote SPs alike.

httpx reaches an ASGI app only asynchronously; ``InProcess`` runs the app on an event loop in
a helper thread (the process's ``Portal``) and answers the synchronous client from there.
``Routes`` sends each request to the app of its host, like DNS would: the SP and the IdP of a
world have their own hosts, and a browser-like client follows redirects between them.
"""

from __future__ import annotations

import asyncio
import os
import queue
import threading
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Generic, TypeVar

import httpx

from harness.tls import default_ssl_context

T = TypeVar("T")


class InProcess(httpx.BaseTransport):
    """Requests to an ASGI app on the process's portal, as an HTTP server would make them (the
    scope httpx's ASGITransport makes, without the second request and response it builds)."""

    def __init__(self, app: Any, portal: Portal) -> None:
        self._app = app
        self._portal = portal

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        url = request.url
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": request.method,
            "headers": [(k.lower(), v) for k, v in request.headers.raw],
            "scheme": url.scheme,
            "path": url.path,
            "raw_path": url.raw_path.split(b"?")[0],
            "query_string": url.query,
            "server": (url.host, url.port),
            "client": ("127.0.0.1", 123),
            "root_path": "",
        }
        status, headers, content = self._portal.call(_exchange, self._app, scope, body)
        return httpx.Response(status, headers=headers, content=content, request=request)


async def _exchange(
    app: Any, scope: dict[str, Any], body: bytes
) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """One request through ``app``: its status, headers and body (a HEAD's body dropped)."""
    received = False
    finished = asyncio.Event()
    status = 500
    headers: list[tuple[bytes, bytes]] = []
    parts: list[bytes] = []

    async def receive() -> dict[str, Any]:
        nonlocal received
        if received:  # the app waits for the client to go away: only once it has answered
            await finished.wait()
            return {"type": "http.disconnect"}
        received = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status, headers
        if message["type"] == "http.response.start":
            status, headers = message["status"], list(message.get("headers", []))
        elif message["type"] == "http.response.body":
            if scope["method"] != "HEAD":
                parts.append(message.get("body", b""))
            if not message.get("more_body", False):
                finished.set()

    await app(scope, receive, send)
    if not finished.is_set():
        raise RuntimeError("the in-process app returned without finishing its response")
    return status, headers, b"".join(parts)


class Routes(httpx.BaseTransport):
    """Dispatch by host; hosts not listed go over the network (a remote SP)."""

    def __init__(self, by_host: Mapping[str, httpx.BaseTransport]) -> None:
        self._by_host = dict(by_host)
        self._network: httpx.HTTPTransport | None = None  # made on first use

    def add(self, host: str, transport: httpx.BaseTransport) -> None:
        self._by_host[host] = transport

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        transport = self._by_host.get(request.url.netloc.decode("ascii"))
        if transport is None:
            if self._network is None:
                self._network = httpx.HTTPTransport(verify=default_ssl_context())
            transport = self._network
        return transport.handle_request(request)

    def close(self) -> None:
        if self._network is not None:
            self._network.close()


class Portal:
    """The event loop the in-process apps run on: one per process, shared by its worlds.

    The loop runs while a call is in flight, driven by the thread that made the call, and rests
    between calls: a request costs no hand-over between threads (about 16 us of CPU for the
    call, where handing it to a loop thread resting in its selector cost 80 to 100 us: the
    self-pipe, the selector's wake-up, the GIL passed there and back; and each request of a
    run is one such call). A call made while others are in flight joins the
    running loop, so concurrent requests (a client's threads) interleave on it as on a server.
    A thread that cannot drive it (an event loop of its own already runs there, as under
    Playwright's sync API) hands its call to a helper thread that drives it instead. The apps
    set no timers of their own (their waits happen inside a call), so nothing waits on a
    resting loop."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._lock = threading.Lock()  # guards the fields below
        self._resting = threading.Condition(self._lock)  # notified when the loop stops
        self._driver: threading.Thread | None = None  # the thread running the loop
        self._in_flight = 0  # calls started on the loop and not yet finished
        self._all_done: asyncio.Event | None = None  # set when none is left: the loop may rest
        # Calls for the helper; "finish": drive the calls left in flight; "stop": end.
        self._handed: queue.SimpleQueue[_Call[Any] | str] = queue.SimpleQueue()
        self._helper: threading.Thread | None = None

    def call(self, function: Callable[..., Awaitable[T]], *args: Any) -> T:
        """Run ``function(*args)`` on the loop; its result, or its exception, here."""
        call = _Call(function, args)
        can_drive = not _loop_runs_here()
        with self._lock:
            if self._driver is threading.current_thread():
                # An app calling an in-process app synchronously would wait on itself for ever.
                raise RuntimeError("an in-process app cannot be called from the apps' own thread")
            drive = self._enter(call) if can_drive else self._hand_over(call)
        if drive:
            self._drive(call)
        return call.outcome()

    def serve(self, app: Any) -> InProcess:
        return InProcess(app, self)

    def close(self) -> None:
        """End the helper and close the loop: for a portal of its own (the process's portal
        lives as long as the process)."""
        if self._helper is not None:
            self._handed.put("stop")
            self._helper.join()
        self._loop.close()

    def _enter(self, call: _Call[Any]) -> bool:
        """Join the running loop, or become its driver (True); with the lock held."""
        while True:
            if self._in_flight:  # running, and cannot stop before this call is done
                self._in_flight += 1
                self._loop.call_soon_threadsafe(self._start, call)
                return False
            if self._driver is None:
                self._driver = threading.current_thread()
                self._in_flight = 1
                return True
            self._resting.wait()  # the loop is stopping: drive it once it has

    def _hand_over(self, call: _Call[Any] | str) -> bool:
        if self._helper is None:
            self._helper = threading.Thread(
                target=self._help, name="sso-harness in-process apps", daemon=True
            )
            self._helper.start()
        self._handed.put(call)
        return False

    def _help(self) -> None:
        while True:
            handed = self._handed.get()
            if handed == "stop":
                return
            call = handed if isinstance(handed, _Call) else None
            with self._lock:
                if call is None:  # a driver stopped with calls in flight: finish them
                    if self._driver is not None or not self._in_flight:
                        continue
                    self._driver = threading.current_thread()
                    drive = True
                else:
                    drive = self._enter(call)
            if drive:
                self._drive(call)

    def _drive(self, call: _Call[Any] | None) -> None:
        try:
            self._loop.run_until_complete(self._run(call))
        finally:
            with self._lock:
                self._driver = None
                self._resting.notify_all()
                if self._in_flight:  # interrupted (a KeyboardInterrupt): let the helper finish
                    self._hand_over("finish")

    async def _run(self, call: _Call[Any] | None) -> None:
        self._all_done = asyncio.Event()
        if call is not None:
            self._start(call)
        await self._all_done.wait()

    def _start(self, call: _Call[Any]) -> None:
        self._loop.create_task(call.run()).add_done_callback(lambda _: self._finished(call))

    def _finished(self, call: _Call[Any]) -> None:
        with self._lock:
            self._in_flight -= 1
            if self._in_flight == 0 and self._all_done is not None:
                self._all_done.set()
        # Only now: a caller that calls again at once finds the loop stopping, not running, so
        # it drives the loop itself rather than joining a loop another thread is about to leave.
        call.finished()


def _loop_runs_here() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


class _Call(Generic[T]):
    """One call on the portal; its caller waits on ``_done``, held until the call finishes."""

    def __init__(self, function: Callable[..., Awaitable[T]], args: tuple[Any, ...]) -> None:
        self._function = function
        self._args = args
        self._done = threading.Lock()
        self._done.acquire()
        self._result: T | None = None
        self._error: BaseException | None = None

    async def run(self) -> None:
        try:
            self._result = await self._function(*self._args)
        except BaseException as exc:  # handed to the caller, raised there
            self._error = exc

    def finished(self) -> None:
        self._done.release()

    def outcome(self) -> T:
        self._done.acquire()
        if self._error is not None:
            raise self._error
        return self._result  # type: ignore[return-value]


_PORTALS: dict[int, Portal] = {}
_PORTALS_LOCK = threading.Lock()


def process_portal() -> Portal:
    """This process's portal (a forked worker starts its own: the parent's thread is not
    there)."""
    with _PORTALS_LOCK:
        portal = _PORTALS.get(os.getpid())
        if portal is None:
            _PORTALS.clear()
            portal = _PORTALS[os.getpid()] = Portal()
        return portal
