"""In-process apps share one event loop thread per process: worlds reuse it, an app's own
synchronous call to an in-process app is refused rather than waiting on itself for ever, and
an app's exception reaches the caller."""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import time
from collections.abc import Iterator

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


def test_a_request_reaches_the_app_as_a_server_would_hand_it_over() -> None:
    """Method, path, query, headers and body as sent; a streamed answer whole; HEAD bodiless."""
    from starlette.responses import StreamingResponse

    async def echo(request: Request) -> PlainTextResponse:
        body = await request.body()
        shown = f"{request.method} {request.url.path}?{request.url.query} "
        shown += f"{request.headers['x-probe']} {body.decode()}"
        return PlainTextResponse(shown)

    async def streamed(request: Request) -> StreamingResponse:
        async def parts():  # type: ignore[no-untyped-def]
            for part in ("one ", "two ", "three"):
                yield part

        return StreamingResponse(parts(), media_type="text/plain")

    app = Starlette(
        routes=[
            Route("/echo", echo, methods=["POST"]),
            Route("/streamed", streamed, methods=["GET", "HEAD"]),
        ]
    )
    with httpx.Client(transport=Routes({"app.test": process_portal().serve(app)})) as client:
        answer = client.post(
            "http://app.test/echo?a=1&b=%2F", content=b"x=1", headers={"X-Probe": "p"}
        )
        assert answer.text == "POST /echo?a=1&b=%2F p x=1"
        assert client.get("http://app.test/streamed").text == "one two three"
        head = client.head("http://app.test/streamed")
        assert head.status_code == 200 and head.content == b""


@pytest.fixture
def portal() -> Iterator[Portal]:
    """A portal of the test's own: no other test's thread is calling it."""
    made = Portal()
    yield made
    made.close()


def test_a_call_runs_on_the_calling_thread(portal: Portal) -> None:
    """No hand-over between threads per request: the caller drives the loop itself."""

    async def where() -> threading.Thread:
        return threading.current_thread()

    assert portal.call(where) is threading.current_thread()


def test_concurrent_calls_interleave_on_one_loop(portal: Portal) -> None:
    """Calls from several threads at once run together on the loop, as on a server: each of
    these waits until all have started, so run one after another they would never finish."""
    callers = 4
    started: list[int] = []
    all_started: list[asyncio.Event] = []

    async def meet(n: int) -> int:
        if not all_started:
            all_started.append(asyncio.Event())
        started.append(n)
        if len(started) == callers:
            all_started[0].set()
        await asyncio.wait_for(all_started[0].wait(), timeout=5)
        return n

    with concurrent.futures.ThreadPoolExecutor(callers) as pool:
        assert sorted(pool.map(lambda n: portal.call(meet, n), range(callers))) == [0, 1, 2, 3]


def test_a_thread_running_its_own_event_loop_can_call(portal: Portal) -> None:
    """As under Playwright's sync API: the call is driven by a helper thread instead."""

    async def where() -> threading.Thread:
        return threading.current_thread()

    async def from_a_running_loop() -> threading.Thread:
        return portal.call(where)

    helper = asyncio.run(from_a_running_loop())
    assert helper is not threading.current_thread()
    assert portal.call(where) is threading.current_thread()


def test_a_driver_interrupted_mid_call_leaves_the_portal_usable(portal: Portal) -> None:
    """A KeyboardInterrupt out of the loop (not out of the call) stops the calling thread; the
    call left in flight is finished by the helper, and the next call is served as usual."""
    finished: list[str] = []

    def interrupt() -> None:
        raise KeyboardInterrupt

    async def interrupted() -> None:
        asyncio.get_running_loop().call_soon(interrupt)
        await asyncio.sleep(0.05)
        finished.append("after the interrupt")

    async def where() -> threading.Thread:
        return threading.current_thread()

    with pytest.raises(KeyboardInterrupt):
        portal.call(interrupted)
    # Calls made while the helper finishes it join the helper's loop; once it is done, the
    # caller drives the loop again. Asked from a thread of their own: a portal left with a
    # call in flight and nobody driving would keep them waiting for ever.
    drove: list[bool] = []

    def ask() -> None:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            if portal.call(where) is threading.current_thread():
                drove.append(True)
                return
            time.sleep(0.01)

    asker = threading.Thread(target=ask, daemon=True)
    asker.start()
    asker.join(timeout=10)
    assert drove == [True], "no call was served, or the helper kept the loop"
    assert finished == ["after the interrupt"]
