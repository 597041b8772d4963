"""Hostile input at the reference SP's web side: the unauthenticated activation API (JSON only,
same site only, pending activations bounded per client and in all, expiring and pruned), bodies
capped before they are read (413 with a reason, memory flat even for 32 MB posted to a real
server), JSON nested too deep, pages that cannot be framed, and absolute URLs built from the
configured base URL whatever Host the request names."""

from __future__ import annotations

import os
import select
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import anyio
import httpx
import pytest
from sqlalchemy import func
from sqlalchemy import select as sql_select
from starlette.testclient import TestClient

from harness.protocol.saml import constants as c
from harness.protocol.saml.authn_request import parse_authn_request
from harness.protocol.saml.bindings import decode_redirect_query
from harness.protocol.xml import parse_xml
from reference_sp import activations as activation_service
from reference_sp.account_tables import activations
from reference_sp.activation_quota import PendingQuota
from reference_sp.activations import PENDING_LIFETIME, PENDING_PER_CLIENT
from reference_sp.app import ACTIVATION_LIMIT, FORM_LIMIT, SAML_POST_LIMIT
from reference_sp.html_headers import forbid_framing
from reference_sp.http import MAX_JSON_DEPTH, json_too_deep
from reference_sp.scim.discovery import MAX_PAYLOAD_BYTES
from tests.reference_sp.conftest import ADMINS, NOW, TOKEN, World, make_world
from tests.support.reference_process import free_port

USER = "dana@acme.test"
DEVICE = {"product": "Example Desktop", "clientVersion": "19.1", "deviceId": "laptop-1"}
SCIM_ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


@pytest.fixture
def world() -> Iterator[World]:
    yield from make_world("sqlite://")


def client_at(world: World, address: str) -> TestClient:
    """A browser or device at another client address (its own cookie jar)."""
    return TestClient(
        world.sp.app, base_url="http://sp.test", follow_redirects=False, client=(address, 40000)
    )


def start(http: TestClient, **headers: str) -> Any:
    return http.post("/api/activations", json=DEVICE, headers=headers)


def pending_rows(world: World) -> int:
    with world.sp.db.transaction() as conn:
        count = conn.execute(
            sql_select(func.count()).where(activations.c.status == "pending")
        ).scalar_one()
    return int(count)


def confirm(browser: TestClient, activation_url: str) -> Any:
    path = activation_url.removeprefix("http://sp.test")
    page = browser.get(path)
    assert page.status_code == 200, page.text
    csrf = page.text.split('name="csrf" value="')[1].split('"')[0]
    return browser.post(path, data={"csrf": csrf})


# ------------------------------------------------------------------- activations: who may


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", None],
)
def test_an_activation_is_started_with_json_only(world: World, content_type: str | None) -> None:
    """A cross-site HTML form can post text/plain without a CORS preflight: refused (415)."""
    headers = {"content-type": content_type} if content_type else {}
    answer = world.http.post(
        "/api/activations", content=httpx.Request("POST", "/", json=DEVICE).content, headers=headers
    )
    assert answer.status_code == 415, answer.text
    assert answer.json()["reason"] == "unsupported-media-type"
    assert pending_rows(world) == 0


@pytest.mark.parametrize(
    "content_type", ["application/json", "application/json; charset=utf-8", "application/x+json"]
)
def test_json_content_types_are_accepted(world: World, content_type: str) -> None:
    answer = world.http.post(
        "/api/activations",
        content=httpx.Request("POST", "/", json=DEVICE).content,
        headers={"content-type": content_type},
    )
    assert answer.status_code == 201, answer.text


@pytest.mark.parametrize(
    "headers",
    [
        {"sec-fetch-site": "cross-site"},
        {"origin": "http://evil.test"},
        {"origin": "null"},  # sandboxed frames and file: pages
        {"origin": "http://sp.test:8080"},
        {"origin": "https://sp.test"},
        {"origin": "http://sp.test:99999"},  # not even a port
        {"origin": "http://sp.test", "sec-fetch-site": "cross-site"},
    ],
)
def test_cross_site_starts_are_refused(world: World, headers: dict[str, str]) -> None:
    answer = start(world.http, **headers)
    assert answer.status_code == 403, answer.text
    assert answer.json()["reason"] == "cross-site"
    assert pending_rows(world) == 0


