"""Single logout: SP-initiated (Redirect and POST), propagation to other SPs, IdP-initiated."""

from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from harness.protocol.keys import KeyPair
from harness.protocol.saml import constants as c
from harness.protocol.saml.bindings import (
    decode_redirect_query,
    encode_post_value,
    encode_redirect_query,
    verify_redirect_signature,
)
from harness.protocol.saml.logout import (
    LogoutRequest,
    LogoutResponse,
    build_logout_request,
    build_logout_response,
    parse_logout_request,
    parse_logout_response,
)
from harness.protocol.saml.signing import sign_element
from harness.protocol.xml import to_bytes
from mock_idp.idp import MockIdP

from .conftest import BASE, NOW, sample_key
from .fake_sp import FakeSP, read_response

pytestmark = pytest.mark.anyio
SLO = f"{BASE}/saml/slo"


async def signed_in(
    client: httpx.AsyncClient, sp: FakeSP, idp_key: KeyPair
) -> tuple[str, str | None]:
    answer = await client.get(
        "/saml/idp-init", params={"sp": sp.entity_id, "user": "alice@example.com"}
    )
    read = read_response(answer.text, [idp_key.certificate])
    assert read.name_id is not None
    return read.name_id, read.value("saml:AuthnStatement", "SessionIndex")


def logout_request(
    sp: FakeSP, name_id: str, session_index: str | None, request_id: str = "_lo1"
) -> LogoutRequest:
    return LogoutRequest(
        id=request_id,
        issue_instant=NOW,
        issuer=sp.entity_id,
        name_id=name_id,
        name_id_format=c.NAMEID_EMAIL,
        session_indexes=(session_index,) if session_index else (),
        destination=SLO,
    )


async def test_sp_initiated_redirect_logout(
    client: httpx.AsyncClient, idp: MockIdP, sp: FakeSP, idp_key: KeyPair
) -> None:
    name_id, session_index = await signed_in(client, sp, idp_key)
    assert len(idp.sessions.all()) == 1
    xml = to_bytes(build_logout_request(logout_request(sp, name_id, session_index)))
    query = encode_redirect_query(xml, relay_state="bye", key_pair=sp.key)
    answer = await client.get(f"/saml/slo?{query}")
    assert answer.status_code == 302
    location = answer.headers["location"]
    assert location.startswith(sp.slo + "?")
    message = decode_redirect_query(urlsplit(location).query)
    assert verify_redirect_signature(message, [idp_key.certificate])
    response = parse_logout_response(message.message)
    assert response.in_response_to == "_lo1"
    assert response.status_code == c.STATUS_SUCCESS
    assert message.relay_state == "bye"
    assert idp.sessions.all() == []
    kinds = [(e.direction, e.kind) for e in idp.journal.entries()][-2:]
    assert kinds == [("in", "LogoutRequest"), ("out", "LogoutResponse")]


async def test_sp_initiated_post_logout(
    client: httpx.AsyncClient, idp: MockIdP, sp: FakeSP, idp_key: KeyPair
) -> None:
    assert sp.key is not None
    name_id, session_index = await signed_in(client, sp, idp_key)
    signed = sign_element(build_logout_request(logout_request(sp, name_id, session_index)), sp.key)
    answer = await client.post(
        "/saml/slo", data={"SAMLRequest": encode_post_value(to_bytes(signed))}
    )
    assert answer.status_code == 302  # the SP's SLO endpoint is HTTP-Redirect
    assert idp.sessions.all() == []


async def test_unsigned_logout_request_refused(
    client: httpx.AsyncClient, idp: MockIdP, sp: FakeSP, idp_key: KeyPair
) -> None:
    name_id, session_index = await signed_in(client, sp, idp_key)
    xml = to_bytes(build_logout_request(logout_request(sp, name_id, session_index)))
    refused = await client.get(f"/saml/slo?{encode_redirect_query(xml)}")
    assert refused.status_code == 403
    assert "SAML-PROF-4.4.4.1" in refused.text
    assert len(idp.sessions.all()) == 1


