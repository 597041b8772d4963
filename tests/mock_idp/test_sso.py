"""SP-initiated and IdP-initiated SSO through the app (in-process ASGI)."""

import httpx
import pytest

from harness.protocol.keys import KeyPair
from harness.protocol.requirements import REQUIREMENTS
from harness.protocol.saml import constants as c
from harness.protocol.saml.metadata import parse_idp_metadata
from mock_idp.idp import MockIdP

from .conftest import BASE, NOW
from .fake_sp import FakeSP, form_fields, login_handle, read_response

pytestmark = pytest.mark.anyio
SSO = f"{BASE}/saml/sso"


async def sign_in(
    client: httpx.AsyncClient, sp: FakeSP, *, relay_state: str | None = "/home", **fields: object
) -> httpx.Response:
    request = sp.authn_request(NOW, SSO, **fields)
    page = await client.get(f"/saml/sso?{sp.redirect_query(request, relay_state)}")
    assert page.status_code == 200
    assert 'name="username"' in page.text and 'name="password"' in page.text
    return await client.post(
        "/saml/sso",
        data={
            "login": login_handle(page.text),
            "username": "alice@example.com",
            "password": "alice-pw",
        },
    )


async def test_metadata(client: httpx.AsyncClient, idp_key: KeyPair) -> None:
    response = await client.get("/saml/metadata")
    assert response.status_code == 200
    metadata = parse_idp_metadata(response.content)
    assert metadata.entity_id == f"{BASE}/saml/metadata"
    assert metadata.sso_endpoint(c.BINDING_HTTP_REDIRECT).location == SSO  # type: ignore[union-attr]
    assert metadata.sso_endpoint(c.BINDING_HTTP_POST) is not None
    assert {e.binding for e in metadata.slo_endpoints} == {
        c.BINDING_HTTP_REDIRECT,
        c.BINDING_HTTP_POST,
    }
    assert metadata.signing_certificates[0] == idp_key.certificate


async def test_sp_initiated_redirect_login(
    client: httpx.AsyncClient, sp: FakeSP, idp_key: KeyPair
) -> None:
    answer = await sign_in(client, sp)
    assert answer.status_code == 200
    assert "mock_idp_session" in answer.cookies
    read = read_response(answer.text, [idp_key.certificate])
    assert read.action == sp.acs
    assert read.relay_state == "/home"
    assert read.response_signed and read.assertion_signed
    assert read.status == c.STATUS_SUCCESS
    assert read.value("@Destination") == sp.acs
    assert read.value("@InResponseTo") == "_req0001"
    assert (
        read.value(
            "saml:Subject/saml:SubjectConfirmation/saml:SubjectConfirmationData", "Recipient"
        )
        == sp.acs
    )
    assert (
        read.value(
            "saml:Subject/saml:SubjectConfirmation/saml:SubjectConfirmationData", "InResponseTo"
        )
        == "_req0001"
    )
    assert read.value("saml:Conditions/saml:AudienceRestriction/saml:Audience") == sp.entity_id
    assert read.value("saml:Issuer") == f"{BASE}/saml/metadata"
    assert read.name_id == "alice@example.com"
    assert read.attributes()["groups"] == ["Business Account Admins"]
    assert read.attributes()["givenName"] == ["Alice"]
    assert read.value("saml:AuthnStatement", "SessionIndex")
    assert read.value("saml:AuthnStatement", "SessionNotOnOrAfter")


async def test_second_sso_is_silent_unless_force_authn(
    client: httpx.AsyncClient, sp: FakeSP
) -> None:
    await sign_in(client, sp)
    again = await client.get(f"/saml/sso?{sp.redirect_query(sp.authn_request(NOW, SSO))}")
    assert "SAMLResponse" in again.text
    forced = await client.get(
        f"/saml/sso?{sp.redirect_query(sp.authn_request(NOW, SSO, force_authn=True))}"
    )
    assert 'name="password"' in forced.text
    assert "SAMLResponse" not in forced.text


