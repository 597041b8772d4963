"""The loopback servers of worlds: they answer once started, finish the response they are
writing when stopped, and close everything on stop."""

from __future__ import annotations

import asyncio
import socket
import threading

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from harness.loopback_server import LoopbackServer
from harness.sockets import listening_socket


def _port(sock: socket.socket) -> int:
    return int(sock.getsockname()[1])


def test_answers_then_closes_idle_connections_and_the_listener_on_stop() -> None:
    app = Starlette(routes=[Route("/", lambda _: PlainTextResponse("hello"))])
    sock = listening_socket("127.0.0.1", 0)
    server = LoopbackServer(app, sock).start()
    port = _port(sock)
    kept = socket.create_connection(("127.0.0.1", port))
    kept.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    answer = b""
    while not answer.endswith(b"hello"):
        answer += kept.recv(4096)
    assert answer.startswith(b"HTTP/1.1 200")
    server.stop()
    kept.settimeout(5)
    assert kept.recv(4096) == b""  # the idle kept-alive connection was closed
    kept.close()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=5)


def test_a_response_being_written_at_stop_is_finished_first() -> None:
    entered, release = threading.Event(), threading.Event()

    async def slow(_: Request) -> PlainTextResponse:
        entered.set()
        while not release.is_set():
            await asyncio.sleep(0.005)
        return PlainTextResponse("finished")

    sock = listening_socket("127.0.0.1", 0)
    server = LoopbackServer(Starlette(routes=[Route("/", slow)]), sock).start()
    answers: list[httpx.Response] = []
    client = threading.Thread(
        target=lambda: answers.append(httpx.get(f"http://127.0.0.1:{_port(sock)}/", timeout=10))
    )
    client.start()
    assert entered.wait(5)
    stopping = threading.Thread(target=server.stop)
    stopping.start()
    release.set()
    stopping.join(10)
    client.join(10)
    assert not stopping.is_alive()
    assert [(a.status_code, a.text) for a in answers] == [(200, "finished")]


def test_a_server_that_cannot_listen_fails_to_start() -> None:
    sock = listening_socket("127.0.0.1", 0)
    sock.close()
    with pytest.raises(RuntimeError, match="did not start"):
        LoopbackServer(Starlette(), sock).start()
