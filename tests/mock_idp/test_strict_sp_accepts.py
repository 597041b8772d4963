"""The core's strict SP validation accepts what the mock IdP sends by default, for every
preset, plain and encrypted, SP- and IdP-initiated; and refuses it with each flaw that breaks
an SP-side rule."""

import pytest

from harness.protocol.keys import KeyPair
from harness.protocol.saml.authn_request import build_authn_request
from harness.protocol.saml.sp_validation import SPExpectations, validate_response
from harness.protocol.xml import to_bytes
from mock_idp.flaws import FLAWS
from mock_idp.idp import MockIdP

from .conftest import BASE, NOW, frozen_clock
from .fake_sp import FakeSP

# Flaws a strict SP cannot see in one response: they change how requests are handled.
BEHAVIOURAL = {
    "ignore-acs-url",
    "ignore-force-authn",
    "ignore-nameid-policy",
    "accept-unsigned-requests",
    "drop-relay-state",
    "no-session-index",
}


def setup(
    idp_key: KeyPair, sp: FakeSP, preset: str = "generic", flaws: tuple[str, ...] = ()
) -> MockIdP:
    idp = MockIdP(
        BASE, signing_keys=[idp_key], preset=preset, seed=2, clock=frozen_clock(), flaws=flaws
    )
    idp.register_sp_metadata(sp.metadata())
    idp.add_user("alice@example.com", email="alice@example.com", given_name="Alice", groups=["G"])
    return idp


def expect(idp: MockIdP, sp: FakeSP, sp_key: KeyPair, request_id: str | None) -> SPExpectations:
    return SPExpectations(
        sp_entity_id=sp.entity_id,
        acs_url=sp.acs,
        idp_entity_id=idp.entity_id,
        trusted_certificates=(idp.signing_key.certificate,),
        now=NOW,
        request_id=request_id,
        decryption_keys=(sp_key.private_key,),
    )


@pytest.mark.parametrize("preset", ["generic", "entra", "okta", "ping"])
@pytest.mark.parametrize("encrypt", [False, True])
def test_default_output_passes_strict_validation(
    preset: str, encrypt: bool, idp_key: KeyPair, sp_key: KeyPair
) -> None:
    sp = FakeSP(key=sp_key, encrypt=encrypt)
    idp = setup(idp_key, sp, preset)
    request = sp.authn_request(NOW, f"{BASE}/saml/sso")
    solicited = idp.sso(
        sp.entity_id, "alice@example.com", authn_request=to_bytes(build_authn_request(request))
    )
    login = validate_response(solicited.xml, expect(idp, sp, sp_key, request.id))
    assert login.encrypted == encrypt
    assert login.attributes
    unsolicited = idp.sso(sp.entity_id, "alice@example.com")
    validate_response(unsolicited.xml, expect(idp, sp, sp_key, None))


@pytest.mark.parametrize("flaw", sorted({f.name for f in FLAWS} - BEHAVIOURAL))
def test_response_flaws_are_caught_by_a_strict_sp(
    flaw: str, idp_key: KeyPair, sp_key: KeyPair
) -> None:
    from harness.protocol.saml.errors import SAMLError

    sp = FakeSP(key=sp_key, encrypt=flaw == "weak-encryption")
    idp = setup(idp_key, sp, flaws=(flaw,))
    request = sp.authn_request(NOW, f"{BASE}/saml/sso")
    message = idp.sso(
        sp.entity_id, "alice@example.com", authn_request=to_bytes(build_authn_request(request))
    )
    with pytest.raises(SAMLError):
        validate_response(message.xml, expect(idp, sp, sp_key, request.id))