async def test_is_passive_without_session_answers_no_passive(
    client: httpx.AsyncClient, sp: FakeSP, idp_key: KeyPair
) -> None:
    answer = await client.get(
        f"/saml/sso?{sp.redirect_query(sp.authn_request(NOW, SSO, is_passive=True))}"
    )
    read = read_response(answer.text, [idp_key.certificate])
    assert read.status == c.STATUS_RESPONDER
    assert (
        read.value("samlp:Status/samlp:StatusCode/samlp:StatusCode", "Value") == c.STATUS_NO_PASSIVE
    )
    assert read.assertion is None


async def test_post_binding_with_signed_request(
    client: httpx.AsyncClient, idp: MockIdP, sp: FakeSP, idp_key: KeyPair
) -> None:
    sp.sign_requests = True
    idp.register_sp_metadata(sp.metadata())
    page = await client.post(
        "/saml/sso", data=sp.post_form(sp.authn_request(NOW, SSO), "rs", sign=True)
    )
    assert page.status_code == 200 and 'name="password"' in page.text
    entry = idp.journal.last("AuthnRequest")
    assert entry is not None and entry.details["signed"] is True


async def test_signed_redirect_request_verified(
    client: httpx.AsyncClient, idp: MockIdP, sp: FakeSP
) -> None:
    sp.sign_requests = True
    idp.register_sp_metadata(sp.metadata())
    query = sp.redirect_query(sp.authn_request(NOW, SSO), "rs", sign=True)
    assert (await client.get(f"/saml/sso?{query}")).status_code == 200
    tampered = query.replace("RelayState=rs", "RelayState=evil")
    refused = await client.get(f"/saml/sso?{tampered}", headers={"Accept": "application/json"})
    assert refused.status_code == 403
    assert refused.json()["reason"] == "bad-signature"


async def test_unsigned_request_refused_when_sp_signs(
    client: httpx.AsyncClient, idp: MockIdP, sp: FakeSP
) -> None:
    sp.sign_requests = True
    idp.register_sp_metadata(sp.metadata())
    refused = await client.get(f"/saml/sso?{sp.redirect_query(sp.authn_request(NOW, SSO))}")
    assert refused.status_code == 403
    assert "unsigned-request" in refused.text and "SAML-MD-2.4.4" in refused.text
    assert "SAMLResponse" not in refused.text


async def test_request_signed_with_wrong_key_refused(
    client: httpx.AsyncClient, idp: MockIdP, sp: FakeSP, attacker_key: KeyPair
) -> None:
    sp.sign_requests = True
    idp.register_sp_metadata(sp.metadata())
    sp.key = attacker_key
    form = sp.post_form(sp.authn_request(NOW, SSO), sign=True)
    refused = await client.post("/saml/sso", data=form)
    assert refused.status_code == 403
    assert "bad-signature" in refused.text


@pytest.mark.parametrize(
    ("fields", "reason", "rule"),
    [
        ({"acs_url": "https://evil.test/acs"}, "unknown-acs", "SAML-PROF-4.1.4.1"),
        ({"issuer": "https://unknown-sp.test"}, "unknown-sp", "SAML-PROF-4.1.4.1"),
        ({"destination": "https://elsewhere.test/sso"}, "wrong-destination", "SAML-CORE-3.2.1"),
        (
            {"acs_url": None, "protocol_binding": None, "acs_index": 9},
            "unknown-acs-index",
            "SAML-PROF-4.1.4.1",
        ),
        ({"protocol_binding": c.BINDING_HTTP_ARTIFACT}, "unsupported-binding", "SAML-PROF-4.1.2"),
    ],
)
async def test_bad_requests_get_an_error_page_and_a_journal_entry(
    client: httpx.AsyncClient,
    idp: MockIdP,
    sp: FakeSP,
    fields: dict[str, object],
    reason: str,
    rule: str,
) -> None:
    query = sp.redirect_query(sp.authn_request(NOW, SSO, **fields))
    refused = await client.get(f"/saml/sso?{query}")
    assert refused.status_code == 400
    assert reason in refused.text and rule in refused.text
    assert "SAMLResponse" not in refused.text
    entry = idp.journal.last("AuthnRequest")
    assert entry is not None and entry.error is not None
    assert (entry.error["reason"], entry.error["rule"]) == (reason, rule)
    assert rule in REQUIREMENTS  # the journal cites the rule by its one registered id
    assert entry.xml and "AuthnRequest" in entry.xml


