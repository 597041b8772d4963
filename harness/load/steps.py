"""Every HTTP request of a virtual employee or provisioner, timed and named by the step it
belongs to ("sign-in: ACS", "account", "scim: create"...), and judged: a status of 400 or more,
or an answer the step's judge refuses, is a failure of that step with the reason.

A ``StepTransport`` wraps httpx's transport, so the harness's own flows (``harness.signin``)
run unchanged under load; what it measures goes to ``report``, which the locustfile turns into
Locust's request events. Nothing here imports Locust.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Iterator
from typing import Protocol

import httpx

Namer = Callable[[httpx.Request], str]
Judge = Callable[[httpx.Response], str | None]


class Report(Protocol):
    def __call__(
        self, *, method: str, name: str, milliseconds: float, length: int, error: str | None
    ) -> None: ...


def refusal_of(response: httpx.Response) -> str | None:
    """Why a response is a failure: ``HTTP 403 audience-mismatch`` (the reason where the peer
    tells one in JSON), or None for a status below 400."""
    if response.status_code < 400:
        return None
    reason = None
    if response.headers.get("content-type", "").split(";")[0].endswith("json"):
        with contextlib.suppress(ValueError, AttributeError):
            reason = json.loads(response.content).get("reason")
    return f"HTTP {response.status_code}" + (f" {reason}" if reason else "")


class StepTransport(httpx.BaseTransport):
    """Times and names each request by the step in progress (``step``), reads the body inside
    the timing, and reports it."""

    def __init__(self, report: Report, inner: httpx.BaseTransport | None = None) -> None:
        self.report = report
        self.inner = inner or httpx.HTTPTransport()
        self.namer: Namer = lambda request: "other"
        self.judge: Judge = refusal_of

    @contextlib.contextmanager
    def step(self, namer: Namer | str, judge: Judge | None = None) -> Iterator[None]:
        """Name (and judge) the requests sent inside the block."""
        saved = self.namer, self.judge
        self.namer = namer if callable(namer) else (lambda request: namer)
        self.judge = judge or refusal_of
        try:
            yield
        finally:
            self.namer, self.judge = saved

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        name = self.namer(request)
        started = time.perf_counter()
        try:
            response = self.inner.handle_request(request)
            body = b"".join(response.iter_raw())  # as sent: the client decodes it
        except httpx.HTTPError as exc:
            milliseconds = (time.perf_counter() - started) * 1000
            error = f"{type(exc).__name__}: {exc}"
            self.report(
                method=request.method, name=name, milliseconds=milliseconds, length=0, error=error
            )
            raise
        milliseconds = (time.perf_counter() - started) * 1000
        response.close()
        answered = httpx.Response(
            response.status_code,
            headers=response.headers,
            content=body,
            request=request,
            extensions=response.extensions,
        )
        self.report(
            method=request.method,
            name=name,
            milliseconds=milliseconds,
            length=len(body),
            error=self.judge(answered),
        )
        return answered

    def close(self) -> None:
        self.inner.close()
