"""The JSON control API: directory, SPs, clock, plan, rules, flaws, journal."""

import base64

import httpx
import pytest

from harness.protocol.keys import KeyPair
from harness.protocol.saml import constants as c
from harness.protocol.saml.encryption import decrypt_element
from harness.protocol.saml.errors import SignatureError
from harness.protocol.saml.metadata import parse_idp_metadata
from harness.protocol.saml.signing import verify_element
from harness.protocol.xml import parse_xml
from mock_idp.idp import MockIdP

from .fake_sp import NS, FakeSP, form_fields, read_response

pytestmark = pytest.mark.anyio


async def idp_init(
    client: httpx.AsyncClient,
    sp: FakeSP,
    idp_key: KeyPair,
    user: str = "alice@example.com",
    **params: str,
):  # type: ignore[no-untyped-def]
    answer = await client.get("/saml/idp-init", params={"sp": sp.entity_id, "user": user, **params})
    return read_response(answer.text, [idp_key.certificate], sp.key)


async def test_user_crud(client: httpx.AsyncClient) -> None:
    created = await client.post(
        "/api/users",
        json={
            "userName": "carol@example.com",
            "password": "pw",
            "email": "carol@example.com",
            "givenName": "Carol",
            "familyName": "Danvers",
            "groups": ["Pilots"],
            "attributes": {"department": ["R&D"]},
        },
    )
    assert created.status_code == 201
    assert created.json()["displayName"] == "Carol Danvers"
    assert "password" not in created.json()
    assert (
        await client.post("/api/users", json={"userName": "CAROL@example.com"})
    ).status_code == 409
    listed = (await client.get("/api/users")).json()["users"]
    assert "carol@example.com" in [u["userName"] for u in listed]
    patched = await client.patch(
        "/api/users/carol@example.com", json={"active": False, "groups": ["Pilots", "Admins"]}
    )
    assert patched.json()["active"] is False
    group = (await client.get("/api/groups/Admins")).json()
    assert group["members"] == ["carol@example.com"]
    replaced = await client.put(
        "/api/users/carol@example.com", json={"userName": "carol@example.com"}
    )
    assert replaced.json()["groups"] == []
    assert (await client.delete("/api/users/carol@example.com")).status_code == 204
    assert (await client.get("/api/users/carol@example.com")).status_code == 404


