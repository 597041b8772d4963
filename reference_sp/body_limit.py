"""Request bodies capped before anything reads them: an ASGI middleware that reads ``receive()``
up to a limit per path and answers 413 (with a reason, in the route's own error style) the
moment a body would exceed it, so that no route ever holds more than its limit in memory.

A declared ``Content-Length`` over the limit is refused without reading a byte; a chunked body
(no length) is refused at the first chunk that crosses it. A body within the limit is handed to
the app as one message, exactly as if the client had sent it so.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

TooLarge = Callable[[Scope, int], Response]  # (the request's scope, the limit) -> the 413


@dataclass(frozen=True)
class Limit:
    """At most ``max_bytes`` of body for ``path`` and the paths under it."""

    path: str  # "/scim/v2" covers "/scim/v2" and "/scim/v2/Users/1", not "/scim/v2x"
    max_bytes: int
    too_large: TooLarge

    def covers(self, path: str) -> bool:
        return path == self.path or path.startswith(self.path.rstrip("/") + "/")


def limit_for(limits: Sequence[Limit], default: Limit, path: str) -> Limit:
    """The longest of ``limits`` covering ``path``, else ``default``."""
    covering = [limit for limit in limits if limit.covers(path)]
    return max(covering, key=lambda limit: len(limit.path)) if covering else default


async def read_within(scope: Scope, receive: Receive, send: Send, limit: Limit) -> bytes | None:
    """The request's whole body, or None once the 413 is sent (or the client has left)."""
    declared = Headers(scope=scope).get("content-length")
    if declared and declared.strip().isdigit() and int(declared) > limit.max_bytes:
        await limit.too_large(scope, limit.max_bytes)(scope, receive, send)
        return None
    body = bytearray()
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None  # the client left: there is no one to answer
        body += message.get("body", b"")
        if len(body) > limit.max_bytes:
            # What was read is dropped here; the rest is never read (the server closes the
            # connection after the answer, as the body was not consumed).
            del body
            await limit.too_large(scope, limit.max_bytes)(scope, receive, send)
            return None
        if not message.get("more_body", False):
            return bytes(body)


class BodyLimit:
    """The limit of the longest matching ``Limit`` applies; ``default`` covers every other path
    (a GET with a body included: a route that reads no body still must not be a way in)."""

    def __init__(self, app: ASGIApp, limits: Sequence[Limit], default: Limit) -> None:
        self.app = app
        self.limits = limits
        self.default = default

    def limit_for(self, path: str) -> Limit:
        return limit_for(self.limits, self.default, path)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        body = await read_within(scope, receive, send, self.limit_for(scope["path"]))
        if body is not None:
            await self.app(scope, replay(body, receive), send)


def replay(body: bytes, receive: Receive) -> Receive:
    """``receive`` for the app: the whole body once, then the server's own (disconnects)."""
    delivered = False

    async def replayed() -> Message:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed
