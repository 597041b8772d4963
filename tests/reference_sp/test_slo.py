"""Single logout with the mock IdP: SP-initiated (sign out here, then at the IdP) and
IdP-initiated (the IdP ends the session here); unsigned or unexpected messages are refused."""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import urlsplit

from starlette.testclient import TestClient

from harness.protocol.saml import constants as c
from harness.protocol.saml.bindings import decode_redirect_query, encode_redirect_query
from harness.protocol.saml.logout import (
    LogoutRequest,
    LogoutResponse,
    build_logout_request,
    build_logout_response,
    parse_logout_response,
)
from harness.protocol.xml import to_bytes
from mock_idp.messages import OutgoingMessage

from .conftest import NOW, World, sample_key

USER = "dana@acme.test"


def deliver(world: World, message: OutgoingMessage, browser: TestClient | None = None) -> Any:
    browser = browser or world.http
    parts = urlsplit(message.url)
    assert parts.path == "/saml/slo"
    if message.binding == c.BINDING_HTTP_POST:
        return browser.post("/saml/slo", data=message.fields)
    return browser.get(f"/saml/slo?{parts.query}")


def csrf(world: World) -> str:
    return world.http.get("/account").text.split('name="csrf" value="')[1].split('"')[0]


def test_sp_initiated_logout_ends_both_sessions(world: World) -> None:
    world.provision(USER)
    world.sign_in(USER)
    assert len(world.idp.sessions.all()) == 1
    assert world.http.post("/logout", data={"csrf": "nope"}).status_code == 403
    assert world.me().status_code == 200
    answer = world.http.post("/logout", data={"csrf": csrf(world)})
    assert answer.status_code == 303
    assert world.me().status_code == 401  # ended here before the IdP answers
    location = answer.headers["location"]
    assert location.startswith(world.idp.slo_url)
    reply = world.idp.receive_slo(c.BINDING_HTTP_REDIRECT, query=urlsplit(location).query)
    assert reply is not None and reply.kind == "LogoutResponse"
    assert world.idp.sessions.all() == []
    page = deliver(world, reply)
    assert page.status_code == 200
    assert "signed out here and at your identity provider" in page.text
    # The same LogoutResponse again answers nothing of ours.
    assert deliver(world, reply).status_code == 403


def test_idp_initiated_logout_ends_the_session_here(world: World) -> None:
    world.provision(USER)
    world.sign_in(USER)
    other = world.http_session()
    world.sign_in(USER, other)
    sessions = world.idp.sessions.all()
    request = world.idp.logout.start(sessions[0])
    assert request is not None and request.kind == "LogoutRequest"
    answer = deliver(world, request)
    assert answer.status_code == 302
    assert world.me().status_code == 401
    assert world.me(other).status_code == 200  # another IdP session (SessionIndex) stays
    message = decode_redirect_query(urlsplit(answer.headers["location"]).query)
    response = parse_logout_response(message.message)
    assert response.status_code == c.STATUS_SUCCESS
    assert response.in_response_to == request.message_id
    assert "sessions-ended" in [e["action"] for e in world.audit()]


def test_unsigned_logout_request_is_refused(world: World) -> None:
    world.provision(USER)
    world.sign_in(USER)
    request = LogoutRequest(
        id="_forged",
        issue_instant=NOW,
        issuer=world.idp.entity_id,
        name_id=USER,
        destination=world.sp.slo_url,
    )
    query = encode_redirect_query(to_bytes(build_logout_request(request)))
    answer = world.http.get(f"/saml/slo?{query}", headers={"accept": "application/json"})
    assert (answer.status_code, answer.json()["reason"]) == (403, "unsigned")
    forged = encode_redirect_query(
        to_bytes(build_logout_request(request)), key_pair=sample_key("attacker")
    )
    answer = world.http.get(f"/saml/slo?{forged}", headers={"accept": "application/json"})
    assert answer.json()["reason"] == "bad-signature"
    assert world.me().status_code == 200


def test_logout_response_to_no_request_is_refused(world: World) -> None:
    response = LogoutResponse(
        id="_r",
        issue_instant=NOW,
        issuer=world.idp.entity_id,
        in_response_to="_never-sent",
        destination=world.sp.slo_url,
    )
    query = encode_redirect_query(
        to_bytes(build_logout_response(response)),
        parameter="SAMLResponse",
        key_pair=sample_key("idp"),
    )
    answer = world.http.get(f"/saml/slo?{query}", headers={"accept": "application/json"})
    assert (answer.status_code, answer.json()["reason"]) == (403, "wrong-in-response-to")


def test_slo_garbage_is_a_4xx(world: World) -> None:
    for query in ("", "SAMLRequest=%%%", "SAMLRequest=AAAA&SAMLRequest=BBBB", "x=1"):
        answer = world.http.get(f"/saml/slo?{query}", headers={"accept": "application/json"})
        assert 400 <= answer.status_code < 500, (query, answer.text)
    assert world.http.post("/saml/slo", data={"SAMLRequest": "???"}).status_code == 400


def test_a_dtd_in_a_logout_message_is_refused_before_parsing(world: World) -> None:
    xxe = b'<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><samlp:LogoutRequest/>'
    query = encode_redirect_query(xxe)
    answer = world.http.get(f"/saml/slo?{query}", headers={"accept": "application/json"})
    assert (answer.status_code, answer.json()["reason"]) == (400, "doctype")
    posted = world.http.post(
        "/saml/slo",
        data={"SAMLRequest": base64.b64encode(xxe).decode()},
        headers={"accept": "application/json"},
    )
    assert (posted.status_code, posted.json()["reason"]) == (400, "doctype")
