"""`sso-harness idp` as a shared test double under hostile input, over HTTP: the control API is
not drivable by other web pages or strangers, idp-init needs a password unless asked not to,
rule regexes cannot stall the IdP, state and bodies are bounded, malformed input is a 4xx, and
no page can be framed."""

from __future__ import annotations

import argparse
import datetime as dt
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from harness.protocol.keys import KeyPair, load_key_pair
from mock_idp import cli
from mock_idp.api_common import MAX_BODY
from mock_idp.app import create_app
from mock_idp.clock import Clock
from mock_idp.idp import MockIdP
from mock_idp.journal import Journal
from mock_idp.sessions import SessionStore

from ..mock_idp.fake_sp import FakeSP

pytestmark = pytest.mark.anyio

KEYS = Path(__file__).parents[1] / "samples" / "saml" / "keys"
BASE = "http://idp.test"
NOW = dt.datetime(2026, 3, 1, 12, 0, 0, tzinfo=dt.UTC)
JSON = {"content-type": "application/json"}
SP = FakeSP()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def key() -> KeyPair:
    return load_key_pair((KEYS / "idp.key").read_bytes(), (KEYS / "idp.crt").read_bytes())


def make_idp(key: KeyPair, **options: object) -> MockIdP:
    clock = Clock()
    clock.freeze(NOW)
    idp = MockIdP(BASE, signing_keys=[key], seed=1, clock=clock, **options)  # type: ignore[arg-type]
    idp.register_sp_metadata(SP.metadata())
    idp.add_user("alice@example.com", password="alice-pw", email="alice@example.com")
    return idp


@pytest.fixture
def idp(key: KeyPair) -> MockIdP:
    return make_idp(key)


def client_for(idp: MockIdP) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(idp)), base_url=BASE)


@pytest.fixture
async def client(idp: MockIdP) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(idp) as http:
        yield http


ADMIN = {"userName": "mallory@evil.test", "password": "x", "groups": ["Business Account Admins"]}
NAMEID_RULE = {"set": {"name_id": "ceo@example.com"}}


# 1. The control API cannot be driven by any web page -------------------------------------


async def test_a_text_plain_body_is_415_and_changes_nothing(
    client: httpx.AsyncClient, idp: MockIdP
) -> None:
    # What a cross-origin <form enctype=text/plain> or no-cors fetch sends: no preflight.
    for path, body in (("/api/users", ADMIN), ("/api/rules", NAMEID_RULE)):
        answer = await client.post(
            path,
            content=httpx.Request("POST", BASE, json=body).content,
            headers={"content-type": "text/plain"},
        )
        assert answer.status_code == 415, answer.text
        assert answer.json()["reason"] == "bad-content-type"
    flaws = await client.put(
        "/api/flaws",
        content=b'{"enabled": ["no-destination"]}',
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert flaws.status_code == 415
    assert idp.directory.get_user("mallory@evil.test") is None
    assert idp.rules.all() == [] and not idp.flaws


@pytest.mark.parametrize(
    "headers",
    [
        {"origin": "https://evil.test"},
        {"origin": "null"},
        {"origin": "http://idp.test.evil.test"},
        {"sec-fetch-site": "cross-site"},
        {"sec-fetch-site": "same-site"},
    ],
)
async def test_a_cross_origin_write_is_403(
    client: httpx.AsyncClient, idp: MockIdP, headers: dict[str, str]
) -> None:
    answer = await client.post("/api/users", json=ADMIN, headers=headers)
    assert answer.status_code == 403 and answer.json()["reason"] == "cross-origin"
    reset = await client.post("/api/reset", headers=headers)
    assert reset.status_code == 403
    assert idp.directory.get_user("mallory@evil.test") is None
    assert idp.directory.get_user("alice@example.com") is not None


async def test_same_origin_writes_and_cross_origin_reads_still_work(
    client: httpx.AsyncClient, idp: MockIdP
) -> None:
    own = await client.post(
        "/api/users",
        json={"userName": "zoe@example.com"},
        headers={"origin": BASE, "sec-fetch-site": "same-origin"},
    )
    assert own.status_code == 201
    # A read is harmless without CORS headers: the other page cannot see the answer.
    read = await client.get("/api/users", headers={"origin": "https://evil.test"})
    assert read.status_code == 200 and "access-control-allow-origin" not in read.headers


async def test_with_a_token_every_api_request_needs_it(key: KeyPair) -> None:
    idp = make_idp(key, api_token="s3cret-token")
    async with client_for(idp) as http:
        assert (await http.get("/api/users")).status_code == 401
        wrong = await http.post("/api/users", json=ADMIN, headers={"authorization": "Bearer nope"})
        assert wrong.status_code == 401 and wrong.headers["www-authenticate"] == "Bearer"
        right = {"authorization": "Bearer s3cret-token"}
        assert (await http.get("/api/users", headers=right)).status_code == 200
        assert (await http.post("/api/users", json=ADMIN, headers=right)).status_code == 201
        # The SAML side is for browsers and stays open.
        assert (await http.get("/saml/metadata")).status_code == 200


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    return parser.parse_args(["--demo-users", "0", *argv])


def test_the_cli_sets_or_generates_the_token_and_refuses_a_weak_one() -> None:
    idp, _ = cli.build(parse("--api-token", "given-token-1"))
    assert idp.api_token == "given-token-1"
    auto, _ = cli.build(parse("--api-token", "auto"))
    other, _ = cli.build(parse("--api-token", "auto"))
    assert auto.api_token and len(auto.api_token) >= 24 and auto.api_token != other.api_token
    assert cli.build(parse())[0].api_token is None
    with pytest.raises(cli.ConfigError, match="at least 8"):
        cli.build(parse("--api-token", "short"))


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data",
        "http://internal.corp.test/scim/v2",
        "http://10.0.0.5:8080/scim",
        "https://127.0.0.1.nip.io/scim",
    ],
)
async def test_provisioning_targets_beyond_loopback_are_403_with_the_reason(
    client: httpx.AsyncClient, idp: MockIdP, url: str
) -> None:
    target = {"scim_url": url, "token": "t"}
    put = await client.put("/api/provision/target", json=target)
    assert put.status_code == 403, put.text
    assert put.json()["reason"] == "target-not-allowed"
    assert "--allow-provision-to" in put.json()["message"]
    run = await client.post("/api/provision", json={"target": target})
    assert run.status_code == 403
    assert idp.provisioning.target is None