async def test_acs_index_is_honoured(
    client: httpx.AsyncClient, idp: MockIdP, sp: FakeSP, idp_key: KeyPair
) -> None:
    sp.extra_acs = ("https://sp.test/saml/acs-two",)
    idp.register_sp_metadata(sp.metadata())
    await sign_in(client, sp)
    query = sp.redirect_query(
        sp.authn_request(NOW, SSO, acs_url=None, protocol_binding=None, acs_index=1)
    )
    read = read_response((await client.get(f"/saml/sso?{query}")).text, [idp_key.certificate])
    assert read.action == "https://sp.test/saml/acs-two"


@pytest.mark.parametrize(
    "query",
    [
        "SAMLRequest=%%%",
        "SAMLRequest=aGVsbG8gd29ybGQ=",  # base64 but not DEFLATE
        "RelayState=x",
        "",
    ],
)
async def test_garbage_requests_are_4xx_never_500(
    client: httpx.AsyncClient, idp: MockIdP, query: str
) -> None:
    response = await client.get(f"/saml/sso?{query}")
    assert 400 <= response.status_code < 500
    assert idp.journal.entries()[-1].error is not None


async def test_doctype_request_refused(client: httpx.AsyncClient, idp: MockIdP, sp: FakeSP) -> None:
    from harness.protocol.saml.bindings import encode_post_value

    xml = b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>'
    refused = await client.post("/saml/sso", data={"SAMLRequest": encode_post_value(xml)})
    assert refused.status_code == 400
    assert "doctype" in refused.text and "SDP-G03" in refused.text


async def test_oversized_and_wrong_content_type(client: httpx.AsyncClient) -> None:
    big = await client.post("/saml/sso", data={"SAMLRequest": "A" * 3_000_000})
    assert big.status_code == 413
    wrong = await client.post(
        "/saml/sso", content=b"{}", headers={"content-type": "application/json"}
    )
    assert wrong.status_code == 415
    method = await client.put("/saml/sso")
    assert method.status_code == 405


async def test_wrong_password_and_inactive_user(
    client: httpx.AsyncClient, idp: MockIdP, sp: FakeSP
) -> None:
    page = await client.get(f"/saml/sso?{sp.redirect_query(sp.authn_request(NOW, SSO))}")
    handle = login_handle(page.text)
    wrong = await client.post(
        "/saml/sso", data={"login": handle, "username": "alice@example.com", "password": "x"}
    )
    assert wrong.status_code == 401 and "wrong password" in wrong.text
    inactive = await client.post(
        "/saml/sso", data={"login": handle, "username": "bob@example.com", "password": "bob-pw"}
    )
    assert inactive.status_code == 403 and "disabled" in inactive.text
    stale = await client.post("/saml/sso", data={"login": "nope", "username": "a", "password": "b"})
    assert stale.status_code == 400
    assert [e.kind for e in idp.journal.entries()][-3:] == ["Login", "Login", "Login"]


async def test_idp_initiated(client: httpx.AsyncClient, sp: FakeSP, idp_key: KeyPair) -> None:
    answer = await client.get(
        "/saml/idp-init",
        params={"sp": sp.entity_id, "user": "alice@example.com", "RelayState": "/dash"},
    )
    read = read_response(answer.text, [idp_key.certificate])
    assert read.value("@InResponseTo") is None
    assert (
        read.value(
            "saml:Subject/saml:SubjectConfirmation/saml:SubjectConfirmationData", "InResponseTo"
        )
        is None
    )
    assert read.relay_state == "/dash"
    unknown = await client.get("/saml/idp-init", params={"sp": "https://nobody.test"})
    assert unknown.status_code == 404


