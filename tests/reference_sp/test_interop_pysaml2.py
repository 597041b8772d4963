"""Interop: pysaml2 (with the xmlsec1 binary), an independent SAML IdP implementation, answers
the reference SP's own AuthnRequest; the SP accepts its signed (and encrypted) response, and
still refuses it when its rules are broken."""

from __future__ import annotations

import base64
import functools
import shutil
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from cryptography.utils import CryptographyDeprecationWarning
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from saml2.config import IdPConfig
from saml2.saml import NAMEID_FORMAT_EMAILADDRESS, NameID
from saml2.xmldsig import DIGEST_SHA1, DIGEST_SHA256, SIG_RSA_SHA1, SIG_RSA_SHA256
from starlette.testclient import TestClient

with warnings.catch_warnings():
    # pysaml2 touches a cipher mode that cryptography has moved (a notice about pysaml2).
    warnings.simplefilter("ignore", CryptographyDeprecationWarning)
    import saml2.entity
    import saml2.sigver
    from saml2.server import Server

from reference_sp.app import ReferenceSP, Settings
from tests.scim.conftest import ScimClient

from .conftest import sample_key

XMLSEC = shutil.which("xmlsec1")
if XMLSEC is None:
    raise RuntimeError("the interop tests need the xmlsec1 program: apt-get install xmlsec1")

SP_BASE = "http://sp.example"
IDP_ENTITY = "https://pysaml2-idp.example/idp"
IDP_SSO = "https://pysaml2-idp.example/sso"
USER = "dana@acme.test"


def idp_server(tmp_path: Path, sp_metadata: bytes) -> Server:
    key, cert = tmp_path / "idp.key", tmp_path / "idp.crt"
    pair = sample_key("idp-rollover")
    key.write_bytes(pair.private_key_pem())
    cert.write_bytes(pair.certificate_pem())
    config = IdPConfig()
    config.load(
        {
            "entityid": IDP_ENTITY,
            "service": {
                "idp": {
                    "endpoints": {
                        "single_sign_on_service": [
                            (IDP_SSO, BINDING_HTTP_REDIRECT),
                            (IDP_SSO, BINDING_HTTP_POST),
                        ]
                    },
                    "name_id_format": [NAMEID_FORMAT_EMAILADDRESS],
                    "policy": {"default": {"lifetime": {"minutes": 5}}},
                }
            },
            "metadata": {"inline": [sp_metadata.decode()]},
            "key_file": str(key),
            "cert_file": str(cert),
            "encryption_keypairs": [{"key_file": str(key), "cert_file": str(cert)}],
            "xmlsec_binary": XMLSEC,
        }
    )
    return Server(config=config)


def idp_metadata(server: Server) -> bytes:
    from saml2.metadata import entity_descriptor

    return str(entity_descriptor(server.config)).encode()


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[tuple[ReferenceSP, TestClient, Server]]:
    sp = ReferenceSP(
        Settings(
            db_url="sqlite://",
            base_url=SP_BASE,
            key=sample_key("sp"),
            cookie_secret=b"s",
        )
    )
    with TestClient(sp.app, base_url=SP_BASE, follow_redirects=False) as http:
        server = idp_server(tmp_path, http.get("/saml/metadata").content)
        sp.add_organisation(
            "Acme", "tok", idp_metadata=idp_metadata(server), email_domains=["acme.test"]
        )
        ScimClient(http, "tok").create_user(USER, active=True)
        yield sp, http, server
    sp.close()


def answer(
    http: TestClient, server: Server, *, encrypt: bool, name_id: str = USER, **extra: Any
) -> dict[str, str]:
    location = http.get("/saml/login", params={"email": USER}).headers["location"]
    query = parse_qs(urlsplit(location).query)
    request = server.parse_authn_request(query["SAMLRequest"][0], BINDING_HTTP_REDIRECT)
    assert request.message.signature is None  # Redirect binding: the signature is the query's
    args: dict[str, Any] = {
        "identity": {"mail": [name_id]},
        "in_response_to": request.message.id,
        "destination": f"{SP_BASE}/saml/acs",
        "sp_entity_id": f"{SP_BASE}/saml/metadata",
        "name_id": NameID(format=NAMEID_FORMAT_EMAILADDRESS, text=name_id),
        "authn": {"class_ref": "urn:oasis:names:tc:SAML:2.0:ac:classes:Password"},
        "sign_response": True,
        "sign_assertion": True,
        "sign_alg": SIG_RSA_SHA256,
        "digest_alg": DIGEST_SHA256,
        **extra,
    }
    if encrypt:
        args.update(
            encrypt_assertion=True,
            encrypt_cert_assertion=sample_key("sp").certificate_pem().decode(),
        )
    response = server.create_authn_response(**args)
    return {
        "SAMLResponse": base64.b64encode(str(response).encode()).decode(),
        "RelayState": query["RelayState"][0],
    }


AES256_CBC = "http://www.w3.org/2001/04/xmlenc#aes256-cbc"


@pytest.mark.parametrize("encrypt", [False, True])
def test_pysaml2_idp_signs_a_user_in(
    setup: tuple[ReferenceSP, TestClient, Server], encrypt: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    _sp, http, server = setup
    # pysaml2 encrypts with 3DES unless told otherwise (below); configure it to use AES.
    monkeypatch.setattr(
        saml2.entity,
        "pre_encryption_part",
        functools.partial(saml2.sigver.pre_encryption_part, msg_enc=AES256_CBC),
    )
    monkeypatch.setattr(
        server.sec,
        "encrypt_assertion",
        functools.partial(server.sec.encrypt_assertion, key_type="aes-256"),
    )
    posted = http.post("/saml/acs", data=answer(http, server, encrypt=encrypt))
    assert posted.status_code == 303, posted.text
    me = http.get("/api/me").json()
    assert (me["userName"], me["organization"]) == (USER, "Acme")


def test_pysaml2_response_edited_after_signing_is_refused(
    setup: tuple[ReferenceSP, TestClient, Server],
) -> None:
    _sp, http, server = setup
    fields = answer(http, server, encrypt=False)
    xml = base64.b64decode(fields["SAMLResponse"])
    tampered = xml.replace(USER.encode(), b"boss@acme.test")
    fields["SAMLResponse"] = base64.b64encode(tampered).decode()
    refused = http.post("/saml/acs", data=fields, headers={"accept": "application/json"})
    assert refused.json()["reason"] == "bad-signature"
    assert http.get("/api/me").status_code == 401


def test_pysaml2_sha1_signatures_are_refused_by_default(
    setup: tuple[ReferenceSP, TestClient, Server],
) -> None:
    _sp, http, server = setup
    fields = answer(http, server, encrypt=False, sign_alg=SIG_RSA_SHA1, digest_alg=DIGEST_SHA1)
    refused = http.post("/saml/acs", data=fields, headers={"accept": "application/json"})
    assert (refused.json()["reason"], refused.json()["rule"]) == ("weak-algorithm", "SDP-ALG01")


def test_pysaml2_default_triple_des_encryption_is_refused(
    setup: tuple[ReferenceSP, TestClient, Server],
) -> None:
    _sp, http, server = setup
    fields = answer(http, server, encrypt=True)
    refused = http.post("/saml/acs", data=fields, headers={"accept": "application/json"})
    assert (refused.json()["reason"], refused.json()["rule"]) == ("refused-algorithm", "SDP-ALG01")