async def test_loopback_and_allowed_hosts_are_accepted(key: KeyPair) -> None:
    idp = make_idp(key, provision_allowed_hosts=["SCIM.Example.test"])
    async with client_for(idp) as http:
        for url in (
            "http://127.0.0.1:8001/scim/v2",
            "http://[::1]:8001/scim/v2",
            "http://localhost:8001/scim/v2",
            "https://scim.example.test/scim/v2",
        ):
            answer = await http.put("/api/provision/target", json={"scim_url": url})
            assert answer.status_code == 200, (url, answer.text)
        refused = await http.put("/api/provision/target", json={"scim_url": "http://x.test/s"})
        assert refused.status_code == 403


def test_the_cli_passes_allowed_provisioning_hosts() -> None:
    idp, _ = cli.build(parse("--allow-provision-to", "a.test", "--allow-provision-to", "b.test"))
    assert idp.provision_allowed_hosts == {"a.test", "b.test"}


# 2. IdP-initiated sign-in needs a password unless asked not to -------------------------


async def test_idp_init_with_a_user_shows_the_login_form_by_default(
    client: httpx.AsyncClient, idp: MockIdP
) -> None:
    answer = await client.get(
        "/saml/idp-init", params={"sp": SP.entity_id, "user": "alice@example.com"}
    )
    assert answer.status_code == 200
    assert "SAMLResponse" not in answer.text and 'name="password"' in answer.text
    assert 'value="alice@example.com"' in answer.text  # the name is kept as a hint
    assert len(idp.sessions) == 0 and "mock_idp_session" not in answer.cookies
    assert idp.journal.entries(kind="Response") == []


async def test_idp_init_answers_at_once_for_the_browser_holding_that_users_session(
    client: httpx.AsyncClient,
) -> None:
    page = await client.get(
        "/saml/idp-init", params={"sp": SP.entity_id, "user": "alice@example.com"}
    )
    handle = page.text.split('name="login" value="')[1].split('"')[0]
    signed_in = await client.post(
        "/saml/sso",
        data={"login": handle, "username": "alice@example.com", "password": "alice-pw"},
    )
    assert "SAMLResponse" in signed_in.text
    again = await client.get(
        "/saml/idp-init", params={"sp": SP.entity_id, "user": "ALICE@example.com"}
    )
    assert "SAMLResponse" in again.text
    # Someone else's name, even with a live session here: the form, not alice's assertion.
    other = await client.get("/saml/idp-init", params={"sp": SP.entity_id, "user": "bob@x.test"})
    assert "SAMLResponse" not in other.text and 'value="bob@x.test"' in other.text


