"""SP-initiated and IdP-initiated sign-in with the mock IdP, end to end in-process: metadata,
the AuthnRequest, the ACS, the session, /api/me, and the sign-in rules of the account."""

from __future__ import annotations

import html
import json
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from starlette.testclient import TestClient

from harness.protocol.saml import constants as c
from harness.protocol.saml.bindings import decode_redirect_query, verify_redirect_signature
from harness.protocol.saml.metadata import parse_sp_metadata
from reference_sp import refusal_audit
from reference_sp.sessions import SESSION_COOKIE

from .conftest import ADMINS, SP_BASE, World, sample_key


def test_metadata_names_the_entity_acs_slo_and_keys(world: World) -> None:
    response = world.http.get("/saml/metadata")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/samlmetadata+xml")
    md = parse_sp_metadata(response.content)
    assert md.entity_id == f"{SP_BASE}/saml/metadata"
    assert md.default_acs().location == f"{SP_BASE}/saml/acs"
    assert md.default_acs().binding == c.BINDING_HTTP_POST
    assert md.want_assertions_signed and md.authn_requests_signed
    assert md.signing_certificates and md.encryption_certificates
    assert md.slo_endpoint(c.BINDING_HTTP_REDIRECT) is not None


def test_login_redirects_with_a_signed_authn_request(world: World) -> None:
    location = world.start(RelayState="/account", email="dana@acme.test")
    assert location.startswith(f"{world.idp.sso_url}?")
    message = decode_redirect_query(urlsplit(location).query)
    verify_redirect_signature(message, [sample_key("sp").certificate])
    assert message.relay_state == "/account"
    assert b'AssertionConsumerServiceURL="http://sp.test/saml/acs"' in message.message
    assert world.http.cookies.get("sp_browser")


def test_sign_in_gives_a_session_and_api_me(world: World) -> None:
    world.provision("dana@acme.test", groups=(ADMINS,))
    assert world.me().status_code == 401
    response = world.sign_in("dana@acme.test")
    assert response.headers["location"] == "/account"
    cookie = response.headers["set-cookie"]
    assert f"{SESSION_COOKIE}=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    me = world.me().json()
    assert me["userName"] == "dana@acme.test"
    assert me["email"] == "dana@acme.test"
    assert me["organization"] == "Acme"
    assert me["roles"] == ["user", "admin"]
    assert me["license"]["state"] == "held"
    assert world.http.get("/account").status_code == 200
    assert world.http.get("/admin").status_code == 200


def test_encrypted_assertions_are_decrypted(world: World) -> None:
    world.provision("dana@acme.test")
    message = world.response_for("dana@acme.test")
    assert b"EncryptedAssertion" in message.xml
    assert world.post(message).status_code == 303
    assert world.me().status_code == 200


def test_name_id_is_matched_without_regard_to_case(world: World) -> None:
    world.provision("Dana.Scully@Acme.test", at_idp=False)
    world.idp.add_user("dana.scully@acme.test", password="pw", email="dana.scully@acme.test")
    world.sign_in("dana.scully@acme.test")
    assert world.me().json()["userName"] == "Dana.Scully@Acme.test"


def test_unknown_and_inactive_users_are_refused_with_their_codes(world: World) -> None:
    world.idp.add_user("ghost@acme.test", password="pw", email="ghost@acme.test")
    response = world.post(world.response_for("ghost@acme.test"), accept="application/json")
    assert response.status_code == 403
    assert response.json()["reason"] == "unknown-user"
    world.provision("idle@acme.test", active=False)
    response = world.post(world.response_for("idle@acme.test"), accept="application/json")
    assert response.json()["reason"] == "user-inactive"
    assert response.json()["rule"] == "BIZ-SIGNIN-1"
    assert world.me().status_code == 401
    assert [e["action"] for e in world.audit()].count("sign-in-refused") == 2


