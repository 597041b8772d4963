"""Every flaw, turned on, makes the IdP break the rule it names (and is off by default)."""

from collections.abc import Callable

import pytest
from lxml import etree

from harness.protocol.keys import KeyPair
from harness.protocol.saml import constants as c
from harness.protocol.saml.bindings import encode_post_value
from harness.protocol.saml.encryption import decrypt_element
from harness.protocol.xml import parse_xml, to_bytes
from mock_idp.flaws import FLAWS, list_flaws
from mock_idp.idp import MockIdP
from mock_idp.messages import OutgoingMessage
from mock_idp.refusals import IdPError

from .conftest import BASE, NOW
from .fake_sp import NS, FakeSP

SSO = f"{BASE}/saml/sso"
SCD = "saml:Assertion/saml:Subject/saml:SubjectConfirmation/saml:SubjectConfirmationData"


def sp_initiated(idp: MockIdP, sp: FakeSP, **fields: object) -> OutgoingMessage:
    request = sp.authn_request(NOW, SSO, **fields)
    query = sp.redirect_query(request, relay_state="/rs")
    login = idp.receive_authn_request(c.BINDING_HTTP_REDIRECT, query=query)
    user = idp.directory.get_user("alice@example.com")
    assert user is not None
    return idp.issue_response(login, user)


def root_of(message: OutgoingMessage) -> etree._Element:
    return parse_xml(message.xml)


def attr(root: etree._Element, path: str, name: str) -> str | None:
    element = root.find(path, NS)
    return element.get(name) if element is not None else None


def shows(flaw: str, idp: MockIdP, sp: FakeSP, sp_key: KeyPair) -> bool:
    """True when the IdP's behaviour shows ``flaw``."""
    if flaw == "ignore-acs-url":
        sp.extra_acs = ("https://sp.test/saml/acs-two",)
        idp.register_sp_metadata(sp.metadata())
        return sp_initiated(idp, sp, acs_url="https://sp.test/saml/acs-two").url == sp.acs
    if flaw == "ignore-force-authn":
        sp_initiated(idp, sp)
        session = idp.sessions.all()[0]
        query = sp.redirect_query(sp.authn_request(NOW, SSO, force_authn=True))
        login = idp.receive_authn_request(c.BINDING_HTTP_REDIRECT, query=query)
        return idp.silent_response(login, session) is not None
    if flaw == "ignore-nameid-policy":
        root = root_of(sp_initiated(idp, sp, nameid_format=c.NAMEID_PERSISTENT))
        return (
            attr(root, "saml:Assertion/saml:Subject/saml:NameID", "Format") != c.NAMEID_PERSISTENT
        )
    if flaw == "accept-unsigned-requests":
        sp.sign_requests = True
        idp.register_sp_metadata(sp.metadata())
        form = sp.post_form(sp.authn_request(NOW, SSO))
        try:
            idp.receive_authn_request(c.BINDING_HTTP_POST, saml_request=form["SAMLRequest"])
        except IdPError:
            return False
        return True
    if flaw == "drop-relay-state":
        return sp_initiated(idp, sp).relay_state is None
    if flaw == "weak-encryption":
        sp.encrypt = True
        idp.register_sp_metadata(sp.metadata())
        encrypted = root_of(sp_initiated(idp, sp)).find("saml:EncryptedAssertion", NS)
        return decrypt_element(encrypted, [sp_key.private_key]).key_transport == "rsa-1_5"
    root = root_of(sp_initiated(idp, sp))
    checks: dict[str, Callable[[], bool]] = {
        "no-destination": lambda: root.get("Destination") is None,
        "sha1": lambda: attr(root, ".//ds:SignatureMethod", "Algorithm") == c.SIG_RSA_SHA1,
        "unsigned-assertion": lambda: root.find("saml:Assertion/ds:Signature", NS) is None,
        "unsigned": lambda: root.find(".//ds:Signature", NS) is None,
        "bad-in-response-to": lambda: root.get("InResponseTo") != "_req0001",
        "no-in-response-to": lambda: root.get("InResponseTo") is None,
        "no-audience": lambda: root.find(".//saml:AudienceRestriction", NS) is None,
        "no-recipient": lambda: attr(root, SCD, "Recipient") is None,
        "no-subject-expiry": lambda: attr(root, SCD, "NotOnOrAfter") is None,
        "no-session-index": lambda: (
            attr(root, "saml:Assertion/saml:AuthnStatement", "SessionIndex") is None
        ),
        "clock-skew": lambda: root.get("IssueInstant") == "2026-03-01T11:50:00Z",
        "mismatched-issuer": lambda: (
            root.find("saml:Issuer", NS).text  # type: ignore[union-attr]
            != root.find("saml:Assertion/saml:Issuer", NS).text
        ),  # type: ignore[union-attr]
    }
    return checks[flaw]()


@pytest.mark.parametrize("flaw", [f.name for f in FLAWS])
def test_flaw_shows_only_when_on(flaw: str, idp: MockIdP, sp: FakeSP, sp_key: KeyPair) -> None:
    assert not shows(flaw, idp, sp, sp_key), "off by default"
    idp.reset()
    idp.clock.freeze(NOW)
    fresh = FakeSP(key=sp_key)
    idp.register_sp_metadata(fresh.metadata())
    idp.add_user("alice@example.com", password="alice-pw", email="alice@example.com")
    idp.set_flaws([flaw])
    assert shows(flaw, idp, fresh, sp_key)


def test_flaw_listing_for_the_cli() -> None:
    listed = list_flaws()
    assert len(listed) == len(FLAWS) >= 15
    assert all(name and description for name, description in listed)


def test_unknown_flaw_refused(idp_key: KeyPair) -> None:
    with pytest.raises(ValueError, match="unknown flaw"):
        MockIdP(BASE, signing_keys=[idp_key], flaws=["made-up"])


def test_in_process_sso_with_a_request_xml(idp: MockIdP, sp: FakeSP) -> None:
    from harness.protocol.saml.authn_request import build_authn_request

    xml = to_bytes(build_authn_request(sp.authn_request(NOW, SSO)))
    message = idp.sso(sp.entity_id, "alice@example.com", authn_request=xml, relay_state="r")
    assert parse_xml(message.xml).get("InResponseTo") == "_req0001"
    assert message.fields["SAMLResponse"] == encode_post_value(message.xml)


def test_in_process_sso_from_an_sp_redirect_and_form(idp: MockIdP, sp: FakeSP) -> None:
    from mock_idp.refusals import LoginError

    sp.sign_requests = True
    idp.register_sp_metadata(sp.metadata())
    url = f"{SSO}?{sp.redirect_query(sp.authn_request(NOW, SSO), relay_state='/r', sign=True)}"
    message = idp.sso_from_redirect(url, "alice@example.com")
    assert message.relay_state == "/r" and message.url == sp.acs
    form = sp.post_form(sp.authn_request(NOW, SSO), "/p", sign=True)
    assert idp.sso_from_post(form, "alice@example.com").relay_state == "/p"
    with pytest.raises(LoginError):
        idp.sso_from_post(sp.post_form(sp.authn_request(NOW, SSO), sign=True), "bob@example.com")