async def test_passwordless_idp_init_is_opt_in(key: KeyPair) -> None:
    idp = make_idp(key, allow_passwordless_idp_init=True)
    async with client_for(idp) as http:
        answer = await http.get(
            "/saml/idp-init", params={"sp": SP.entity_id, "user": "alice@example.com"}
        )
        assert "SAMLResponse" in answer.text
    assert cli.build(parse("--allow-passwordless-idp-init"))[0].allow_passwordless_idp_init
    assert not cli.build(parse())[0].allow_passwordless_idp_init


# 3. ReDoS ------------------------------------------------------------------------------


async def test_the_redos_probe_is_refused_at_the_api_and_answers_fast(
    client: httpx.AsyncClient, idp: MockIdP
) -> None:
    started = time.monotonic()
    rule = await client.post(
        "/api/rules", json={"match": {"relay_state": "re:^(a+)+$"}, **NAMEID_RULE}
    )
    assert rule.status_code == 422 and "nested" in rule.json()["message"]
    passwordless = make_idp(idp.signing_key, allow_passwordless_idp_init=True)
    async with client_for(passwordless) as http:
        for pattern in ("re:a*a*a*b", "re:(a)\\1", "re:(a|aa)*b", "re:a*a*a*a*b"):
            await http.post("/api/rules", json={"match": {"relay_state": pattern}, **NAMEID_RULE})
        [kept] = passwordless.rules.all()  # only the polynomial, 3-repeat one was admitted
        assert kept.match.relay_state == "re:a*a*a*b"
        for relay_state in ("a" * 40 + "!", "a" * 5000 + "!"):
            answer = await http.get(
                "/saml/idp-init",
                params={"sp": SP.entity_id, "user": "alice@example.com", "RelayState": relay_state},
            )
            assert answer.status_code == 200
    assert time.monotonic() - started < 5


# 4. Unbounded growth --------------------------------------------------------------------


def test_sessions_expire_are_pruned_and_capped() -> None:
    store = SessionStore(limit=100)
    hour = dt.timedelta(hours=1)
    for i in range(50):
        store.create(f"u{i}", NOW, f"_{i}", hour)
    assert len(store) == 50
    later = NOW + 2 * hour
    store.create("late", later, "_late", hour)
    assert len(store) == 1  # the 50 expired ones went at the next sign-in
    for i in range(500):
        store.create(f"v{i}", later, f"_v{i}", hour)
    assert len(store) == 100
    assert [s.user_name for s in store.all()][-1] == "v499"


async def test_80k_unauthenticated_idp_init_visits_keep_no_session(
    client: httpx.AsyncClient, idp: MockIdP
) -> None:
    for _ in range(200):  # the hostile case in small: none of these makes a session
        await client.get("/saml/idp-init", params={"sp": SP.entity_id, "user": "alice@example.com"})
    assert len(idp.sessions) == 0


class Streamed(httpx.AsyncByteStream):
    """A body sent in chunks with no Content-Length: counts how much the server pulled."""

    def __init__(self, chunks: int, size: int = 1 << 20) -> None:
        self.chunks, self.size, self.sent = chunks, size, 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for _ in range(self.chunks):
            self.sent += 1
            yield b"[" * self.size


@pytest.mark.parametrize("path", ["/api/users", "/api/sps", "/api/rules"])
async def test_a_huge_body_is_413_before_it_is_read(client: httpx.AsyncClient, path: str) -> None:
    declared = await client.post(
        path, content=b"{}", headers={**JSON, "content-length": str(300 * 1024 * 1024)}
    )
    assert declared.status_code == 413 and declared.json()["reason"] == "too-large"
    stream = Streamed(chunks=300)
    answer = await client.post(path, content=stream, headers=JSON)
    assert answer.status_code == 413 and "bytes" in answer.json()["message"]
    assert stream.sent <= MAX_BODY // stream.size + 2  # stopped reading at the cap


