"""The console at the mock IdP's ``/``: the directory, SPs, plan and journal shown and changed
through same-origin forms, each journal entry decoded (the assertion in clear), diffed against
the previous one, and turned into a scenario file; bad input is a 4xx with a reason."""

from __future__ import annotations

import re

import httpx
import pytest
import yaml

from mock_idp.idp import MockIdP

from .conftest import BASE
from .fake_sp import FakeSP, form_fields

pytestmark = pytest.mark.anyio
FORM = {"content-type": "application/x-www-form-urlencoded"}
SAME_ORIGIN = {**FORM, "origin": BASE}


async def idp_initiated(client: httpx.AsyncClient, sp: FakeSP, user: str) -> str:
    page = await client.get("/saml/idp-init", params={"sp": sp.entity_id, "user": user})
    assert page.status_code == 200, page.text
    return form_fields(page.text)[1]["SAMLResponse"]


async def test_the_console_lists_users_groups_sps_and_the_journal(
    client: httpx.AsyncClient, sp: FakeSP
) -> None:
    await idp_initiated(client, sp, "alice@example.com")
    page = await client.get("/")
    assert page.status_code == 200
    html = page.text
    assert "alice@example.com" in html and "Business Account Admins" in html
    assert "blocked" in html  # bob
    assert sp.entity_id in html
    assert 'href="/console/journal/1"' in html
    assert "well-formed response" in html


async def test_a_user_added_blocked_and_grouped_through_forms(
    client: httpx.AsyncClient, idp: MockIdP
) -> None:
    added = await client.post(
        "/console/users",
        data={"userName": "carol@example.com", "email": "carol@example.com", "groups": "Sales"},
        headers={"origin": BASE},
    )
    assert added.status_code == 303 and added.headers["location"] == "/#users"
    member = await client.post(
        "/console/members", data={"user": "carol@example.com", "group": "Support"}
    )
    assert member.status_code == 303
    blocked = await client.post("/console/block", data={"user": "carol@example.com"})
    assert blocked.status_code == 303
    carol = idp.directory.get_user("carol@example.com")
    assert carol is not None and not carol.active
    assert carol.groups == ["Sales", "Support"]


async def test_a_user_named_script_renders_as_text(client: httpx.AsyncClient) -> None:
    name = "<script>alert(1)</script>"
    added = await client.post("/console/users", data={"userName": name, "groups": "<b>x</b>"})
    assert added.status_code == 303, added.text
    html = (await client.get("/")).text
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<b>x</b>" not in html


async def test_the_plan_form_queues_a_mutator_with_parameters_and_a_clock_skew(
    client: httpx.AsyncClient, idp: MockIdP, sp: FakeSP
) -> None:
    planned = await client.post(
        "/console/plan",
        data={"mutator": "expired", "params": "seconds=7200", "clock_skew": "-300", "sp": ""},
    )
    assert planned.status_code == 303, planned.text
    (entry,) = idp.plan.entries()
    assert [(m.name, dict(m.params)) for m in entry.mutators] == [
        ("expired", {"seconds": 7200}),
        ("clock-skew", {"seconds": -300}),
    ]
    assert "seconds" in (await client.get("/")).text
    await idp_initiated(client, sp, "alice@example.com")
    response = idp.journal.last("Response")
    assert response is not None and response.mutators == ("expired", "clock-skew")
    assert response.details["mutator_calls"] == [
        {"name": "expired", "params": {"seconds": 7200}},
        {"name": "clock-skew", "params": {"seconds": -300}},
    ]
    cleared = await client.post("/console/plan/clear")
    assert cleared.status_code == 303 and idp.plan.entries() == []


async def test_an_entry_is_decoded_with_its_clear_assertion_and_a_diff(
    client: httpx.AsyncClient, idp: MockIdP, sp: FakeSP
) -> None:
    sp.encrypt = True
    idp.register_sp_metadata(sp.metadata())
    await idp_initiated(client, sp, "alice@example.com")
    await client.post("/console/plan", data={"mutator": "wrong-audience"})
    await idp_initiated(client, sp, "alice@example.com")
    first, second = idp.journal.entries(kind="Response")
    page = await client.get(f"/console/journal/{second.seq}")
    assert page.status_code == 200
    html = page.text
    assert "broken on purpose: wrong-audience" in html
    assert 'id="clear-assertion"' in html and "EncryptedAssertion" in html
    clear = html.split('id="clear-assertion">', 1)[1].split("</pre>", 1)[0]
    assert "alice@example.com" in clear and "&lt;saml:Audience&gt;" in clear
    diff = html.split('id="diff">', 1)[1].split("</pre>", 1)[0]
    assert re.search(r'class="del">-\s*&lt;saml:Audience&gt;' + re.escape(sp.entity_id), diff)
    assert f"#{first.seq}" in diff
    unchanged = await client.get(f"/console/journal/{first.seq}")
    assert "none before this one" in unchanged.text


