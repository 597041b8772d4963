"""Synchronous HTTP to in-process ASGI apps, so one code path drives in-process worlds,
loopback servers and remote SPs alike.

httpx reaches an ASGI app only asynchronously; ``InProcess`` runs the app on an event loop in
a helper thread (an anyio blocking portal) and answers the synchronous client from there.
``Routes`` sends each request to the app of its host, like DNS would: the SP and the IdP of a
world have their own hosts, and a browser-like client follows redirects between them.
"""

from __future__ import annotations

import functools
import ssl
from collections.abc import Mapping
from contextlib import AbstractContextManager
from typing import Any

import httpx
from anyio.from_thread import BlockingPortal, start_blocking_portal


class InProcess(httpx.BaseTransport):
    def __init__(self, app: Any, portal: BlockingPortal) -> None:
        self._asgi = httpx.ASGITransport(app=app)
        self._portal = portal

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        forwarded = httpx.Request(
            request.method, request.url, headers=request.headers, content=body
        )

        async def call() -> tuple[int, list[tuple[bytes, bytes]], bytes]:
            response = await self._asgi.handle_async_request(forwarded)
            content = await response.aread()
            return response.status_code, response.headers.raw, content

        status, headers, content = self._portal.call(call)
        return httpx.Response(status, headers=headers, content=content, request=request)


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


class Portal(AbstractContextManager["Portal"]):
    """The event loop thread in-process apps run on (one per world)."""

    def __init__(self) -> None:
        self._manager = start_blocking_portal()
        self.portal = self._manager.__enter__()

    def __exit__(self, *exc: object) -> None:
        self._manager.__exit__(None, None, None)

    def serve(self, app: Any) -> InProcess:
        return InProcess(app, self.portal)