def test_refusal_page_is_html_naming_reason_and_rule(world: World) -> None:
    world.provision("dana@acme.test")
    response = world.post(world.response_for("dana@acme.test", "wrong-audience"))
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("text/html")
    assert 'id="reason">wrong-audience<' in response.text
    assert "SAML-CORE-2.5.1.4" in response.text
    assert SESSION_COOKIE not in response.headers.get("set-cookie", "")


def test_idp_initiated_sign_in(world: World) -> None:
    world.provision("dana@acme.test")
    message = world.idp.sso(world.sp.entity_id, "dana@acme.test", relay_state="/account")
    assert world.post(message).status_code == 303
    assert world.me().status_code == 200


def test_idp_initiated_refused_when_the_organisation_disallows_it(world: World) -> None:
    world.sp.add_organisation(
        "Acme",
        "acme-scim-token",
        idp_metadata=world.idp.metadata_xml(),
        email_domains=["acme.test"],
        allow_idp_initiated=False,
    )
    world.provision("dana@acme.test")
    message = world.idp.sso(world.sp.entity_id, "dana@acme.test")
    response = world.post(message, accept="application/json")
    assert response.json()["reason"] == "unsolicited"


def test_response_to_a_request_of_another_browser_is_refused(world: World) -> None:
    world.provision("dana@acme.test")
    victim = world.http_session()
    message = world.response_for("dana@acme.test", browser=world.http)
    response = world.post(message, victim, accept="application/json")
    assert response.json()["reason"] == "wrong-in-response-to"
    assert world.me(victim).status_code == 401


def test_relay_state_redirects_only_to_own_paths(world: World) -> None:
    world.provision("dana@acme.test")
    for evil in ("https://evil.example/", "//evil.example", "/\\evil.example", "javascript:x"):
        location = world.start(email="dana@acme.test", RelayState=evil)
        relay = parse_qs(urlsplit(location).query)["RelayState"][0]
        assert relay == "/account"
    message = world.idp.sso(world.sp.entity_id, "dana@acme.test", relay_state="//evil.example")
    assert world.post(message).headers["location"] == "/account"
    message = world.idp.sso(world.sp.entity_id, "dana@acme.test", relay_state="/admin")
    assert world.post(message).headers["location"] == "/admin"


def test_landing_routes_by_email_domain(world: World) -> None:
    page = world.http.get("/")
    assert "Continue with SSO" in page.text
    response = world.http.get("/saml/login", params={"email": "someone@other.example"})
    assert response.status_code == 400
    assert "other.example" in response.text
    assert world.start(email="Someone@ACME.test").startswith(world.idp.sso_url)


def test_a_new_sign_in_ends_the_browsers_previous_session(world: World) -> None:
    world.provision("dana@acme.test")
    world.provision("eve@acme.test")
    world.sign_in("dana@acme.test")
    old_cookie = world.http.cookies.get(SESSION_COOKIE)
    world.sign_in("eve@acme.test")
    assert world.me().json()["userName"] == "eve@acme.test"
    current = world.http_session()
    current.cookies.set(SESSION_COOKIE, world.http.cookies.get(SESSION_COOKIE) or "")
    assert world.me(current).status_code == 200
    stale = world.http_session()
    stale.cookies.set(SESSION_COOKIE, old_cookie or "")
    assert world.me(stale).status_code == 401