@pytest.mark.parametrize(
    "headers",
    [
        {},  # a desktop client, the harness (harness.observe.activate_device): no Origin
        {"origin": "http://sp.test"},
        {"origin": "HTTP://SP.TEST:80"},
        {"sec-fetch-site": "same-origin"},
        {"sec-fetch-site": "none"},
    ],
)
def test_same_site_and_non_browser_starts_pass(world: World, headers: dict[str, str]) -> None:
    assert start(world.http, **headers).status_code == 201


def test_the_harness_client_starts_activations(world: World) -> None:
    """Exactly as harness.observe.activate_device does it: httpx, json=, no Origin."""
    transport = httpx.ASGITransport(app=world.sp.app)

    async def post() -> httpx.Response:
        async with httpx.AsyncClient(transport=transport, base_url="http://sp.test") as http:
            return await http.post("/api/activations", json=DEVICE)

    assert anyio.run(post).status_code == 201


# ------------------------------------------------------------- activations: how many, how long


def test_pending_activations_expire_and_are_pruned(world: World) -> None:
    first = start(world.http).json()
    assert first["expires"] == "2026-03-01T12:10:00.000000Z"  # ten minutes
    world.clock.freeze(NOW + PENDING_LIFETIME + timedelta(seconds=1))
    assert world.http.get(f"/api/activations/{first['id']}").json()["status"] == "expired"
    assert start(world.http).status_code == 201  # each start prunes what expired
    assert pending_rows(world) == 1
    gone = world.http.get(f"/api/activations/{first['id']}")
    assert gone.status_code == 404 and gone.json()["reason"] == "unknown-activation"
    page = world.http.get(urlsplit(first["activationUrl"]).path)
    assert page.status_code == 404 and "unknown-activation" in page.text


def test_pending_activations_per_client_are_capped(world: World) -> None:
    for _ in range(PENDING_PER_CLIENT):
        assert start(world.http).status_code == 201
    refused = start(world.http)
    assert refused.status_code == 429
    assert refused.json()["reason"] == "too-many-pending-activations"
    assert "100 activations waiting to be confirmed" in refused.json()["message"]
    assert int(refused.headers["retry-after"]) == 601  # the first one's expiry
    assert pending_rows(world) == PENDING_PER_CLIENT
    with client_at(world, "192.0.2.7") as other:  # another client is not held up
        assert start(other).status_code == 201
    world.clock.freeze(NOW + PENDING_LIFETIME + timedelta(seconds=1))
    assert start(world.http).status_code == 201  # expired ones stop counting
    assert pending_rows(world) == 1


def test_confirmed_activations_stop_counting(world: World) -> None:
    world.provision(USER)
    world.sign_in(USER)
    started = [start(world.http).json() for _ in range(PENDING_PER_CLIENT)]
    assert start(world.http).status_code == 429
    assert confirm(world.http, started[0]["activationUrl"]).status_code == 303
    assert start(world.http).status_code == 201
    assert start(world.http).status_code == 429


