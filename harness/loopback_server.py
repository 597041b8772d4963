"""An ASGI app served over a real socket by uvicorn, on a thread of its own, for one world: the
mock IdP a real SP talks to, the apps a browser reaches.

Started, it accepts connections; stopped, it is gone at once. uvicorn's own ``serve`` looks for
a stop request every 0.1 s and then sleeps another 0.1 s before closing connections, which cost
each world with servers 0.15-0.2 s of waiting (a run against a real SP starts one per
scenario). Here the stop wakes the server's loop directly; connections are closed once the
responses they are sending are complete, as uvicorn closes them.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from typing import Any

import uvicorn

START_TIMEOUT_S = 10.0
# A response still being written when the world ends gets this long to finish.
FINISH_TIMEOUT_S = 5.0


class LoopbackServer:
    def __init__(self, app: Any, sock: socket.socket) -> None:
        config = uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False)
        self._server = uvicorn.Server(config)
        self._sock = sock
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._failure: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True, name="loopback-server")

    def start(self) -> LoopbackServer:
        """Serve; returns once the socket accepts connections."""
        self._thread.start()
        if not self._ready.wait(START_TIMEOUT_S) or self._failure is not None:
            self.stop()
            raise RuntimeError(f"a loopback server did not start: {self._failure or 'timeout'}")
        return self

    def stop(self) -> None:
        """Close the listener and the connections, and wait for the thread to end."""
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None:
            with contextlib.suppress(RuntimeError):  # the loop has already ended
                loop.call_soon_threadsafe(stop.set)
        if self._thread.is_alive():
            self._thread.join(FINISH_TIMEOUT_S + START_TIMEOUT_S)

    def _run(self) -> None:
        try:
            with asyncio.Runner(loop_factory=self._server.config.get_loop_factory()) as runner:
                runner.run(self._serve())
        except BaseException as exc:  # reported by start(); a thread has no one else to tell
            self._failure = exc
            self._ready.set()

    async def _serve(self) -> None:
        server, config = self._server, self._server.config
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        if not config.loaded:
            config.load()
        server.lifespan = config.lifespan_class(config)
        await server.startup(sockets=[self._sock])
        self._ready.set()
        await self._stop.wait()
        for listener in server.servers:
            listener.close()
        for connection in list(server.server_state.connections):
            connection.shutdown()  # closes now if idle, else once its response is complete
        # Closing a transport takes a turn of the loop: wait until each connection is gone
        # (none left open when the loop ends), a response being written finished first.
        deadline = self._loop.time() + FINISH_TIMEOUT_S
        while server.server_state.connections and self._loop.time() < deadline:
            await asyncio.sleep(0.001)
        for task in list(server.server_state.tasks):
            task.cancel()
        for listener in server.servers:
            await listener.wait_closed()
