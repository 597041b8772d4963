"""In-process apps share one event loop thread per process: worlds reuse it, an app's own
synchronous call to an in-process app is refused rather than waiting on itself for ever, and
an app's exception reaches the caller."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from harness.transport import Portal, Routes, process_portal


def test_worlds_of_a_process_share_its_portal() -> None:
    assert process_portal() is process_portal()


def test_an_app_calling_an_in_process_app_synchronously_is_refused() -> None:
    portal = process_portal()
    holder: list[httpx.Client] = []

    async def hello(request: Request) -> PlainTextResponse:
        return PlainTextResponse("hello")

    async def calls_back(request: Request) -> PlainTextResponse:
        try:
            holder[0].get("http://app.test/hello")
        except RuntimeError as exc:
            return PlainTextResponse(f"refused: {exc}")
        return PlainTextResponse("called")

    app = Starlette(routes=[Route("/hello", hello), Route("/calls-back", calls_back)])
    with httpx.Client(transport=Routes({"app.test": portal.serve(app)})) as client:
        holder.append(client)
        assert client.get("http://app.test/hello").text == "hello"
        answer = client.get("http://app.test/calls-back").text
    assert answer.startswith("refused: an in-process app cannot be called")


def test_an_exception_on_the_loop_reaches_the_caller() -> None:
    async def fails() -> None:
        raise LookupError("from the loop")

    with pytest.raises(LookupError, match="from the loop"):
        process_portal().call(fails)
    assert isinstance(process_portal(), Portal)