def test_pending_activations_in_all_are_capped(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(activation_service, "PENDING_IN_ALL", 3)
    for n in range(3):
        with client_at(world, f"192.0.2.{n}") as device:
            assert start(device).status_code == 201
    with client_at(world, "198.51.100.1") as device:
        refused = start(device)
    assert refused.status_code == 429, refused.text
    assert refused.json()["reason"] == "too-many-pending-activations"
    assert pending_rows(world) == 3


def test_the_clients_remembered_are_bounded() -> None:
    quota = PendingQuota(per_client=2, max_clients=3)
    for n in range(10):
        quota.add(f"client-{n}", f"a{n}", "2026-03-01T12:10:00.000000Z")
    assert len(quota) == 3
    quota.add("c", "a", "2026-03-01T12:10:00.000000Z")
    quota.add("c", "b", "2026-03-01T12:10:00.000000Z")
    now = "2026-03-01T12:00:00.000000Z"
    assert not quota.admits("c", now, lambda ids: ids)
    assert quota.admits("c", now, lambda ids: ids[:1])  # one was confirmed meanwhile
    assert quota.admits("c", "2026-03-01T12:10:00.000001Z", lambda ids: ids)  # expired


# ------------------------------------------------------------------------------ deep JSON


def test_deep_json_is_a_400_with_a_reason(world: World) -> None:
    """Valid JSON, within the size cap, deep enough for a RecursionError (a 500 before)."""
    deep = MAX_JSON_DEPTH + 1
    for body in (
        b"[" * 5000 + b"]" * 5000,
        b'{"a":' * 2000 + b"1" + b"}" * 2000,
        b'{"a":' * deep + b"1" + b"}" * deep,
    ):
        assert len(body) <= ACTIVATION_LIMIT
        answer = world.http.post("/api/activations", content=body, headers=_JSON)
        assert answer.status_code == 400, answer.text
        assert f"nests deeper than {MAX_JSON_DEPTH} levels" in answer.json()["message"]


def test_the_depth_limit_counts_only_real_nesting() -> None:
    assert not json_too_deep(b'{"a": "[[[[[[", "b": "\\\\", "c": [1]}', 2)
    assert not json_too_deep(b'["\\"[[[["]', 1)
    assert json_too_deep(b"[" * (MAX_JSON_DEPTH + 1))
    assert not json_too_deep(b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH)
    started = time.perf_counter()
    assert not json_too_deep(b'"\\"' * 300_000)  # no backtracking on escapes
    assert time.perf_counter() - started < 2


# ----------------------------------------------------------------------------- body limits

_JSON = {"content-type": "application/json"}
_FORM = {"content-type": "application/x-www-form-urlencoded"}
_SCIM = {"content-type": "application/scim+json", "authorization": f"Bearer {TOKEN}"}
BODY_ROUTES = [
    ("/saml/acs", SAML_POST_LIMIT, _FORM),
    ("/saml/slo", SAML_POST_LIMIT, _FORM),
    ("/api/activations", ACTIVATION_LIMIT, _JSON),
    ("/logout", FORM_LIMIT, _FORM),
    ("/activate/some-code", FORM_LIMIT, _FORM),
    ("/scim/v2/Users", MAX_PAYLOAD_BYTES, _SCIM),
    ("/scim/v2/Bulk", MAX_PAYLOAD_BYTES, _SCIM),
]


def _chunks(size: int, chunk: int = 65_536) -> Iterator[bytes]:
    while size > 0:
        yield b"a" * min(chunk, size)
        size -= chunk


def _assert_too_large(answer: Any, path: str, limit: int) -> None:
    assert answer.status_code == 413, answer.text[:300]
    if path.startswith("/scim/"):
        body = answer.json()
        assert body["schemas"] == [SCIM_ERROR] and body["status"] == "413"
        assert str(limit) in body["detail"]
    elif path.startswith("/api/"):
        assert answer.json()["reason"] == "too-large"
        assert str(limit) in answer.json()["message"]
    else:
        assert "too-large" in answer.text and str(limit) in answer.text


@pytest.mark.parametrize(("path", "limit", "headers"), BODY_ROUTES)
def test_a_body_just_over_the_limit_is_a_413(
    world: World, path: str, limit: int, headers: dict[str, str]
) -> None:
    declared = world.http.post(path, content=b"a" * (limit + 1), headers=headers)
    _assert_too_large(declared, path, limit)
    chunked = world.http.post(path, content=_chunks(limit + 1), headers=headers)
    assert "content-length" not in chunked.request.headers
    _assert_too_large(chunked, path, limit)
    at_limit = world.http.post(path, content=_chunks(limit), headers=headers)
    assert at_limit.status_code not in (413, 500), at_limit.text[:300]


def test_acs_413_is_json_when_asked(world: World) -> None:
    answer = world.http.post(
        "/saml/acs",
        content=b"a" * (SAML_POST_LIMIT + 1),
        headers=_FORM | {"accept": "application/json"},
    )
    assert answer.status_code == 413
    assert answer.json()["reason"] == "too-large"


def test_a_large_signed_response_still_fits(world: World) -> None:
    """The cap leaves room for the largest message the core accepts, encoded."""
    world.provision(USER)
    assert len(world.response_for(USER).fields["SAMLResponse"]) < SAML_POST_LIMIT // 10
    world.sign_in(USER)


def test_bodies_on_other_routes_are_capped_too(world: World) -> None:
    answer = world.http.request("GET", "/", content=_chunks(FORM_LIMIT + 1))
    assert answer.status_code == 413


@pytest.fixture(scope="module")
def sp_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    """`sso-harness sp` on a real socket: (base URL, process id), for measuring its memory."""
    tmp = tmp_path_factory.mktemp("sp")
    port = free_port()
    log = (tmp / "sp.log").open("wb")
    server = subprocess.Popen(
        [
            *(sys.executable, "-m", "harness", "sp", "--port", str(port)),
            *("--scim-token", TOKEN, "--db", f"sqlite:///{tmp / 'sp.sqlite3'}"),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "SSO_HARNESS_HOME": str(tmp / "home")},
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError(f"sso-harness sp did not start: {Path(log.name).read_text()}")
            time.sleep(0.1)
        yield base, server.pid
    finally:
        server.terminate()
        server.wait(timeout=10)
        log.close()


def _http_chunks(size: int) -> Iterator[bytes]:
    """``size`` bytes in HTTP/1.1 chunked framing, the last chunk included."""
    for chunk in _chunks(size):
        yield b"%x\r\n%s\r\n" % (len(chunk), chunk)
    yield b"0\r\n\r\n"


def _peak_rss_kib(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("VmHWM:")).split()[1])


def _post_raw(port: int, head: bytes, body: Iterator[bytes]) -> int:
    """Send ``head`` then as much of ``body`` as the server takes, reading all the while (a
    server that answers early and closes would otherwise reset the connection before its
    answer is read); the status of the answer."""
    received = b""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head)
        sock.setblocking(False)
        pending = next(body, b"")
        deadline = time.monotonic() + 30
        while b"\r\n" not in received and time.monotonic() < deadline:
            readable, writable, _ = select.select([sock], [sock] if pending else [], [], 1)
            if readable:
                try:
                    data = sock.recv(65_536)
                except ConnectionResetError:
                    break
                if not data:
                    break
                received += data
            if writable and pending:
                try:
                    sent = sock.send(pending)
                except (BrokenPipeError, ConnectionResetError, BlockingIOError):
                    pending = b""
                    continue
                pending = pending[sent:] or next(body, b"")
    return int(received.split(b" ", 2)[1]) if received.startswith(b"HTTP/1.1 ") else 0