async def test_invalid_bodies_are_422_naming_the_field(client: httpx.AsyncClient) -> None:
    typo = await client.post("/api/users", json={"userName": "x", "emial": "x@y"})
    assert typo.status_code == 422
    assert typo.json()["details"][0]["field"] == "emial"
    not_json = await client.post(
        "/api/users", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert not_json.status_code == 400
    assert (
        await client.post("/api/plan", json={"mutators": ["no-such-mutator"]})
    ).status_code == 422


async def test_groups_and_members(client: httpx.AsyncClient) -> None:
    created = await client.post(
        "/api/groups", json={"displayName": "Sales", "members": ["alice@example.com"]}
    )
    assert created.status_code == 201 and created.json()["members"] == ["alice@example.com"]
    removed = await client.request(
        "DELETE", "/api/groups/Sales/members", json={"members": ["alice@example.com"]}
    )
    assert removed.json()["members"] == []
    assert (await client.delete("/api/groups/Sales")).status_code == 204
    assert (await client.get("/api/groups/Sales")).status_code == 404


async def test_sp_registration_by_xml_and_json(client: httpx.AsyncClient, idp: MockIdP) -> None:
    other = FakeSP(entity_id="https://x.test/md", acs="https://x.test/acs")
    by_xml = await client.post(
        "/api/sps", content=other.metadata(), headers={"content-type": "application/xml"}
    )
    assert by_xml.status_code == 201
    assert by_xml.json()["sps"][0]["entityID"] == "https://x.test/md"
    third = FakeSP(entity_id="https://y.test/md", acs="https://y.test/acs")
    by_json = await client.post(
        "/api/sps",
        json={
            "metadata": third.metadata().decode(),
            "settings": {"name_id_format": c.NAMEID_PERSISTENT},
        },
    )
    assert by_json.json()["sps"][0]["settings"]["name_id_format"] == c.NAMEID_PERSISTENT
    patched = await client.patch(
        "/api/sps", params={"entityID": "https://y.test/md"}, json={"sign_response": False}
    )
    assert patched.json()["settings"]["sign_response"] is False
    bad = await client.post("/api/sps", json={"metadata": "<x/>"})
    assert bad.status_code == 422 and bad.json()["reason"] == "not-metadata"
    assert (
        await client.delete("/api/sps", params={"entityID": "https://x.test/md"})
    ).status_code == 204
    assert "https://x.test/md" not in idp.sps


async def test_clock_freeze_and_skew(
    client: httpx.AsyncClient, sp: FakeSP, idp_key: KeyPair
) -> None:
    frozen = await client.put(
        "/api/clock", json={"frozen_at": "2030-01-01T00:00:00Z", "offset_seconds": -120}
    )
    assert frozen.json() == {"now": "2029-12-31T23:58:00Z", "offset_seconds": -120, "frozen": True}
    read = await idp_init(client, sp, idp_key)
    assert read.value("@IssueInstant") == "2029-12-31T23:58:00Z"
    assert read.value("saml:Conditions", "NotOnOrAfter") == "2030-01-01T00:03:00Z"
    reset = await client.put("/api/clock", json={"reset": True})
    assert reset.json()["offset_seconds"] == 0 and reset.json()["frozen"] is False


async def test_plan_once_and_sticky(
    client: httpx.AsyncClient, sp: FakeSP, idp_key: KeyPair
) -> None:
    planned = await client.post(
        "/api/plan",
        json={
            "mutators": [{"name": "wrong-audience", "params": {"audience": "https://evil.test"}}]
        },
    )
    assert planned.status_code == 201
    first = await idp_init(client, sp, idp_key)
    assert (
        first.value("saml:Conditions/saml:AudienceRestriction/saml:Audience") == "https://evil.test"
    )
    second = await idp_init(client, sp, idp_key)
    assert second.value("saml:Conditions/saml:AudienceRestriction/saml:Audience") == sp.entity_id
    await client.post("/api/plan", json={"mutators": ["no-destination"], "sticky": True})
    for _ in range(2):
        assert (await idp_init(client, sp, idp_key)).value("@Destination") is None
    assert len((await client.get("/api/plan")).json()["plan"]) == 1
    assert (await client.delete("/api/plan")).status_code == 204
    assert (await idp_init(client, sp, idp_key)).value("@Destination") == sp.acs


async def test_plan_for_another_sp_waits(
    client: httpx.AsyncClient, sp: FakeSP, idp_key: KeyPair
) -> None:
    await client.post(
        "/api/plan", json={"mutators": ["no-destination"], "sp": "https://someone-else.test"}
    )
    assert (await idp_init(client, sp, idp_key)).value("@Destination") == sp.acs
    assert len((await client.get("/api/plan")).json()["plan"]) == 1


async def test_rules_by_relay_state_and_user(
    client: httpx.AsyncClient, sp: FakeSP, idp_key: KeyPair
) -> None:
    rule = await client.post(
        "/api/rules",
        json={
            "match": {"relay_state": "re:/admin.*", "user": "alice@*"},
            "set": {
                "attributes": {"role": ["admin"], "groups": []},
                "name_id": "{id}",
                "name_id_format": c.NAMEID_UNSPECIFIED,
                "sign_response": False,
            },
        },
    )
    assert rule.status_code == 201
    matched = await idp_init(client, sp, idp_key, RelayState="/admin/panel")
    assert matched.attributes()["role"] == ["admin"]
    assert "groups" not in matched.attributes()
    assert matched.value("saml:Subject/saml:NameID", "Format") == c.NAMEID_UNSPECIFIED
    assert matched.name_id and matched.name_id != "alice@example.com"
    assert not matched.response_signed and matched.assertion_signed
    other = await idp_init(client, sp, idp_key, RelayState="/home")
    assert "role" not in other.attributes()
    assert (
        await client.post("/api/rules", json={"match": {"sp": "re:("}, "set": {}})
    ).status_code == 422
    assert (await client.delete(f"/api/rules/{rule.json()['id']}")).status_code == 204


async def test_flaws_and_settings(
    client: httpx.AsyncClient, idp: MockIdP, sp: FakeSP, idp_key: KeyPair
) -> None:
    listed = (await client.get("/api/flaws")).json()["flaws"]
    assert {"no-destination", "sha1", "unsigned-assertion", "bad-in-response-to"} <= {
        f["name"] for f in listed
    }
    assert (await client.put("/api/flaws", json={"enabled": ["nope"]})).status_code == 422
    await client.put("/api/flaws", json={"enabled": ["sha1"]})
    read = await idp_init(client, sp, idp_key)
    method = read.root.find(f".//{c.q(c.DS, 'SignatureMethod')}")
    assert method is not None and method.get("Algorithm") == c.SIG_RSA_SHA1
    settings = await client.patch("/api/settings", json={"preset": "okta"})
    assert settings.json()["preset"] == "okta" and settings.json()["flaws"] == ["sha1"]
    assert (await client.patch("/api/settings", json={"preset": "adfs"})).status_code == 422
    assert len((await client.get("/api/mutators")).json()["mutators"]) >= 20
    assert [p["name"] for p in (await client.get("/api/presets")).json()["presets"]] == [
        "generic",
        "entra",
        "okta",
        "ping",
    ]


async def test_journal_filters_and_sessions(
    client: httpx.AsyncClient, idp: MockIdP, sp: FakeSP, idp_key: KeyPair
) -> None:
    await idp_init(client, sp, idp_key)
    await client.get("/saml/sso?SAMLRequest=%%")
    responses = (await client.get("/api/journal", params={"kind": "Response"})).json()["entries"]
    assert len(responses) == 1
    assert responses[0]["direction"] == "out" and responses[0]["user"] == "alice@example.com"
    assert responses[0]["xml"].startswith("<samlp:Response")
    everything = (await client.get("/api/journal")).json()["entries"]
    since = (await client.get("/api/journal", params={"since": everything[0]["seq"]})).json()[
        "entries"
    ]
    assert len(since) == len(everything) - 1
    assert (await client.get("/api/journal", params={"limit": "x"})).status_code == 400
    one = (await client.get(f"/api/journal/{everything[0]['seq']}")).json()
    assert one == everything[0]
    assert (await client.get("/api/journal/99999")).status_code == 404
    sessions = (await client.get("/api/sessions")).json()["sessions"]
    assert sessions[0]["userName"] == "alice@example.com" and sessions[0]["sps"] == [sp.entity_id]
    await client.patch("/api/users/alice@example.com", json={"active": False})
    assert (await client.get("/api/sessions")).json()["sessions"] == []
    assert (await client.post("/api/reset")).status_code == 204
    assert idp.directory.users() == [] and idp.sps == {}


async def test_patch_refuses_null_for_required_fields(client: httpx.AsyncClient) -> None:
    refused = await client.patch("/api/users/alice@example.com", json={"groups": None})
    assert refused.status_code == 422


async def test_key_rollover(
    client: httpx.AsyncClient, idp: MockIdP, sp: FakeSP, idp_key: KeyPair
) -> None:
    rolled = (await client.post("/api/keys", json={"action": "rollover"})).json()["keys"]
    assert len(rolled) == 2 and rolled[0]["active"] and not rolled[1]["active"]
    metadata = parse_idp_metadata((await client.get("/saml/metadata")).content)
    assert len(metadata.signing_certificates) == 2
    new_key = idp.signing_key
    read = await idp_init(client, sp, new_key)
    assert read.response_signed
    with pytest.raises(SignatureError):
        await idp_init(client, sp, idp_key)  # the old key no longer signs
    await client.post("/api/keys", json={"action": "activate", "index": 1})
    assert (await idp_init(client, sp, idp_key)).assertion_signed
    assert (await client.post("/api/keys", json={"action": "retire"})).status_code == 422
    assert (
        await client.post("/api/keys", json={"action": "retire", "index": 1})
    ).status_code == 200
    assert (
        await client.post("/api/keys", json={"action": "retire", "index": 0})
    ).status_code == 422
    assert (await client.post("/api/keys", json={"action": "explode"})).status_code == 422


async def test_journal_names_the_rules_a_planned_response_breaks(
    client: httpx.AsyncClient, sp: FakeSP, idp_key: KeyPair
) -> None:
    await client.post("/api/plan", json={"mutators": ["expired", "no-destination"]})
    await idp_init(client, sp, idp_key)
    entry = (await client.get("/api/journal", params={"kind": "Response"})).json()["entries"][-1]
    assert entry["mutators"] == ["expired", "no-destination"]
    rules = {v["check"]: v["rule"] for v in entry["verdicts"]}
    assert rules == {
        "mutator:expired": "SAML-PROF-4.1.4.3",
        "mutator:no-destination": "SAML-BIND-3.5.5.2",
    }


async def test_odd_name_id_templates_never_fail(
    client: httpx.AsyncClient, sp: FakeSP, idp_key: KeyPair
) -> None:
    await client.post("/api/rules", json={"set": {"name_id": "{nope} {0} {userName}"}})
    read = await idp_init(client, sp, idp_key)
    assert read.name_id == "{nope} {0} alice@example.com"


@pytest.mark.parametrize(
    ("mutator", "params", "payload"),
    [
        (
            "external-entity",
            {"url": "http://127.0.0.1:9/case-7/x"},
            b'[<!ENTITY oob SYSTEM "http://127.0.0.1:9/case-7/x">]>',
        ),
        ("entity-expansion", {"levels": 3, "width": 4}, b"&lol3;</saml:NameID>"),
        (
            "comment-in-name-id",
            {"value": "admin@example.com.evil.example", "kind": "pi"},
            b">admin@example.com<?split ?>.evil.example</saml:NameID>",
        ),
    ],
)
async def test_a_planned_parser_attack_is_sent_as_planned(
    client: httpx.AsyncClient, sp: FakeSP, mutator: str, params: dict[str, object], payload: bytes
) -> None:
    planned = await client.post(
        "/api/plan", json={"mutators": [{"name": mutator, "params": params}]}
    )
    assert planned.status_code == 201, planned.text
    page = await client.get(
        "/saml/idp-init", params={"sp": sp.entity_id, "user": "alice@example.com"}
    )
    sent = base64.b64decode(form_fields(page.text)[1]["SAMLResponse"])
    assert payload in sent


async def test_parser_attack_counts_are_checked_up_front(client: httpx.AsyncClient) -> None:
    refused = await client.post(
        "/api/plan", json={"mutators": [{"name": "entity-expansion", "params": {"levels": "ten"}}]}
    )
    assert refused.status_code == 422 and "levels" in refused.text


async def test_a_planned_wrapping_attack_names_the_attackers_user(
    client: httpx.AsyncClient, sp: FakeSP, idp_key: KeyPair
) -> None:
    listed = {m["name"] for m in (await client.get("/api/mutators")).json()["mutators"]}
    assert {"xsw8", "keyinfo-self-signed"} <= listed
    for name in ("xsw8", "keyinfo-self-signed"):
        planned = await client.post(
            "/api/plan",
            json={"mutators": [{"name": name, "params": {"value": "mallory@example.com"}}]},
        )
        assert planned.status_code == 201
        answer = await client.get(
            "/saml/idp-init", params={"sp": sp.entity_id, "user": "alice@example.com"}
        )
        _, fields = form_fields(answer.text)
        root = parse_xml(base64.b64decode(fields["SAMLResponse"]))
        for encrypted in root.findall("saml:EncryptedAssertion", NS):
            root.replace(encrypted, decrypt_element(encrypted, [sp.key.private_key]).element)
        assertion = root.find("saml:Assertion", NS)
        assert assertion.findtext("saml:Subject/saml:NameID", namespaces=NS) == (
            "mallory@example.com"
        )
        if name == "xsw8":  # the real user's assertion rides inside the signature
            wrapped = assertion.find("ds:Signature/ds:Object/saml:Assertion", NS)
            assert wrapped.get("ID") == assertion.get("ID")
            assert wrapped.findtext("saml:Subject/saml:NameID", namespaces=NS) == (
                "alice@example.com"
            )
        else:  # signed with the attacker key the IdP made on demand
            with pytest.raises(SignatureError):
                verify_element(assertion, [idp_key.certificate])


async def test_stats_count_the_messages_past_the_journal_and_the_cpu(
    client: httpx.AsyncClient, idp: MockIdP, sp: FakeSP, idp_key: KeyPair
) -> None:
    await idp_init(client, sp, idp_key)
    await client.delete("/api/journal")  # entries go; the counts stay
    await idp_init(client, sp, idp_key)
    stats = (await client.get("/api/stats")).json()
    assert stats["messages"]["out"]["Response"] == 2
    assert stats["cpu_seconds"] > 0 and isinstance(stats["pid"], int)
