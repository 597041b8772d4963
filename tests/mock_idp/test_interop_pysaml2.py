"""Interop: pysaml2 (with the xmlsec1 binary) as an independent SP validates what the mock IdP
sends, for every signing and encryption choice, and rejects what the mutators break."""

import base64
import shutil
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from saml2.client import Saml2Client
from saml2.config import SPConfig
from saml2.metadata import entity_descriptor

from harness.protocol.keys import KeyPair
from harness.protocol.saml import constants as c
from mock_idp.idp import MockIdP
from mock_idp.service_providers import SPSettings

from .conftest import sample_key

# An interop test that cannot run is a failure, not a skip: the README and .ci/run install it.
XMLSEC = shutil.which("xmlsec1")
if XMLSEC is None:
    raise RuntimeError("the interop tests need the xmlsec1 program: apt-get install xmlsec1")

SP_ENTITY = "https://sp.example/saml/metadata"
ACS = "https://sp.example/saml/acs"
BASE = "http://idp.example"


def pysaml2_sp(
    tmp_path: Path, idp: MockIdP, sp_key: KeyPair, *, want: str, encrypt: bool
) -> Saml2Client:
    key_file, cert_file = tmp_path / "sp.key", tmp_path / "sp.crt"
    key_file.write_bytes(sp_key.private_key_pem())
    cert_file.write_bytes(sp_key.certificate_pem())
    config = {
        "entityid": SP_ENTITY,
        "service": {
            "sp": {
                "endpoints": {
                    "assertion_consumer_service": [(ACS, BINDING_HTTP_POST)],
                    "single_logout_service": [
                        ("https://sp.example/saml/slo", BINDING_HTTP_REDIRECT)
                    ],
                },
                "want_response_signed": want in ("response", "both"),
                "want_assertions_signed": want in ("assertion", "both"),
                "allow_unsolicited": True,
                "authn_requests_signed": False,
            }
        },
        "metadata": {"inline": [idp.metadata_xml().decode()]},
        "key_file": str(key_file),
        "cert_file": str(cert_file),
        "xmlsec_binary": XMLSEC,
        "accepted_time_diff": 120,
        "allow_unknown_attributes": True,
    }
    if encrypt:
        config["encryption_keypairs"] = [{"key_file": str(key_file), "cert_file": str(cert_file)}]
    sp_config = SPConfig().load(config)
    client = Saml2Client(config=sp_config)
    # The mock IdP imports pysaml2's own SP metadata: interop in the other direction too.
    idp.register_sp_metadata(str(entity_descriptor(sp_config)).encode())
    return client


def make_idp(key: KeyPair, preset: str = "generic") -> MockIdP:
    idp = MockIdP(
        BASE, signing_keys=[key], preset=preset, seed=11, attacker_key=sample_key("attacker")
    )
    idp.add_user(
        "alice@example.com", email="alice@example.com", given_name="Alice", groups=["Admins"]
    )
    return idp


def parse(client: Saml2Client, saml_response: str, outstanding: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return client.parse_authn_request_response(
        saml_response, BINDING_HTTP_POST, outstanding=outstanding
    )


SIGNING = [
    ("both", "rsa-sha256"),
    ("assertion", "rsa-sha256"),
    ("response", "rsa-sha256"),
    ("both", "rsa-sha512"),
    ("both", "rsa-sha1"),
    ("assertion", "ecdsa-sha256"),
    ("response", "ecdsa-sha256"),
    ("both", "ecdsa-sha512"),
]


@pytest.mark.parametrize(("sign", "algorithm"), SIGNING)
def test_signing_choices_validate(
    tmp_path: Path, sp_key: KeyPair, sign: str, algorithm: str
) -> None:
    key = sample_key("idp-ec") if algorithm.startswith("ecdsa") else sample_key("idp")
    idp = make_idp(key)
    client = pysaml2_sp(tmp_path, idp, sp_key, want=sign, encrypt=False)
    idp.sps[SP_ENTITY].settings = SPSettings(
        sign_assertion=sign in ("assertion", "both"),
        sign_response=sign in ("response", "both"),
        signature_algorithm=algorithm,
        encrypt=False,
    )
    message = idp.sso(SP_ENTITY, "alice@example.com", relay_state="/x")
    result = parse(client, message.fields["SAMLResponse"])
    assert result is not None
    assert result.name_id.text == "alice@example.com"
    assert result.ava["groups"] == ["Admins"]


@pytest.mark.parametrize(
    ("block", "transport"),
    [
        ("aes256-gcm", "rsa-oaep"),
        ("aes128-gcm", "rsa-oaep"),
        ("aes256-cbc", "rsa-oaep"),
        ("aes128-cbc", "rsa-1_5"),
    ],
)
@pytest.mark.parametrize("sign", ["both", "assertion"])
def test_encryption_choices_validate(
    tmp_path: Path, sp_key: KeyPair, block: str, transport: str, sign: str
) -> None:
    idp = make_idp(sample_key("idp"))
    client = pysaml2_sp(tmp_path, idp, sp_key, want=sign, encrypt=True)
    idp.sps[SP_ENTITY].settings = SPSettings(
        sign_assertion=True,
        sign_response=sign == "both",
        encrypt=True,
        encryption_block=block,
        encryption_transport=transport,
    )
    message = idp.sso(SP_ENTITY, "alice@example.com")
    assert b"EncryptedAssertion" in base64.b64decode(message.fields["SAMLResponse"])
    result = parse(client, message.fields["SAMLResponse"])
    assert result is not None and result.name_id.text == "alice@example.com"


@pytest.mark.parametrize("preset", ["generic", "entra", "okta", "ping"])
def test_presets_validate_sp_initiated_from_a_pysaml2_request(
    tmp_path: Path, sp_key: KeyPair, preset: str
) -> None:
    idp = make_idp(sample_key("idp"), preset)
    client = pysaml2_sp(tmp_path, idp, sp_key, want="assertion", encrypt=False)
    request_id, info = client.prepare_for_authenticate(
        entityid=idp.entity_id, relay_state="/after", binding=BINDING_HTTP_REDIRECT
    )
    location = dict(info["headers"])["Location"]
    login = idp.receive_authn_request(c.BINDING_HTTP_REDIRECT, query=urlsplit(location).query)
    assert login.request is not None and login.request.id == request_id
    user = idp.directory.get_user("alice@example.com")
    assert user is not None
    message = idp.issue_response(login, user)
    assert message.relay_state == "/after"
    result = parse(client, message.fields["SAMLResponse"], outstanding={request_id: "/after"})
    assert result is not None
    assert result.in_response_to == request_id
    assert result.ava  # every preset's attributes come through


@pytest.mark.parametrize(
    "mutator",
    ["wrong-key", "tamper-after-signing", "corrupt-signature", "expired", "wrong-audience"],
)
def test_pysaml2_rejects_what_the_mutators_break(
    tmp_path: Path, sp_key: KeyPair, mutator: str
) -> None:
    idp = make_idp(sample_key("idp"))
    client = pysaml2_sp(tmp_path, idp, sp_key, want="both", encrypt=False)
    idp.plan_next(mutator)
    message = idp.sso(SP_ENTITY, "alice@example.com")
    with pytest.raises(Exception):  # noqa: B017 - pysaml2 raises a different class per check
        parse(client, message.fields["SAMLResponse"])