BIG = 32 * 1024 * 1024


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/api/activations", "application/json"),
        ("/saml/acs", "application/x-www-form-urlencoded"),
        ("/scim/v2/Users", "application/scim+json"),
        ("/logout", "application/x-www-form-urlencoded"),
    ],
)
@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_a_huge_body_costs_a_real_server_no_memory(
    sp_process: tuple[str, int], path: str, content_type: str, framing: str
) -> None:
    """Before the caps, 200 MB to /api/activations cost +573 MB of RSS."""
    base, pid = sp_process
    port = int(base.rsplit(":", 1)[1])
    before = _peak_rss_kib(pid)
    head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}\r\n"
    head += f"Authorization: Bearer {TOKEN}\r\n"
    if framing == "content-length":
        head += f"Content-Length: {200 * 1024 * 1024}\r\n\r\n"
        body = _chunks(BIG)
    else:
        head += "Transfer-Encoding: chunked\r\n\r\n"
        body = _http_chunks(BIG)
    assert _post_raw(port, head.encode(), body) == 413
    grown = _peak_rss_kib(pid) - before
    assert grown < 8 * 1024, f"peak RSS grew by {grown} KiB"


# -------------------------------------------------------------------------------- framing


def _unframeable(answer: Any) -> None:
    assert answer.headers["content-type"].startswith("text/html"), answer.headers
    assert answer.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]


def test_every_html_page_refuses_framing(world: World) -> None:
    admin = world.provision(USER, groups=(ADMINS,))
    _unframeable(world.http.get("/"))  # landing
    _unframeable(world.http.get("/saml/login", params={"email": "x@nowhere.test"}))
    _unframeable(world.http.post("/saml/acs", data={"SAMLResponse": "???"}))  # error page
    _unframeable(world.http.post("/saml/acs", content=_chunks(SAML_POST_LIMIT + 1)))  # 413
    # The "signing you in" page: a response to this browser's request, posted without its
    # cookie (SameSite=Lax on plain HTTP), is posted again from here.
    message = world.response_for(USER)
    with client_at(world, "192.0.2.9") as cookieless:
        resubmit = cookieless.post("/saml/acs", data=message.fields)
    assert "sp_resubmitted" in resubmit.text
    _unframeable(resubmit)
    world.sign_in(USER)
    _unframeable(world.http.get("/account"))
    _unframeable(world.http.get("/admin"))
    activation = start(world.http).json()
    _unframeable(world.http.get(urlsplit(activation["activationUrl"]).path))
    _unframeable(world.http.post("/logout", data={"csrf": "wrong"}))  # 403 page
    world.remove_from_group(ADMINS, admin["id"])
    _unframeable(world.http.get("/admin"))  # 403 page
    # The signed-out page, at the end of single logout.
    page = world.http.get("/account").text
    csrf = page.split('name="csrf" value="')[1].split('"')[0]
    location = world.http.post("/logout", data={"csrf": csrf}).headers["location"]
    reply = world.idp.receive_slo(c.BINDING_HTTP_REDIRECT, query=urlsplit(location).query)
    assert reply is not None
    signed_out = world.http.get(f"/saml/slo?{urlsplit(reply.url).query}")
    assert "signed out" in signed_out.text
    _unframeable(signed_out)