async def test_reproduce_this_downloads_a_scenario(
    client: httpx.AsyncClient, idp: MockIdP, sp: FakeSP
) -> None:
    await client.post("/console/plan", data={"mutator": "wrong-audience"})
    await idp_initiated(client, sp, "alice@example.com")
    entry = idp.journal.last("Response")
    assert entry is not None
    page = await client.get(f"/console/journal/{entry.seq}")
    assert f'href="/console/journal/{entry.seq}/scenario.yaml"' in page.text
    download = await client.get(f"/console/journal/{entry.seq}/scenario.yaml")
    assert download.status_code == 200
    assert download.headers["content-disposition"].startswith("attachment")
    document = yaml.safe_load(download.text)
    assert document["given"]["users"] == [{"ref": "alice", "groups": ["Business Account Admins"]}]
    assert document["steps"][1] == {
        "sign_in": {
            "user": "alice",
            "via": "idp",
            "preset": "generic",
            "mutators": ["wrong-audience"],
            "expect": "refused",
        }
    }


@pytest.mark.parametrize(
    ("method", "path", "data", "status", "reason"),
    [
        ("GET", "/?kind=Nope", None, 400, "bad-parameter"),
        ("GET", "/?limit=0", None, 400, "bad-parameter"),
        ("GET", "/?limit=x", None, 400, "bad-parameter"),
        ("GET", "/?evil=1", None, 400, "bad-parameter"),
        ("GET", "/console/journal/999", None, 404, "not-found"),
        ("GET", "/console/journal/999/scenario.yaml", None, 404, "not-found"),
        ("POST", "/console/users", {}, 422, "missing-field"),
        ("POST", "/console/users", {"userName": "x" * 3000}, 422, "invalid"),
        ("POST", "/console/users", {"userName": "alice@example.com"}, 409, "conflict"),
        ("POST", "/console/members", {"user": "nobody", "group": "g"}, 404, "not-found"),
        ("POST", "/console/members", {"user": "alice@example.com"}, 422, "missing-field"),
        ("POST", "/console/block", {"user": "nobody"}, 404, "not-found"),
        ("POST", "/console/plan", {}, 422, "missing-field"),
        ("POST", "/console/plan", {"mutator": "no-such"}, 422, "unknown-mutator"),
        ("POST", "/console/plan", {"mutator": "expired", "params": "seconds"}, 422, "invalid"),
        ("POST", "/console/plan", {"mutator": "expired", "count": "0"}, 422, "invalid"),
        ("POST", "/console/plan", {"clock_skew": "ten"}, 422, "invalid"),
        ("POST", "/console/plan", {"mutator": "expired", "sp": "https://x"}, 404, "not-found"),
        ("POST", "/console/login", {"token": "t"}, 401, "unauthorized"),
    ],
)
async def test_bad_input_is_a_4xx_with_a_reason(
    client: httpx.AsyncClient,
    method: str,
    path: str,
    data: dict[str, str] | None,
    status: int,
    reason: str,
) -> None:
    answer = await client.request(method, path, data=data, headers={"accept": "application/json"})
    assert answer.status_code == status, answer.text
    assert answer.json()["reason"] == reason
    page = await client.request(method, path, data=data)
    assert page.status_code == status and "text/html" in page.headers["content-type"]


async def test_a_json_body_is_refused_and_an_entry_without_a_user_is_not_reproducible(
    client: httpx.AsyncClient, sp: FakeSP
) -> None:
    answer = await client.post("/console/users", json={"userName": "x"})
    assert answer.status_code == 415
    await client.get("/saml/sso")  # refused: an Error entry
    assert (await client.get("/console/journal/1")).status_code == 200
    refused = await client.get("/console/journal/1/scenario.yaml")
    assert refused.status_code == 409


async def test_writes_from_another_site_are_refused(client: httpx.AsyncClient) -> None:
    for headers in ({"origin": "http://evil.test"}, {"sec-fetch-site": "cross-site"}):
        answer = await client.post(
            "/console/users", data={"userName": "eve@evil.test"}, headers=headers
        )
        assert answer.status_code == 403, answer.text
        assert "eve@evil.test" not in (await client.get("/")).text


async def test_with_an_api_token_the_console_needs_it(
    client: httpx.AsyncClient, idp: MockIdP
) -> None:
    idp.api_token = "s3cret"
    locked = await client.get("/")
    assert locked.status_code == 401 and 'name="token"' in locked.text
    blocked = await client.post("/console/block", data={"user": "alice@example.com"})
    assert blocked.status_code == 401 and idp.directory.users()[0].active
    wrong = await client.post("/console/login", data={"token": "nope"})
    assert wrong.status_code == 401
    opened = await client.post("/console/login", data={"token": "s3cret"}, headers=SAME_ORIGIN)
    assert opened.status_code == 303
    assert "s3cret" not in opened.headers["set-cookie"]
    assert "samesite=strict" in opened.headers["set-cookie"].lower()
    assert (await client.get("/")).status_code == 200  # the cookie
    bearer = httpx.Headers({"authorization": "Bearer s3cret"})
    client.cookies.clear()
    assert (await client.get("/", headers=bearer)).status_code == 200