async def test_logout_propagates_to_other_sps(
    client: httpx.AsyncClient, idp: MockIdP, sp: FakeSP, sp_key: KeyPair, idp_key: KeyPair
) -> None:
    other = FakeSP(
        entity_id="https://other.test/saml/metadata",
        acs="https://other.test/acs",
        slo="https://other.test/slo",
        key=sp_key,
    )
    idp.register_sp_metadata(other.metadata())
    name_id, session_index = await signed_in(client, sp, idp_key)
    await client.get("/saml/idp-init", params={"sp": other.entity_id})  # silent: same session
    xml = to_bytes(build_logout_request(logout_request(sp, name_id, session_index)))
    first = await client.get(
        f"/saml/slo?{encode_redirect_query(xml, relay_state='rs', key_pair=sp.key)}"
    )
    # The IdP asks the other SP first, carrying its own RelayState.
    location = first.headers["location"]
    assert location.startswith(other.slo + "?")
    to_other = decode_redirect_query(urlsplit(location).query)
    assert verify_redirect_signature(to_other, [idp_key.certificate])
    request = parse_logout_request(to_other.message)
    assert request.issuer == idp.entity_id
    reply = LogoutResponse(
        id="_r2",
        issue_instant=NOW,
        issuer=other.entity_id,
        in_response_to=request.id,
        destination=SLO,
    )
    reply_query = encode_redirect_query(
        to_bytes(build_logout_response(reply)),
        parameter="SAMLResponse",
        relay_state=to_other.relay_state,
        key_pair=sp_key,
    )
    forged_query = encode_redirect_query(
        to_bytes(build_logout_response(reply)),
        parameter="SAMLResponse",
        relay_state=to_other.relay_state,
        key_pair=sample_key("attacker"),
    )
    assert (await client.get(f"/saml/slo?{forged_query}")).status_code == 403
    final = await client.get(f"/saml/slo?{reply_query}")
    location = final.headers["location"]
    assert location.startswith(sp.slo + "?")
    done = decode_redirect_query(urlsplit(location).query)
    assert parse_logout_response(done.message).status_code == c.STATUS_SUCCESS
    assert done.relay_state == "rs"


async def test_unexpected_logout_response_refused(client: httpx.AsyncClient, sp: FakeSP) -> None:
    reply = LogoutResponse(id="_r9", issue_instant=NOW, issuer=sp.entity_id, in_response_to="_nope")
    query = encode_redirect_query(
        to_bytes(build_logout_response(reply)),
        parameter="SAMLResponse",
        relay_state="x",
        key_pair=sp.key,
    )
    refused = await client.get(f"/saml/slo?{query}")
    assert refused.status_code == 400 and "unexpected-response" in refused.text


async def test_idp_initiated_logout(
    client: httpx.AsyncClient, idp: MockIdP, sp: FakeSP, idp_key: KeyPair
) -> None:
    await signed_in(client, sp, idp_key)
    answer = await client.get("/saml/logout")
    assert answer.status_code == 302
    query = parse_qs(urlsplit(answer.headers["location"]).query)
    assert "SAMLRequest" in query and "Signature" in query
    assert idp.sessions.all() == []
    nobody = await client.get("/saml/logout")
    assert "no session" in nobody.text


async def test_post_binding_slo_endpoint_gets_a_signed_form(
    client: httpx.AsyncClient, idp: MockIdP, sp_key: KeyPair, idp_key: KeyPair
) -> None:
    from harness.protocol.saml.bindings import decode_post_value
    from harness.protocol.saml.metadata import Endpoint, SPMetadata
    from harness.protocol.saml.signing import verify_element
    from harness.protocol.xml import parse_xml

    from .fake_sp import form_fields

    entity = "https://post.test/saml/metadata"
    idp.register_sp(
        SPMetadata(
            entity,
            (Endpoint(c.BINDING_HTTP_POST, "https://post.test/acs"),),
            slo_endpoints=(Endpoint(c.BINDING_HTTP_POST, "https://post.test/slo"),),
            signing_certificates=(sp_key.certificate,),
        )
    )
    await client.get("/saml/idp-init", params={"sp": entity, "user": "alice@example.com"})
    answer = await client.get("/saml/logout")
    action, fields = form_fields(answer.text)
    assert action == "https://post.test/slo"
    request_root = parse_xml(decode_post_value(fields["SAMLRequest"]))
    verify_element(request_root, [idp_key.certificate])
    request = parse_logout_request(decode_post_value(fields["SAMLRequest"]))
    reply = LogoutResponse(
        id="_p1", issue_instant=NOW, issuer=entity, in_response_to=request.id, destination=SLO
    )
    signed = sign_element(build_logout_response(reply), sp_key)
    done = await client.post(
        "/saml/slo",
        data={
            "SAMLResponse": encode_post_value(to_bytes(signed)),
            "RelayState": fields["RelayState"],
        },
    )
    assert done.status_code == 200 and "signed out" in done.text
    assert idp.journal.entries()[-1].kind == "LogoutResponse"
