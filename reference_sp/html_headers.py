"""No page of the SP may be framed (clickjacking): an ASGI middleware that marks every HTML
response ``X-Frame-Options: DENY`` (older browsers) and ``Content-Security-Policy:
frame-ancestors 'none'`` (the standard), whichever route or error handler produced it.

It only adds ``frame-ancestors`` to a policy a page already has: the auto-submitting SAML form
runs an inline script, so a stricter policy is each page's own choice, never imposed here.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

FRAME_ANCESTORS = "frame-ancestors 'none'"


def forbid_framing(headers: MutableHeaders) -> None:
    """Mark an HTML response's headers unframeable; others are left as they are."""
    if not headers.get("content-type", "").lower().lstrip().startswith("text/html"):
        return
    headers["X-Frame-Options"] = "DENY"
    policy = headers.get("content-security-policy")
    if policy is None or not policy.strip():
        headers["Content-Security-Policy"] = FRAME_ANCESTORS
    elif "frame-ancestors" not in policy.lower():
        headers["Content-Security-Policy"] = f"{policy.rstrip().rstrip(';')}; {FRAME_ANCESTORS}"


class NoFraming:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_unframeable(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = list(message.get("headers", []))
                forbid_framing(MutableHeaders(scope=message))
            await send(message)

        await self.app(scope, receive, send_unframeable)
