"""The listening sockets of ``sp``, ``idp``, ``serve`` and the World's loopback servers: every
connection uvicorn accepts on them has TCP_NODELAY set, so a small response is not held back
until the client's delayed ACK (about 40 ms on Linux for every request of a kept-alive
connection).

uvloop (``sp``, ``idp``, ``serve`` and the World, where uvloop is installed) sets TCP_NODELAY on
every TCP connection; asyncio's own loop (where it is not) sets it only where the listening
socket's protocol is ``IPPROTO_TCP``."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from typing import Any

import pytest
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from harness.sockets import listening_socket

pytestmark = pytest.mark.loopback


async def _ok(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


def _nodelay_of_accepted(sock: socket.socket, loop: str = "asyncio") -> int:
    """TCP_NODELAY of the server side of one connection accepted by uvicorn on ``sock``."""
    seen: list[int] = []

    class Recording(H11Protocol):
        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            accepted = transport.get_extra_info("socket")
            seen.append(accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            super().connection_made(transport)

    config = uvicorn.Config(_ok, http=Recording, loop=loop, lifespan="off", log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.005)
        port = sock.getsockname()[1]
        with socket.create_connection(("127.0.0.1", port), timeout=5) as client:
            client.sendall(b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
            assert client.recv(100).startswith(b"HTTP/1.1 200")
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
    assert len(seen) == 1
    return seen[0]


def test_the_listening_socket_names_tcp() -> None:
    sock = listening_socket("127.0.0.1", 0)
    try:
        assert sock.proto == socket.IPPROTO_TCP
    finally:
        sock.close()


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
def test_uvicorn_sets_tcp_nodelay_on_connections_accepted_on_it(loop: str) -> None:
    assert _nodelay_of_accepted(listening_socket("127.0.0.1", 0), loop) != 0


def test_a_socket_made_without_the_protocol_gets_no_nodelay() -> None:
    # The control: what asyncio's loop does with a socket whose protocol is left at 0, so the
    # test above fails if listening_socket stops naming IPPROTO_TCP.
    plain = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    plain.bind(("127.0.0.1", 0))
    plain.listen(8)
    assert _nodelay_of_accepted(plain) == 0
