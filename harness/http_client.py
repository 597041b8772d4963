"""The harness's HTTP client: ``httpx.Client`` with its cookies kept as httpx keeps them
(``http.cookiejar``, its default policy), for less work per request.

For every request, httpx copies the client's cookie jar into a new jar twice and asks
``http.cookiejar`` for the Cookie header through urllib's request wrapper, and it hands every
response to the jar, Set-Cookie or not: 70 to 90 us a request with a signed-in session's
cookies, more than an in-process endpoint costs to answer. Here the client's jar remembers
the header it gave for a URL's scheme, host and port and the cookie paths its path matches,
until the jar changes or one of its cookies expires, and a response without Set-Cookie is not
handed to it. The header is still
the policy's own (the first request to a URL asks it), so what is sent is what httpx sends.
"""

from __future__ import annotations

import http.cookiejar
import time
import urllib.request
from typing import Any

import httpx

_NOT_SENDING = ""  # the remembered answer "no cookie for this URL"
MAX_REMEMBERED = 256  # answers kept at once: a client may visit any number of hosts


class CookieJar(http.cookiejar.CookieJar):
    """``http.cookiejar.CookieJar`` (its default policy) that remembers the Cookie header it
    gives for a URL while no cookie is set or cleared and none has expired.

    The policy's answer depends on the URL's scheme, host and port, and on its path only
    through the cookies' paths it path-matches: URLs alike in those share one answer (every
    path of a host whose cookies all have ``Path=/``)."""

    def __init__(self) -> None:
        super().__init__()
        self._headers: dict[tuple[str, bytes, tuple[str, ...]], str] = {}
        self._headers_until = float("inf")  # the first expiry among the cookies
        self._cookie_paths: frozenset[str] | None = None  # None: not worked out since a change

    def header_for(self, url: httpx.URL) -> str | None:
        """The Cookie header for a request to ``url``, or None when no cookie goes there."""
        if time.time() >= self._headers_until:
            self._forget_headers()
        if self._cookie_paths is None:
            self._cookie_paths = frozenset(cookie.path for cookie in self)
        if not self._cookie_paths:
            return None
        path = _request_path(url)
        matching = tuple(sorted(p for p in self._cookie_paths if _path_matches(path, p)))
        key = (url.scheme, url.netloc, matching)
        found = self._headers.get(key)
        if found is None:
            if len(self._headers) >= MAX_REMEMBERED:
                self._headers.clear()
            found = self._headers[key] = self._ask_policy(str(url))
        return found or None

    def _ask_policy(self, url: str) -> str:
        asking = urllib.request.Request(url)  # noqa: S310 (never opened, only read)
        super().add_cookie_header(asking)  # may clear expired cookies, and forget headers
        until = min((c.expires for c in self if c.expires is not None), default=None)
        self._headers_until = float("inf") if until is None else float(until)
        return asking.get_header("Cookie") or _NOT_SENDING

    def _forget_headers(self) -> None:
        self._headers.clear()
        self._headers_until = float("inf")
        self._cookie_paths = None

    # Every change to the jar goes through these two (extracting, deleting an expired
    # cookie, httpx's Cookies mapping, clearing session or expired cookies).
    def set_cookie(self, cookie: http.cookiejar.Cookie) -> None:
        super().set_cookie(cookie)
        self._forget_headers()

    def clear(
        self, domain: str | None = None, path: str | None = None, name: str | None = None
    ) -> None:
        try:
            super().clear(domain, path, name)
        finally:
            self._forget_headers()


def _request_path(url: httpx.URL) -> str:
    """http.cookiejar.request_path, from httpx's URL."""
    # escape_path is the module's own, undocumented (and absent from typeshed)
    escaped = http.cookiejar.escape_path  # type: ignore[attr-defined]
    path: str = escaped(url.raw_path.split(b"?", 1)[0].decode("ascii"))
    return path if path.startswith("/") else "/" + path


def _path_matches(request_path: str, cookie_path: str) -> bool:
    """http.cookiejar.DefaultCookiePolicy.path_return_ok, on the path alone."""
    if request_path == cookie_path:
        return True
    return request_path.startswith(cookie_path) and (
        cookie_path.endswith("/") or request_path[len(cookie_path) : len(cookie_path) + 1] == "/"
    )


class _Cookies(httpx.Cookies):
    """The client's cookies, on a :class:`CookieJar`; responses without Set-Cookie skip it."""

    def extract_cookies(self, response: httpx.Response) -> None:
        if "set-cookie" in response.headers or "set-cookie2" in response.headers:
            super().extract_cookies(response)


class HttpClient(httpx.Client):
    """``httpx.Client`` whose requests take the Cookie header from :class:`CookieJar`.

    As with httpx, a request built by the client carries the client's cookies unless it
    already has a Cookie header (given in ``headers``), and cookies given for one request
    are merged with the client's by httpx itself."""

    def __init__(self, *, cookies: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.cookies = cookies

    @property
    def cookies(self) -> httpx.Cookies:
        return self._kept

    @cookies.setter
    def cookies(self, cookies: Any) -> None:
        self._jar = CookieJar()
        self._kept = _Cookies(self._jar)
        if cookies is not None:
            self._kept.update(cookies)

    def _merge_cookies(self, cookies: Any = None) -> Any:
        # httpx copies the client's jar here for every request; the header is added in
        # build_request instead. Cookies given for this one request still merge as in httpx.
        return super()._merge_cookies(cookies) if cookies else None

    def build_request(self, method: str, url: Any, **kwargs: Any) -> httpx.Request:
        request = super().build_request(method, url, **kwargs)
        if "cookie" not in request.headers:
            header = self._jar.header_for(request.url)
            if header is not None:
                request.headers["Cookie"] = header
        return request