def test_requests_are_signed_when_the_idp_wants_them_even_if_the_sp_would_not() -> None:
    from harness.protocol.saml.errors import SAMLError
    from mock_idp.idp import MockIdP
    from reference_sp.app import ReferenceSP, Settings

    from .conftest import IDP_BASE, NOW

    for wants in (False, True):
        idp = MockIdP(IDP_BASE, signing_keys=[sample_key("idp")], want_authn_requests_signed=wants)
        idp.clock.freeze(NOW)
        sp = ReferenceSP(
            Settings(
                db_url="sqlite://",
                base_url=SP_BASE,
                key=sample_key("sp"),
                cookie_secret=b"k",
                sign_requests=False,
            )
        )
        try:
            sp.add_organisation("Acme", "t", idp_metadata=idp.metadata_xml())
            with TestClient(sp.app, base_url=SP_BASE, follow_redirects=False) as http:
                idp.register_sp_metadata(http.get("/saml/metadata").content)
                location = http.get("/saml/login").headers["location"]
            assert ("Signature=" in location) is wants
            message = decode_redirect_query(urlsplit(location).query)
            assert (message.signature is not None) is wants
            idp.add_user("dana@acme.test", password="pw")
            try:
                idp.sso_from_redirect(location, "dana@acme.test")  # the IdP accepts it
            except SAMLError as exc:  # pragma: no cover - a failure message
                raise AssertionError(exc.reason) from exc
        finally:
            sp.close()


def test_a_post_without_the_browser_cookie_is_posted_again_from_this_site(world: World) -> None:
    """A cross-site IdP's POST arrives without the SameSite=Lax browser cookie: the ACS posts
    the form again from its own site, where the cookie comes along."""
    world.provision("dana@acme.test")
    message = world.response_for("dana@acme.test")  # started by world.http (has the cookie)
    cross_site = world.http_session()  # what the ACS sees of the IdP's cross-site POST: no cookie
    page = cross_site.post("/saml/acs", data=message.fields)
    assert page.status_code == 200
    assert 'name="sp_resubmitted" value="1"' in page.text
    fields = dict(re.findall(r'<input type="hidden" name="([^"]*)" value="([^"]*)"', page.text))
    assert world.me(cross_site).status_code == 401
    again = world.http.post("/saml/acs", data={k: html.unescape(v) for k, v in fields.items()})
    assert again.status_code == 303
    assert world.me().json()["userName"] == "dana@acme.test"
    # Posted again without the cookie, it is refused: the request is not this browser's.
    refused = cross_site.post("/saml/acs", data={k: html.unescape(v) for k, v in fields.items()})
    assert refused.status_code == 403


def test_protocol_refusals_are_audited_with_reason_and_rule(world: World) -> None:
    world.provision("dana@acme.test", groups=(ADMINS,))
    refused = world.post(world.response_for("dana@acme.test", "wrong-audience"))
    assert refused.status_code == 403
    entries = [e for e in world.audit() if e["action"] == "sign-in-refused"]
    assert len(entries) == 1
    entry = entries[0]
    detail = json.loads(entry["detail"])
    assert detail["reason"] == "wrong-audience"
    assert detail["rule"] == "SAML-CORE-2.5.1.4"
    assert entry["at"] and entry["actor"] == "saml"
    assert entry["user_name"] is None  # nothing from an unaccepted message names a user
    assert len(entry["detail"]) < 600  # the reason, never the message
    world.sign_in("dana@acme.test")
    page = world.http.get("/admin")
    assert page.status_code == 200
    assert "wrong-audience" in page.text


def test_protocol_refusals_of_a_replay_and_a_bad_signature_are_audited(world: World) -> None:
    world.provision("dana@acme.test")
    message = world.response_for("dana@acme.test")
    assert world.post(message).status_code == 303
    assert world.post(message).status_code == 403  # the same response again
    world.post(world.response_for("dana@acme.test", "wrong-key"))
    reasons = [
        json.loads(e["detail"])["reason"] for e in world.audit() if e["action"] == "sign-in-refused"
    ]
    assert reasons == ["replayed", "bad-signature"]


def test_protocol_refusals_audited_are_bounded(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(refusal_audit, "KEPT", 3)
    world.provision("idle@acme.test", active=False)
    world.post(world.response_for("idle@acme.test"))  # a business refusal: never pruned
    world.provision("dana@acme.test")
    for _ in range(5):
        world.post(world.response_for("dana@acme.test", "wrong-audience"))
    refusals = [e for e in world.audit() if e["action"] == "sign-in-refused"]
    assert [e["actor"] for e in refusals] == ["sso", "saml", "saml", "saml"]
