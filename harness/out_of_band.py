"""An out-of-band listener: proof that a peer fetched something it should never have fetched.

The parser attacks (an external entity or DTD, an XSLT ``document()`` call) name a URL; a
strict SP never opens it. :class:`OutOfBandListener` serves loopback HTTP, records every
request it gets and answers 404 at once; ``url(token)`` gives each case its own URL (the token
is the first path segment), so ``hits(token)`` tells which case's payload was fetched, however
many ran. Memory is bounded: at most ``max_hits`` requests are kept (the oldest go first) and
each one's headers and target are cut short.

    with OutOfBandListener() as oob:
        url = oob.url("x01-external-entity")
        ...  # send a response naming ``url``
        assert oob.hits("x01-external-entity") == []
"""

from __future__ import annotations

import collections
import datetime as dt
import secrets
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from urllib.parse import parse_qs, quote, unquote, urlsplit

MAX_TARGET = 2048  # characters of the request target kept
MAX_HEADERS = 32  # headers kept per request
MAX_HEADER_VALUE = 512


@dataclass(frozen=True)
class Hit:
    """One request the listener received."""

    token: str
    method: str
    path: str
    query: dict[str, list[str]]
    headers: tuple[tuple[str, str], ...]
    at: dt.datetime
    client: str


def _token_of(path: str) -> str:
    first = path.lstrip("/").split("/", 1)[0]
    return unquote(first)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    timeout = 5  # a peer that opens a connection and stalls holds one thread, briefly

    def _record_and_refuse(self) -> None:
        target = self.path[:MAX_TARGET]
        parts = urlsplit(target)
        headers = tuple(
            (name[:64], value[:MAX_HEADER_VALUE])
            for name, value in list(self.headers.items())[:MAX_HEADERS]
        )
        self.server.record(
            Hit(
                token=_token_of(parts.path),
                method=self.command[:16],
                path=parts.path,
                query=parse_qs(parts.query),
                headers=headers,
                at=dt.datetime.now(dt.UTC),
                client=self.client_address[0],
            )
        )
        # The body, if any, is not read: close rather than leave it in the stream.
        self.close_connection = True
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.send_header("Connection", "close")
        self.end_headers()

    # http.server dispatches on these names.
    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = do_OPTIONS = do_PATCH = _record_and_refuse  # noqa: N815

    def log_message(self, format: str, *args: object) -> None:
        """Silent: the hits are the log."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, host: str, port: int, max_hits: int) -> None:
        super().__init__((host, port), _Handler)
        self._lock = threading.Lock()
        self._hits: collections.deque[Hit] = collections.deque(maxlen=max_hits)

    def record(self, hit: Hit) -> None:
        with self._lock:
            self._hits.append(hit)

    def snapshot(self) -> list[Hit]:
        with self._lock:
            return list(self._hits)

    def forget(self) -> None:
        with self._lock:
            self._hits.clear()


class OutOfBandListener:
    """Loopback HTTP that records requests; a context manager (start on enter, stop on exit)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, max_hits: int = 1000) -> None:
        if max_hits < 1:
            raise ValueError("max_hits must be at least 1")
        self._host, self._port, self._max_hits = host, port, max_hits
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> OutOfBandListener:
        if self._server is not None:
            return self
        self._server = _Server(self._host, self._port, self._max_hits)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="out-of-band-listener",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> OutOfBandListener:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _running(self) -> _Server:
        if self._server is None:
            raise RuntimeError("the out-of-band listener is not running")
        return self._server

    @property
    def base_url(self) -> str:
        address = self._running().server_address
        host = address[0] if isinstance(address[0], str) else address[0].decode()
        port = address[1]
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{port}"

    @staticmethod
    def new_token(prefix: str = "case") -> str:
        """A token no other case uses (random, so a stale hit cannot match a new case)."""
        return f"{prefix}-{secrets.token_hex(8)}"

    def url(self, token: str, name: str = "x") -> str:
        """The URL for one case: the token is the first path segment, ``name`` a readable tail."""
        if not token or "/" in token:
            raise ValueError("a token is one non-empty path segment")
        return f"{self.base_url}/{quote(token, safe='')}/{quote(name, safe='')}"

    def hits(self, token: str | None = None) -> list[Hit]:
        """The requests received for ``token`` (all of them when None), oldest first."""
        every = self._running().snapshot()
        return every if token is None else [hit for hit in every if hit.token == token]

    def clear(self) -> None:
        self._running().forget()