def test_framing_headers_keep_a_page_own_policy() -> None:
    from starlette.datastructures import MutableHeaders

    headers = MutableHeaders(
        raw=[
            (b"content-type", b"text/html; charset=utf-8"),
            (b"content-security-policy", b"default-src 'self';"),
        ]
    )
    forbid_framing(headers)
    assert headers["content-security-policy"] == "default-src 'self'; frame-ancestors 'none'"
    json_headers = MutableHeaders(raw=[(b"content-type", b"application/json")])
    forbid_framing(json_headers)
    assert "x-frame-options" not in json_headers


# ------------------------------------------------------------------- URLs from the base URL

FORGED = {"host": "evil.test", "x-forwarded-host": "evil.test", "x-forwarded-proto": "https"}


def _clean(answer: Any) -> None:
    for name, value in answer.headers.items():
        assert "evil.test" not in value, (name, value)
    assert "evil.test" not in answer.text


def test_absolute_urls_come_from_the_base_url_not_the_host(world: World) -> None:
    metadata = world.http.get("/saml/metadata", headers=FORGED)
    _clean(metadata)
    root = parse_xml(metadata.content)
    assert root.get("entityID") == "http://sp.test/saml/metadata"
    acs = root.find(f".//{c.q(c.MD, 'AssertionConsumerService')}")
    assert acs is not None and acs.get("Location") == "http://sp.test/saml/acs"

    login = world.http.get("/saml/login", params={"email": USER}, headers=FORGED)
    _clean(login)
    redirect = decode_redirect_query(urlsplit(login.headers["location"]).query)
    authn = parse_authn_request(redirect.message)
    assert authn.acs_url == "http://sp.test/saml/acs"
    assert authn.issuer == "http://sp.test/saml/metadata"

    activation = world.http.post("/api/activations", json=DEVICE, headers=FORGED)
    _clean(activation)
    assert activation.json()["activationUrl"].startswith("http://sp.test/activate/")
    assert activation.json()["checkInUrl"].startswith("http://sp.test/api/activations/")

    for path in ("/account", "/admin", urlsplit(activation.json()["activationUrl"]).path):
        to_sign_in = world.http.get(path, headers=FORGED)
        assert to_sign_in.status_code == 303
        assert to_sign_in.headers["location"].startswith("/?RelayState=/")  # relative
    _clean(world.http.get("/", headers=FORGED))


def test_signed_in_pages_and_redirects_ignore_the_host(world: World) -> None:
    world.provision(USER, groups=(ADMINS,))
    message = world.response_for(USER)
    with client_at(world, "192.0.2.9") as cookieless:
        resubmit = cookieless.post("/saml/acs", data=message.fields, headers=FORGED)
    _clean(resubmit)
    assert 'action="http://sp.test/saml/acs"' in resubmit.text
    signed_in = world.http.post("/saml/acs", data=message.fields, headers=FORGED)
    assert signed_in.status_code == 303 and signed_in.headers["location"] == "/account"
    for path in ("/account", "/admin", "/api/me"):
        _clean(world.http.get(path, headers=FORGED))
    csrf = world.http.get("/account").text.split('name="csrf" value="')[1].split('"')[0]
    logout = world.http.post("/logout", data={"csrf": csrf}, headers=FORGED)
    assert logout.headers["location"].startswith(world.idp.slo_url)
    query = parse_qs(urlsplit(logout.headers["location"]).query)
    logout_request = decode_redirect_query(urlsplit(logout.headers["location"]).query).message
    assert b"evil.test" not in logout_request and "SAMLRequest" in query
    assert b"http://sp.test/saml/metadata" in logout_request