async def test_idp_initiated_without_user_shows_login(
    client: httpx.AsyncClient, sp: FakeSP
) -> None:
    page = await client.get("/saml/idp-init", params={"sp": sp.entity_id})
    assert 'name="password"' in page.text


async def test_name_id_policy(
    client: httpx.AsyncClient, idp: MockIdP, sp: FakeSP, idp_key: KeyPair
) -> None:
    await sign_in(client, sp)

    async def name_id(fmt: str) -> tuple[str | None, str | None]:
        query = sp.redirect_query(sp.authn_request(NOW, SSO, nameid_format=fmt))
        read = read_response((await client.get(f"/saml/sso?{query}")).text, [idp_key.certificate])
        return read.name_id, read.status

    first, _ = await name_id(c.NAMEID_PERSISTENT)
    second, _ = await name_id(c.NAMEID_PERSISTENT)
    assert first == second and first != "alice@example.com"
    transient_a, _ = await name_id(c.NAMEID_TRANSIENT)
    transient_b, _ = await name_id(c.NAMEID_TRANSIENT)
    assert transient_a != transient_b
    _, status = await name_id("urn:oasis:names:tc:SAML:1.1:nameid-format:X509SubjectName")
    assert status == c.STATUS_REQUESTER


def test_persistent_name_id_differs_per_sp(idp: MockIdP, sp: FakeSP) -> None:
    other = FakeSP(entity_id="https://other-sp.test/saml/metadata", acs="https://other-sp.test/acs")
    idp.register_sp_metadata(other.metadata())
    for target in (sp, other):
        idp.sps[target.entity_id].settings.name_id_format = c.NAMEID_PERSISTENT
    a = idp.sso(sp.entity_id, "alice@example.com")
    b = idp.sso(other.entity_id, "alice@example.com")
    values = [form_fields(m.html())[1]["SAMLResponse"] for m in (a, b)]
    assert values[0] != values[1]
    assert idp.journal.last("Response") is not None


async def test_encrypted_assertion_when_sp_has_key(
    client: httpx.AsyncClient, idp: MockIdP, sp: FakeSP, idp_key: KeyPair, sp_key: KeyPair
) -> None:
    sp.encrypt = True
    idp.register_sp_metadata(sp.metadata())
    read = read_response((await sign_in(client, sp)).text, [idp_key.certificate], sp_key)
    assert read.encrypted and read.assertion_signed
    assert read.name_id == "alice@example.com"


async def test_requested_authn_context(
    client: httpx.AsyncClient, sp: FakeSP, idp_key: KeyPair
) -> None:
    await sign_in(client, sp)
    query = sp.redirect_query(sp.authn_request(NOW, SSO, requested_authn_contexts=(c.AC_PASSWORD,)))
    read = read_response((await client.get(f"/saml/sso?{query}")).text, [idp_key.certificate])
    assert (
        read.value("saml:AuthnStatement/saml:AuthnContext/saml:AuthnContextClassRef")
        == c.AC_PASSWORD
    )
    mfa = ("http://schemas.microsoft.com/claims/multipleauthn",)
    query = sp.redirect_query(sp.authn_request(NOW, SSO, requested_authn_contexts=mfa))
    read = read_response((await client.get(f"/saml/sso?{query}")).text, [idp_key.certificate])
    assert (
        read.value("samlp:Status/samlp:StatusCode/samlp:StatusCode", "Value")
        == c.STATUS_NO_AUTHN_CONTEXT
    )
    assert read.assertion is None


def test_entra_metadata_is_signed(idp: MockIdP, idp_key: KeyPair) -> None:
    from harness.protocol.saml.signing import verify_element
    from harness.protocol.xml import parse_xml

    idp.set_preset("entra")
    root = parse_xml(idp.metadata_xml())
    assert (
        verify_element(root, [idp_key.certificate]).signed_element.get("entityID") == idp.entity_id
    )
    assert parse_idp_metadata(idp.metadata_xml()).entity_id == idp.entity_id
