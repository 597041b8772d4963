"""What both peer SPs share and neither library provides: a bounded, expiring, cookie-bound
server-side session store, the RelayState rule (a local path or nothing), the SP's key pair,
and the command line. Nothing SAML lives here: each peer leaves every protocol decision to its
library."""

from __future__ import annotations

import argparse
import datetime as dt
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from harness.protocol.keys import KeyPair, generate_key_pair

COOKIE = "peer_session"
MAX_SESSIONS = 10_000
MAX_PENDING_PER_BROWSER = 16
SESSION_LIFETIME = 8 * 3600.0  # seconds
MAX_FORM_BYTES = 256 * 1024


def sp_key_pair(common_name: str) -> KeyPair:
    """A fresh self-signed RSA key pair for the SP: signs its requests, decrypts assertions."""
    return generate_key_pair(common_name, now=dt.datetime.now(dt.UTC))


@dataclass
class BrowserSession:
    """One browser's state on this SP: requests waiting for an answer, and who signed in."""

    pending: dict[str, str] = field(default_factory=dict)  # request ID -> RelayState
    user: str | None = None  # the NameID value: the user, accepted on sight
    name_id: Any = None  # the library's own NameID object, for single logout
    session_index: str | None = None
    expires: float = 0.0


class BoundedDict(OrderedDict[str, Any]):
    """A dict that forgets its oldest entries beyond ``limit`` (for the libraries' caches)."""

    def __init__(self, limit: int = 1000) -> None:
        super().__init__()
        self.limit = limit

    def __setitem__(self, key: str, value: Any) -> None:
        super().__setitem__(key, value)
        self.move_to_end(key)
        while len(self) > self.limit:
            self.popitem(last=False)


class SessionStore:
    """Server-side sessions keyed by a random cookie value; bounded and expiring."""

    def __init__(
        self,
        limit: int = MAX_SESSIONS,
        lifetime: float = SESSION_LIFETIME,
        on_evict: Callable[[BrowserSession], None] | None = None,
    ) -> None:
        self._sessions: OrderedDict[str, BrowserSession] = OrderedDict()
        self._lock = threading.Lock()
        self.limit = limit
        self.lifetime = lifetime
        self.on_evict = on_evict

    def get(self, request: Request) -> tuple[str, BrowserSession] | None:
        sid = request.cookies.get(COOKIE)
        if not sid:
            return None
        with self._lock:
            session = self._sessions.get(sid)
            if session is None:
                return None
            if session.expires < time.monotonic():
                del self._sessions[sid]
                self._evicted(session)
                return None
            self._sessions.move_to_end(sid)
            return sid, session

    def get_or_create(self, request: Request) -> tuple[str, BrowserSession]:
        found = self.get(request)
        if found is not None:
            return found
        return self.put(BrowserSession())

    def put(self, session: BrowserSession) -> tuple[str, BrowserSession]:
        sid = secrets.token_urlsafe(32)
        session.expires = time.monotonic() + self.lifetime
        with self._lock:
            self._sessions[sid] = session
            while len(self._sessions) > self.limit:
                _, old = self._sessions.popitem(last=False)
                self._evicted(old)
        return sid, session

    def drop(self, sid: str) -> BrowserSession | None:
        with self._lock:
            return self._sessions.pop(sid, None)

    def drop_user(self, user: str) -> int:
        """End every session of ``user`` (an IdP-initiated LogoutRequest names no cookie)."""
        with self._lock:
            sids = [s for s, v in self._sessions.items() if v.user == user]
            for sid in sids:
                del self._sessions[sid]
        return len(sids)

    def _evicted(self, session: BrowserSession) -> None:
        if self.on_evict is not None and session.user is not None:
            self.on_evict(session)


def remember_request(session: BrowserSession, request_id: str, relay_state: str) -> None:
    session.pending[request_id] = relay_state
    while len(session.pending) > MAX_PENDING_PER_BROWSER:
        session.pending.pop(next(iter(session.pending)))


def set_cookie(response: Response, sid: str, base_url: str) -> None:
    secure = base_url.startswith("https://")
    # The ACS is reached by a cross-site POST from the IdP: on HTTPS the cookie must be
    # SameSite=None to come along; on plain-HTTP loopback, Lax (same site: the same host).
    response.set_cookie(
        COOKIE,
        sid,
        httponly=True,
        secure=secure,
        samesite="none" if secure else "lax",
        path="/",
        max_age=int(SESSION_LIFETIME),
    )


def clear_cookie(response: Response) -> None:
    response.delete_cookie(COOKIE, path="/")


def local_path(relay_state: str | None) -> str | None:
    """The RelayState if it is a path on this SP (no scheme, no host, no ``//``), else None:
    RelayState arrives unsigned in the POST binding and must not be an open redirect."""
    if not relay_state or not relay_state.startswith("/") or relay_state.startswith("//"):
        return None
    parts = urlsplit(relay_state)
    if parts.scheme or parts.netloc or "\\" in relay_state:
        return None
    return relay_state


def refusal(library: str, error: str) -> PlainTextResponse:
    """The ACS's refusal page: 403, naming the library and its error; no session."""
    return PlainTextResponse(f"{library} refused the SAML message: {error}\n", status_code=403)


def whoami(store: SessionStore, request: Request) -> Response:
    found = store.get(request)
    if found is None or found[1].user is None:
        return PlainTextResponse("not signed in\n", status_code=401)
    return PlainTextResponse(f"REMOTE_USER={found[1].user}\n")


async def read_form(request: Request) -> dict[str, str]:
    """The urlencoded form of a POST, capped before it is read."""
    length = request.headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) > MAX_FORM_BYTES):
        return {}
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            return {}
    return dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))


def load_metadata(source: str) -> bytes:
    if source.startswith(("http://", "https://")):
        response = httpx.get(source, timeout=10)
        response.raise_for_status()
        return response.content
    return Path(source).read_bytes()


def command_line(prog: str, description: str, argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8101)
    parser.add_argument(
        "--base-url", help="the SP's public base URL (default http://HOST:PORT)", default=None
    )
    parser.add_argument(
        "--idp-metadata",
        required=True,
        help="the IdP's metadata: a URL or a file (e.g. http://127.0.0.1:8002/saml/metadata)",
    )
    parser.add_argument(
        "--allow-unsolicited",
        action="store_true",
        help="accept IdP-initiated (unsolicited) responses; off by default",
    )
    return parser.parse_args(argv)
