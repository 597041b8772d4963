"""Logout goes to an SP only on a front-channel binding it lists (Redirect, else POST).

Shibboleth SP lists its SOAP SingleLogoutService first; a browser form posted there is refused
(500) and the session at the SP stays open. An SP that lists no front-channel endpoint is
skipped, with a journal entry saying why, and the logout goes on with the others.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx
import pytest

from harness.protocol.keys import KeyPair
from harness.protocol.saml import constants as c
from harness.protocol.saml.bindings import decode_redirect_query, encode_redirect_query
from harness.protocol.saml.logout import (
    LogoutResponse,
    build_logout_request,
    build_logout_response,
    parse_logout_request,
    parse_logout_response,
)
from harness.protocol.saml.metadata import Endpoint, SPMetadata
from harness.protocol.xml import to_bytes
from mock_idp.idp import MockIdP

from .conftest import NOW
from .fake_sp import FakeSP, form_fields
from .test_slo import SLO, logout_request, signed_in

pytestmark = pytest.mark.anyio
USER = "alice@example.com"


def soap(host: str) -> Endpoint:
    return Endpoint(c.BINDING_SOAP, f"https://{host}/slo/soap")


def redirect(host: str) -> Endpoint:
    return Endpoint(c.BINDING_HTTP_REDIRECT, f"https://{host}/slo/redirect")


def post(host: str) -> Endpoint:
    return Endpoint(c.BINDING_HTTP_POST, f"https://{host}/slo/post")


def register(idp: MockIdP, sp_key: KeyPair, host: str, *slo: Endpoint) -> str:
    entity = f"https://{host}/saml/metadata"
    idp.register_sp(
        SPMetadata(
            entity,
            (Endpoint(c.BINDING_HTTP_POST, f"https://{host}/acs"),),
            slo_endpoints=slo,
            signing_certificates=(sp_key.certificate,),
        )
    )
    return entity


async def sign_in_to(client: httpx.AsyncClient, *entities: str, fresh: bool = True) -> None:
    """IdP-initiated SSO to each SP in one IdP session (``fresh``: the first one starts it)."""
    for position, entity in enumerate(entities):
        params = {"sp": entity, "user": USER} if fresh and position == 0 else {"sp": entity}
        answer = await client.get("/saml/idp-init", params=params)
        assert answer.status_code == 200 and "SAMLResponse" in answer.text


def skipped(idp: MockIdP) -> list[str | None]:
    entries = idp.journal.entries(kind="LogoutSkipped")
    for entry in entries:
        assert entry.verdicts[0].check == "slo-front-channel"
        assert "no HTTP-Redirect or HTTP-POST" in entry.verdicts[0].message
    return [entry.sp for entry in entries]


async def test_soap_listed_first_then_redirect_gets_redirect(
    client: httpx.AsyncClient, idp: MockIdP, sp_key: KeyPair
) -> None:
    entity = register(idp, sp_key, "shib.test", soap("shib.test"), redirect("shib.test"))
    await sign_in_to(client, entity)
    answer = await client.get("/saml/logout")
    assert answer.status_code == 302
    assert answer.headers["location"].startswith(redirect("shib.test").location + "?")
    assert skipped(idp) == []


async def test_post_only_gets_a_form(
    client: httpx.AsyncClient, idp: MockIdP, sp_key: KeyPair
) -> None:
    entity = register(idp, sp_key, "post.test", soap("post.test"), post("post.test"))
    await sign_in_to(client, entity)
    answer = await client.get("/saml/logout")
    action, fields = form_fields(answer.text)
    assert action == post("post.test").location and "SAMLRequest" in fields


async def test_soap_only_is_skipped_and_the_logout_goes_on(
    client: httpx.AsyncClient, idp: MockIdP, sp_key: KeyPair
) -> None:
    soap_only = register(idp, sp_key, "soap.test", soap("soap.test"))
    other = register(idp, sp_key, "other.test", soap("other.test"), redirect("other.test"))
    await sign_in_to(client, soap_only, other)
    answer = await client.get("/saml/logout")
    location = answer.headers["location"]
    assert location.startswith(redirect("other.test").location + "?")
    assert skipped(idp) == [soap_only]
    sent = idp.journal.entries(kind="LogoutRequest", direction="out")
    assert [entry.sp for entry in sent] == [other]  # nothing was sent to the SOAP endpoint
    request = parse_logout_request(decode_redirect_query(urlsplit(location).query).message)
    reply = LogoutResponse(
        id="_r1", issue_instant=NOW, issuer=other, in_response_to=request.id, destination=SLO
    )
    query = encode_redirect_query(
        to_bytes(build_logout_response(reply)),
        parameter="SAMLResponse",
        relay_state=decode_redirect_query(urlsplit(location).query).relay_state,
        key_pair=sp_key,
    )
    done = await client.get(f"/saml/slo?{query}")
    assert done.status_code == 200 and "signed out" in done.text
    assert idp.sessions.all() == []


async def test_soap_only_alone_ends_on_the_signed_out_page(
    client: httpx.AsyncClient, idp: MockIdP, sp_key: KeyPair
) -> None:
    entity = register(idp, sp_key, "soap.test", soap("soap.test"))
    await sign_in_to(client, entity)
    answer = await client.get("/saml/logout")
    assert answer.status_code == 200 and "signed out" in answer.text
    assert "soap.test/slo" not in answer.text
    assert skipped(idp) == [entity]
    assert idp.sessions.all() == []


async def test_sp_initiated_with_a_soap_only_peer_answers_partial_logout(
    client: httpx.AsyncClient, idp: MockIdP, sp: FakeSP, sp_key: KeyPair, idp_key: KeyPair
) -> None:
    name_id, session_index = await signed_in(client, sp, idp_key)
    soap_only = register(idp, sp_key, "soap.test", soap("soap.test"))
    await sign_in_to(client, soap_only, fresh=False)
    xml = to_bytes(build_logout_request(logout_request(sp, name_id, session_index)))
    answer = await client.get(f"/saml/slo?{encode_redirect_query(xml, key_pair=sp.key)}")
    location = answer.headers["location"]
    assert location.startswith(sp.slo + "?")  # straight back to the originator
    response = parse_logout_response(decode_redirect_query(urlsplit(location).query).message)
    assert response.status_code == c.STATUS_PARTIAL_LOGOUT
    assert skipped(idp) == [soap_only]


async def test_a_front_channel_request_from_a_soap_only_sp_is_refused(
    client: httpx.AsyncClient, idp: MockIdP, sp_key: KeyPair
) -> None:
    entity = register(idp, sp_key, "soap.test", soap("soap.test"))
    await sign_in_to(client, entity)
    soap_sp = FakeSP(entity_id=entity, key=sp_key)
    xml = to_bytes(build_logout_request(logout_request(soap_sp, USER, None)))
    refused = await client.get(f"/saml/slo?{encode_redirect_query(xml, key_pair=sp_key)}")
    assert refused.status_code == 400 and "no-slo-endpoint" in refused.text
    assert len(idp.sessions.all()) == 1
