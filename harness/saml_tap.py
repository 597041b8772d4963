"""A tap on the reference SP: every SAML message an IdP under test sends it, recorded as it
arrived, with the SP's answer; and every AuthnRequest the SP sent out, so a Response can be
judged against the request it answers.

It wraps the SP's ASGI app (the SP stays unchanged): requests to the SAML endpoints are read
whole, recorded, and handed on unchanged. Waiting for a message (the interactive mode, where an
operator signs in from a browser the harness does not drive) blocks on a condition.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from lxml import etree

from harness.protocol.refusal import Refusal
from harness.protocol.saml.authn_request import parse_authn_request
from harness.protocol.saml.bindings import decode_redirect_query
from harness.protocol.xml import parse_xml

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_RECEIVING = ("/saml/acs", "/saml/slo")
_SENDING = ("/saml/login", "/logout")  # answered with a redirect carrying the SP's request
_MAX_BODY = 4 * 1024 * 1024  # the SP refuses more; the tap keeps no more than it would read


@dataclass(frozen=True)
class SentRequest:
    """A request the SP sent to the IdP in the Location of its redirect: an AuthnRequest (from
    /saml/login) or a LogoutRequest (from /logout)."""

    kind: str  # "AuthnRequest" or "LogoutRequest"
    id: str
    name_id_format: str | None
    relay_state: str | None
    at: dt.datetime


@dataclass
class TappedMessage:
    """One request to a SAML endpoint of the SP, and the SP's answer to it."""

    seq: int
    at: dt.datetime
    method: str
    path: str
    query: str
    fields: dict[str, str]  # the form fields of a POST
    status: int = 0
    location: str | None = None
    set_cookies: list[str] = field(default_factory=list)

    def value(self, name: str) -> str | None:
        """A binding parameter, from the form or else the query."""
        if name in self.fields:
            return self.fields[name]
        found = parse_qs(self.query, keep_blank_values=True).get(name)
        return found[0] if found else None


class SamlTap:
    def __init__(self, app: Any) -> None:
        self.app = app
        self.messages: list[TappedMessage] = []
        self.requests: list[SentRequest] = []
        self._arrived = threading.Condition()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http":
            await self.app(scope, receive, send)
        elif path in _RECEIVING:
            await self._record(scope, receive, send)
        elif path in _SENDING:
            await self.app(scope, receive, self._watch_redirect(send))
        else:
            await self.app(scope, receive, send)

    def _watch_redirect(self, send: Send) -> Send:
        async def watching(message: Message) -> None:
            if message["type"] == "http.response.start":
                location = _header(message, b"location")
                if location:
                    self._note_request(location)
            await send(message)

        return watching

    def _note_request(self, location: str) -> None:
        try:
            decoded = decode_redirect_query(urlsplit(location).query)
            kind = etree.QName(parse_xml(decoded.message)).localname
            if kind == "AuthnRequest":
                request = parse_authn_request(decoded.message)
                request_id, name_id_format = request.id, request.nameid_format
            else:
                request_id, name_id_format = parse_xml(decoded.message).get("ID", ""), None
        except (Refusal, ValueError):
            return  # no SAML request: the SP sent the browser elsewhere
        sent = SentRequest(kind, request_id, name_id_format, decoded.relay_state, _now())
        with self._arrived:
            self.requests.append(sent)

    async def _record(self, scope: Scope, receive: Receive, send: Send) -> None:
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > _MAX_BODY:  # refused here, as the SP would: never handed on cut short
                await _too_large(send)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        tapped = TappedMessage(
            seq=len(self.messages) + 1,
            at=_now(),
            method=scope["method"],
            path=scope["path"],
            query=scope.get("query_string", b"").decode("latin-1"),
            fields=_form_fields(scope, body),
        )
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if delivered:
                return {"type": "http.disconnect"}
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def answer(message: Message) -> None:
            if message["type"] == "http.response.start":
                tapped.status = message["status"]
                tapped.location = _header(message, b"location")
                tapped.set_cookies = _headers(message, b"set-cookie")
            await send(message)

        try:
            await self.app(scope, replay, answer)
        finally:
            with self._arrived:
                self.messages.append(tapped)
                self._arrived.notify_all()

    def wait_for(
        self, after: int, timeout: float, wanted: Callable[[TappedMessage], bool]
    ) -> TappedMessage | None:
        """The first message after sequence number ``after`` that is ``wanted``, waiting up to
        ``timeout`` seconds for it to arrive (None: it did not)."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while True:
                found = next((m for m in self.messages[after:] if wanted(m)), None)
                left = deadline - time.monotonic()
                if found is not None or left <= 0:
                    return found
                self._arrived.wait(left)

    def request(self, request_id: str | None) -> SentRequest | None:
        with self._arrived:
            return next((r for r in reversed(self.requests) if r.id == request_id), None)

    def last_request(self, kind: str = "AuthnRequest") -> SentRequest | None:
        with self._arrived:
            return next((r for r in reversed(self.requests) if r.kind == kind), None)


async def _too_large(send: Send) -> None:
    text = f"a SAML message of more than {_MAX_BODY} bytes".encode()
    headers = [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", b"%d" % len(text)),
    ]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": text})


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _headers(message: Message, name: bytes) -> list[str]:
    return [v.decode("latin-1") for k, v in message.get("headers", ()) if k.lower() == name]


def _header(message: Message, name: bytes) -> str | None:
    found = _headers(message, name)
    return found[0] if found else None


def _form_fields(scope: Scope, body: bytes) -> dict[str, str]:
    content_type = dict(scope.get("headers", ())).get(b"content-type", b"").decode("latin-1")
    if scope.get("method") != "POST" or "urlencoded" not in content_type:
        return {}
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return {}
    return {k: v[0] for k, v in parse_qs(text, keep_blank_values=True).items()}
