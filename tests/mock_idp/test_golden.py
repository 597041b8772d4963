"""Golden files: with a seed, a frozen clock and fixed keys the IdP's XML is byte-for-byte stable.

Regenerate after an intended change with ``SSO_HARNESS_UPDATE_GOLDEN=1 pytest tests/mock_idp``
and review the diff like code.
"""

import os
from pathlib import Path

import pytest

from harness.protocol.keys import KeyPair
from harness.protocol.saml import constants as c
from harness.protocol.saml.authn_request import build_authn_request
from harness.protocol.saml.signing import verify_element
from harness.protocol.xml import parse_xml, to_bytes
from mock_idp.clock import Clock
from mock_idp.idp import MockIdP

from .conftest import BASE, NOW
from .fake_sp import FakeSP

GOLDEN = Path(__file__).parents[1] / "samples" / "saml" / "golden"
UPDATE = os.environ.get("SSO_HARNESS_UPDATE_GOLDEN") == "1"


def compare(name: str, xml: bytes) -> None:
    # Exact bytes, not pretty-printed: the files stay verifiable signed samples.
    path = GOLDEN / name
    if UPDATE or not path.exists():
        path.write_bytes(xml)
    assert xml == path.read_bytes(), f"{name} changed; see the module docstring"


def golden_idp(key: KeyPair, preset: str, sp: FakeSP) -> MockIdP:
    clock = Clock()
    clock.freeze(NOW)
    idp = MockIdP(BASE, signing_keys=[key], preset=preset, seed=1234, clock=clock)
    idp.register_sp_metadata(sp.metadata())
    idp.add_user(
        "alice@example.com",
        email="alice@example.com",
        given_name="Alice",
        family_name="Liddell",
        groups=["Business Account Admins"],
    )
    return idp


@pytest.mark.parametrize("preset", ["generic", "entra", "okta", "ping"])
def test_response_is_stable(preset: str, idp_key: KeyPair) -> None:
    sp = FakeSP()  # no SP key: no encryption, whose RSA padding is random by design
    idp = golden_idp(idp_key, preset, sp)
    request = to_bytes(build_authn_request(sp.authn_request(NOW, f"{BASE}/saml/sso")))
    message = idp.sso(sp.entity_id, "alice@example.com", authn_request=request, relay_state="/r")
    compare(f"response-{preset}.xml", message.xml)
    again = golden_idp(idp_key, preset, FakeSP()).sso(
        sp.entity_id, "alice@example.com", authn_request=request, relay_state="/r"
    )
    assert again.xml == message.xml


def test_metadata_is_stable(idp_key: KeyPair) -> None:
    compare("idp-metadata.xml", golden_idp(idp_key, "generic", FakeSP()).metadata_xml())


def test_golden_files_are_verifiable_signed_samples(idp_key: KeyPair) -> None:
    paths = sorted(GOLDEN.glob("response-*.xml"))
    assert len(paths) == 4
    for path in paths:
        root = parse_xml(path.read_bytes())
        assert root.tag == c.q(c.SAMLP, "Response")
        assertion = root.find(c.q(c.SAML, "Assertion"))
        assert assertion is not None
        verify_element(assertion, [idp_key.certificate])
        if root.find(c.q(c.DS, "Signature")) is not None:
            verify_element(root, [idp_key.certificate])


def test_vendor_namespace_shapes() -> None:
    okta = (GOLDEN / "response-okta.xml").read_bytes()
    assert okta.startswith(b"<saml2p:Response") and b"<saml2:Assertion" in okta
    entra = (GOLDEN / "response-entra.xml").read_bytes()
    assert b'<Assertion xmlns="urn:oasis:names:tc:SAML:2.0:assertion"' in entra