async def test_a_huge_saml_form_is_413(client: httpx.AsyncClient) -> None:
    stream = Streamed(chunks=300)
    answer = await client.post(
        "/saml/sso",
        content=stream,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert answer.status_code == 413 and stream.sent <= 4


def test_the_journal_is_bounded_in_entries_and_in_message_size() -> None:
    journal = Journal(limit=50, max_chars=10_000)
    for _ in range(100):
        journal.record(time=NOW, direction="in", kind="X", binding=None, sp=None, xml="x" * 10)
    assert len(journal.entries()) == 50
    for _ in range(10):
        journal.record(time=NOW, direction="in", kind="X", binding=None, sp=None, xml="y" * 3000)
    kept = journal.entries()
    assert sum(len(e.xml or "") for e in kept) <= 10_000
    assert kept[-1].seq == 110


async def test_the_plan_and_the_rules_are_capped(client: httpx.AsyncClient) -> None:
    from mock_idp.plan import MAX_PLAN_ENTRIES, MAX_RULES

    for _ in range(MAX_PLAN_ENTRIES):
        assert (await client.post("/api/plan", json={"mutators": ["sha1"]})).status_code == 201
    full = await client.post("/api/plan", json={"mutators": ["sha1"]})
    assert full.status_code == 409 and full.json()["reason"] == "full"
    for _ in range(MAX_RULES):
        await client.post("/api/rules", json=NAMEID_RULE)
    assert (await client.post("/api/rules", json=NAMEID_RULE)).status_code == 409


# 5. Malformed input is a 4xx ------------------------------------------------------------

BODY_ENDPOINTS = [
    ("POST", "/api/users"),
    ("PUT", "/api/users/alice@example.com"),
    ("PATCH", "/api/users/alice@example.com"),
    ("POST", "/api/groups"),
    ("PATCH", "/api/groups/Admins"),
    ("POST", "/api/groups/Admins/members"),
    ("POST", "/api/sps"),
    ("PATCH", f"/api/sps?entityID={SP.entity_id}"),
    ("PUT", "/api/clock"),
    ("POST", "/api/plan"),
    ("POST", "/api/rules"),
    ("PUT", "/api/flaws"),
    ("PATCH", "/api/settings"),
    ("POST", "/api/keys"),
    ("PUT", "/api/provision/target"),
    ("POST", "/api/provision"),
]


@pytest.mark.parametrize(("method", "path"), BODY_ENDPOINTS)
async def test_deep_json_is_400_on_every_endpoint(
    client: httpx.AsyncClient, idp: MockIdP, method: str, path: str
) -> None:
    idp.directory.add_group("Admins")
    for depth in (100_000, 40):
        deep = b"[" * depth + b"]" * depth
        answer = await client.request(method, path, content=deep, headers=JSON)
        assert answer.status_code == 400, (depth, answer.text)
        assert answer.json()["reason"] == "too-deep"
    nested = b'{"a":' * 5000 + b"1" + b"}" * 5000
    assert (await client.request(method, path, content=nested, headers=JSON)).status_code == 400


@pytest.mark.parametrize(
    "clock",
    [
        {"offset_seconds": -(10**12)},
        {"offset_seconds": 10**12},
        {"frozen_at": "9999-12-31T23:59:59Z"},
        {"frozen_at": "0001-01-01T00:00:00Z"},
        {"frozen_at": "2030-01-01T00:00:00"},
    ],
)
async def test_an_insane_clock_is_422_and_the_idp_keeps_working(
    client: httpx.AsyncClient, clock: dict[str, object]
) -> None:
    answer = await client.put("/api/clock", json=clock)
    assert answer.status_code == 422, answer.text
    assert (await client.get("/api/clock")).status_code == 200
    page = await client.get("/saml/idp-init", params={"sp": SP.entity_id})
    assert page.status_code == 200


async def test_the_widest_allowed_clock_still_signs_responses(key: KeyPair) -> None:
    idp = make_idp(key, allow_passwordless_idp_init=True)
    async with client_for(idp) as http:
        for clock in (
            {"frozen_at": "2999-12-31T00:00:00Z", "offset_seconds": 3_162_240_000},
            {"frozen_at": "1971-01-01T00:00:00Z", "offset_seconds": -3_162_240_000},
        ):
            assert (await http.put("/api/clock", json=clock)).status_code == 200
            await http.post(
                "/api/plan",
                json={"mutators": [{"name": "expired", "params": {"seconds": 3_162_240_000}}]},
            )
            answer = await http.get(
                "/saml/idp-init", params={"sp": SP.entity_id, "user": "alice@example.com"}
            )
            assert answer.status_code == 200 and "SAMLResponse" in answer.text, answer.text


@pytest.mark.parametrize(
    "mutator",
    [
        {"name": "expired", "params": {"seconds": "soon"}},
        {"name": "expired", "params": {"seconds": 10**15}},
        {"name": "expired", "params": {"seconds": True}},
        {"name": "wrong-audience", "params": {"audience": 7}},
        {"name": "wrong-audience", "params": {"audience": ["a"]}},
        {"name": "status", "params": {"keep_assertion": "yes"}},
        {"name": "corrupt-signature", "params": {"which": "both"}},
    ],
)
async def test_a_mutator_parameter_of_the_wrong_type_is_422_and_breaks_nothing(
    key: KeyPair, mutator: dict[str, object]
) -> None:
    idp = make_idp(key, allow_passwordless_idp_init=True)
    async with client_for(idp) as http:
        planned = await http.post("/api/plan", json={"mutators": [mutator]})
        assert planned.status_code == 422, planned.text
        rule = await http.post("/api/rules", json={"set": {"mutators": [mutator]}})
        assert rule.status_code == 422
        answer = await http.get(
            "/saml/idp-init", params={"sp": SP.entity_id, "user": "alice@example.com"}
        )
        assert answer.status_code == 200 and "SAMLResponse" in answer.text


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b'{"userName": "nul\\u0000@example.com"}', 400),
        (b'{"userName": "bell\\u0007@example.com"}', 400),
        (b'{"userName": "lone\\ud800@example.com"}', 400),
        (b'{"userName": "x@example.com", "givenName": "\\udfff"}', 400),
        (b'{"userName": "tab\\t@example.com"}', 422),
        (b'{"userName": "nl\\n@example.com"}', 422),
        (b'{"userName": " padded@example.com"}', 422),
        (b'{"userName": "c1\\u0085@example.com"}', 422),
    ],
)
async def test_unstorable_user_names_are_refused_and_the_list_still_answers(
    client: httpx.AsyncClient, body: bytes, status: int
) -> None:
    answer = await client.post("/api/users", content=body, headers=JSON)
    assert answer.status_code == status, answer.text
    listed = await client.get("/api/users")
    assert listed.status_code == 200
    assert [u["userName"] for u in listed.json()["users"]] == ["alice@example.com"]


