"""The harness's HTTP client sends the cookies httpx's own client sends (the same jar and
policy), asks the policy once per URL while its jar is unchanged, and still follows every
change: a cookie set, deleted, expired, or set through the client's cookie mapping."""

from __future__ import annotations

import http.cookiejar
import warnings
from collections.abc import Iterator

import httpx
import pytest

from harness import http_client
from harness.http_client import HttpClient

# What the apps of a world and a real SP set: host-only and domain cookies, narrower paths,
# Secure, an expiry in the future and one in the past (a deletion), a long Max-Age.
SET_COOKIES = {
    "http://sp.test/saml/acs": [
        "sp_session=abc; Path=/; HttpOnly; SameSite=Lax",
        "relay=xyz; Path=/saml",
        "secure_only=s; Path=/; Secure",
    ],
    "https://idp.example.com/login": [
        "idp_session=def; Path=/; Domain=example.com",
        "narrow=n; Path=/login/",
        "later=l; Path=/; Max-Age=86400",
    ],
    "http://sp.test/logout": ["relay=; Path=/saml; Max-Age=0"],
}
URLS = [
    "http://sp.test/",
    "http://sp.test/api/me",
    "http://sp.test/saml",
    "http://sp.test/saml/acs?x=1",
    "http://sp.test/samlx",
    "https://sp.test/admin",
    "http://sp.test:8080/api/me",
    "https://idp.example.com/",
    "https://idp.example.com/login",
    "https://idp.example.com/login/form",
    "https://www.example.com/anything",
    "http://idp.example.com/login/",
    "http://other.test/",
    "http://sp.test/%7Eesc/aped",
]


def _setting(set_cookies: dict[str, list[str]]) -> httpx.MockTransport:
    def answer(request: httpx.Request) -> httpx.Response:
        for url, cookies in set_cookies.items():
            if str(request.url) == url:
                return httpx.Response(200, headers=[("set-cookie", c) for c in cookies])
        return httpx.Response(200, text="ok")

    return httpx.MockTransport(answer)


def _cookie_headers(client: httpx.Client) -> list[str | None]:
    return [client.build_request("GET", url).headers.get("cookie") for url in URLS]


@pytest.fixture
def policy_asked(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every URL http.cookiejar is asked a Cookie header for, by any jar."""
    asked: list[str] = []
    ask = http.cookiejar.CookieJar.add_cookie_header

    def counting(jar: http.cookiejar.CookieJar, request: object) -> None:
        asked.append(request.get_full_url())  # type: ignore[attr-defined]
        ask(jar, request)  # type: ignore[arg-type]

    monkeypatch.setattr(http.cookiejar.CookieJar, "add_cookie_header", counting)
    yield asked


def test_sends_the_cookies_httpx_sends_for_every_url_after_every_response() -> None:
    ours = HttpClient(transport=_setting(SET_COOKIES))
    theirs = httpx.Client(transport=_setting(SET_COOKIES))
    assert _cookie_headers(ours) == _cookie_headers(theirs) == [None] * len(URLS)
    for url in SET_COOKIES:
        ours.get(url)
        theirs.get(url)
        assert _cookie_headers(ours) == _cookie_headers(theirs), url
    # The run above sent something somewhere: the comparison is not between two empty jars.
    assert ours.build_request("GET", "http://sp.test/api/me").headers["cookie"] == "sp_session=abc"


def test_asks_the_policy_once_per_url_until_the_jar_changes(policy_asked: list[str]) -> None:
    client = HttpClient(transport=_setting(SET_COOKIES))
    client.get("http://sp.test/saml/acs")
    policy_asked.clear()
    for _ in range(5):
        client.get("http://sp.test/api/me")
        client.get("http://sp.test/admin")  # the same cookie paths match: the same answer
    assert len(policy_asked) == 1
    client.get("http://sp.test/saml/x")  # /saml matches here as well: another answer
    assert len(policy_asked) == 2
    client.get("http://sp.test/logout")  # deletes relay: the jar changed
    client.get("http://sp.test/saml/x")
    assert len(policy_asked) == 3
    assert client.build_request("GET", "http://sp.test/saml/x").headers["cookie"] == (
        "sp_session=abc"
    )


def test_a_cookie_set_or_deleted_through_the_mapping_is_sent_or_not() -> None:
    client = HttpClient(transport=_setting({}))
    assert "cookie" not in client.build_request("GET", "http://sp.test/").headers
    client.cookies.set("handed", "over", domain="sp.test")
    assert client.build_request("GET", "http://sp.test/").headers["cookie"] == "handed=over"
    client.cookies.delete("handed", domain="sp.test")
    assert "cookie" not in client.build_request("GET", "http://sp.test/").headers
    client.cookies = {"given": "1"}
    assert client.build_request("GET", "http://sp.test/").headers["cookie"] == "given=1"
    assert HttpClient(cookies={"at": "start"}).build_request("GET", "http://a.test/").headers[
        "cookie"
    ] == ("at=start")


def test_a_remembered_header_ends_when_a_cookie_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1_800_000_000.0]
    monkeypatch.setattr(http_client.time, "time", lambda: now[0])
    monkeypatch.setattr(http.cookiejar.time, "time", lambda: now[0])
    client = HttpClient(transport=_setting({"http://sp.test/set": ["brief=1; Max-Age=60"]}))
    client.get("http://sp.test/set")
    assert client.build_request("GET", "http://sp.test/x").headers["cookie"] == "brief=1"
    now[0] += 61
    assert "cookie" not in client.build_request("GET", "http://sp.test/x").headers


def test_a_cookie_header_given_is_kept_and_per_request_cookies_merge_as_in_httpx() -> None:
    ours = HttpClient(transport=_setting(SET_COOKIES))
    theirs = httpx.Client(transport=_setting(SET_COOKIES))
    for client in (ours, theirs):
        client.get("http://sp.test/saml/acs")
    for headers in ({"Cookie": "mine=1"}, {}):
        sent = [
            c.build_request("GET", "http://sp.test/", headers=headers).headers.get_list("cookie")
            for c in (ours, theirs)
        ]
        assert sent[0] == sent[1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # per-request cookies, in httpx
        sent = [
            c.build_request("GET", "http://sp.test/", cookies={"extra": "2"}).headers["cookie"]
            for c in (ours, theirs)
        ]
    assert sent[0] == sent[1]
    assert "extra=2" in sent[0]


def test_a_response_without_set_cookie_does_not_reach_the_jar(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    extracted: list[int] = []
    extract = http.cookiejar.CookieJar.extract_cookies
    monkeypatch.setattr(
        http.cookiejar.CookieJar,
        "extract_cookies",
        lambda jar, response, request: extracted.append(1) or extract(jar, response, request),
    )
    client = HttpClient(transport=_setting(SET_COOKIES))
    client.get("http://sp.test/api/me")
    assert extracted == []
    client.get("http://sp.test/saml/acs")
    assert extracted == [1]
    assert client.cookies["sp_session"] == "abc"
