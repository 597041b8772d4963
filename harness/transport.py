"""Synchronous HTTP to in-process ASGI apps, so one code path drives in-process worlds,
loopback servers and remote SPs alike.

httpx reaches an ASGI app only asynchronously; ``InProcess`` runs the app on an event loop in
a helper thread (the process's ``Portal``) and answers the synchronous client from there.
``Routes`` sends each request to the app of its host, like DNS would: the SP and the IdP of a
world have their own hosts, and a browser-like client follows redirects between them.
"""

from __future__ import annotations

import asyncio
import functools
import os
import ssl
import threading
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

import httpx

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


@functools.cache
def default_ssl_context() -> ssl.SSLContext:
    """The system's CA bundle, loaded once per process (30 ms each time otherwise, and every
    scenario opens a world)."""
    return httpx.create_ssl_context()


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
    """The event loop thread in-process apps run on: one per process, started on first use and
    shared by the process's worlds. A loop thread per world cost 5 to 10 ms of its opening:
    while the new thread starts, every hand-over waits out the GIL's switch interval."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        # A daemon: it holds no state that must outlive the worlds, and must not keep the
        # process from exiting.
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="sso-harness in-process apps", daemon=True
        )
        self._thread.start()

    def call(self, function: Callable[..., Awaitable[T]], *args: Any) -> T:
        """Run ``function(*args)`` on the loop; its result, or its exception, here."""
        if threading.current_thread() is self._thread:
            # An app calling an in-process app synchronously would wait on itself for ever.
            raise RuntimeError("an in-process app cannot be called from the apps' own thread")
        return asyncio.run_coroutine_threadsafe(_awaited(function, *args), self._loop).result()

    def serve(self, app: Any) -> InProcess:
        return InProcess(app, self)


async def _awaited(function: Callable[..., Awaitable[T]], *args: Any) -> T:
    return await function(*args)


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