# 6. Framing -----------------------------------------------------------------------------


async def test_every_html_page_refuses_to_be_framed(key: KeyPair) -> None:
    idp = make_idp(key, allow_passwordless_idp_init=True)
    async with client_for(idp) as http:
        pages = {
            "home": await http.get("/"),
            "login": await http.get("/saml/idp-init", params={"sp": SP.entity_id}),
            "error": await http.get("/saml/sso"),
            "not found": await http.get("/nowhere"),
            "signed out": await http.get("/saml/logout"),
            "saml form": await http.get(
                "/saml/idp-init", params={"sp": SP.entity_id, "user": "alice@example.com"}
            ),
        }
    assert "SAMLResponse" in pages["saml form"].text
    for name, page in pages.items():
        assert page.headers["content-type"].startswith("text/html"), name
        assert page.headers["x-frame-options"] == "DENY", name
        assert page.headers["content-security-policy"] == "frame-ancestors 'none'", name


def test_the_journal_read_since_a_seq_is_what_a_full_scan_selects() -> None:
    journal = Journal(limit=40)
    kinds = ("AuthnRequest", "Response", "Error")
    for n in range(60):  # the first 20 give way
        journal.record(
            time=NOW,
            direction="in" if n % 2 else "out",
            kind=kinds[n % 3],
            binding=None,
            sp=f"sp{n % 2}",
            xml=None,
        )
    everything = journal.entries()
    for since in (-1, 0, 5, 20, 21, 37, 59, 60, 99):
        for kind in (None, *kinds):
            for direction in (None, "in", "out"):
                wanted = [
                    e
                    for e in everything
                    if e.seq > since
                    and (kind is None or e.kind == kind)
                    and (direction is None or e.direction == direction)
                ]
                got = journal.entries(since=since, kind=kind, direction=direction)
                assert got == wanted, (since, kind, direction)
                limited = journal.entries(since=since, kind=kind, direction=direction, limit=2)
                assert limited == wanted[-2:], (since, kind, direction)
    for kind in (None, *kinds, "LogoutRequest"):
        of_kind = [e for e in everything if kind is None or e.kind == kind]
        assert journal.last(kind) == (of_kind[-1] if of_kind else None)
