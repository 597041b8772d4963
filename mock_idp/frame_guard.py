"""No IdP page may be framed: a page framing the login form (or the auto-submitting SAML form)
could dress it up and click-jack a tester into signing in or posting a response."""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

FRAME_HEADERS = {
    "X-Frame-Options": "DENY",  # older browsers
    "Content-Security-Policy": "frame-ancestors 'none'",
}


class FrameGuard:
    """ASGI middleware adding FRAME_HEADERS to every HTML response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_guarded(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if headers.get("content-type", "").startswith("text/html"):
                    for name, value in FRAME_HEADERS.items():
                        headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_guarded)
