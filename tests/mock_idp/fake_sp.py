"""A minimal SP for the mock IdP's tests: metadata, AuthnRequests, and a strict reading of the
responses it gets back (signatures verified with the IdP's certificate, assertions decrypted)."""

from __future__ import annotations

import base64
import datetime as dt
import re
from dataclasses import dataclass, field

from cryptography import x509
from lxml import etree

from harness.protocol.keys import KeyPair
from harness.protocol.saml import constants as c
from harness.protocol.saml.authn_request import AuthnRequest, build_authn_request
from harness.protocol.saml.bindings import encode_post_value, encode_redirect_query
from harness.protocol.saml.encryption import decrypt_element
from harness.protocol.saml.metadata import Endpoint, SPMetadata, build_sp_metadata
from harness.protocol.saml.signing import sign_element, verify_element
from harness.protocol.xml import parse_xml, to_bytes

NS = {"samlp": c.SAMLP, "saml": c.SAML, "ds": c.DS}


@dataclass
class FakeSP:
    entity_id: str = "https://sp.test/saml/metadata"
    acs: str = "https://sp.test/saml/acs"
    slo: str = "https://sp.test/saml/slo"
    key: KeyPair | None = None
    encrypt: bool = False
    sign_requests: bool = False
    extra_acs: tuple[str, ...] = ()
    counter: int = field(default=0)

    def metadata(self) -> bytes:
        acs = [Endpoint(c.BINDING_HTTP_POST, self.acs, 0, True)]
        acs += [Endpoint(c.BINDING_HTTP_POST, url, i + 1) for i, url in enumerate(self.extra_acs)]
        return build_sp_metadata(
            SPMetadata(
                entity_id=self.entity_id,
                acs_endpoints=tuple(acs),
                slo_endpoints=(Endpoint(c.BINDING_HTTP_REDIRECT, self.slo),),
                signing_certificates=(self.key.certificate,) if self.key else (),
                encryption_certificates=(self.key.certificate,)
                if self.key and self.encrypt
                else (),
                want_assertions_signed=True,
                authn_requests_signed=self.sign_requests,
            )
        )

    def authn_request(self, now: dt.datetime, sso_url: str, **fields: object) -> AuthnRequest:
        self.counter += 1
        values: dict[str, object] = {
            "id": f"_req{self.counter:04d}",
            "issue_instant": now,
            "issuer": self.entity_id,
            "destination": sso_url,
            "acs_url": self.acs,
            "protocol_binding": c.BINDING_HTTP_POST,
        }
        values.update(fields)
        return AuthnRequest(**values)  # type: ignore[arg-type]

    def redirect_query(
        self, request: AuthnRequest, relay_state: str | None = None, sign: bool = False
    ) -> str:
        xml = to_bytes(build_authn_request(request))
        return encode_redirect_query(
            xml, relay_state=relay_state, key_pair=self.key if sign else None
        )

    def post_form(
        self, request: AuthnRequest, relay_state: str | None = None, sign: bool = False
    ) -> dict[str, str]:
        root = build_authn_request(request)
        if sign and self.key is not None:
            root = sign_element(root, self.key)
        form = {"SAMLRequest": encode_post_value(to_bytes(root))}
        if relay_state is not None:
            form["RelayState"] = relay_state
        return form


@dataclass
class ReadResponse:
    root: etree._Element
    assertion: etree._Element | None
    response_signed: bool
    assertion_signed: bool
    encrypted: bool
    action: str
    relay_state: str | None

    def value(self, path: str, attribute: str | None = None) -> str | None:
        base = self.root if path.startswith("samlp:") or path.startswith("@") else self.assertion
        if base is None:
            return None
        if path.startswith("@"):
            return base.get(path[1:])
        element = base.find(path, NS)
        if element is None:
            return None
        return element.get(attribute) if attribute else element.text

    @property
    def name_id(self) -> str | None:
        return self.value("saml:Subject/saml:NameID")

    @property
    def status(self) -> str | None:
        return self.value("samlp:Status/samlp:StatusCode", "Value")

    def attributes(self) -> dict[str, list[str]]:
        if self.assertion is None:
            return {}
        return {
            a.get("Name", ""): [v.text or "" for v in a.findall("saml:AttributeValue", NS)]
            for a in self.assertion.iterfind(".//saml:Attribute", NS)
        }


def form_fields(html: str) -> tuple[str, dict[str, str]]:
    action = re.search(r'<form method="post" action="([^"]+)"', html)
    assert action, html
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html))
    import html as html_module

    return html_module.unescape(action.group(1)), {
        k: html_module.unescape(v) for k, v in fields.items()
    }


def read_response(
    html: str, idp_certs: list[x509.Certificate], sp_key: KeyPair | None = None
) -> ReadResponse:
    """Read the auto-post form; verify every signature present; decrypt the assertion."""
    action, fields = form_fields(html)
    root = parse_xml(base64.b64decode(fields["SAMLResponse"]))
    response_signed = root.find("ds:Signature", NS) is not None
    if response_signed:
        verify_element(root, idp_certs, allow_sha1=True)
    assertion = root.find("saml:Assertion", NS)
    encrypted = root.find("saml:EncryptedAssertion", NS)
    if encrypted is not None:
        assert sp_key is not None
        assertion = decrypt_element(encrypted, [sp_key.private_key]).element
    assertion_signed = assertion is not None and assertion.find("ds:Signature", NS) is not None
    if assertion is not None and assertion_signed:
        assertion = verify_element(assertion, idp_certs, allow_sha1=True).signed_element
    return ReadResponse(
        root,
        assertion,
        response_signed,
        assertion_signed,
        encrypted is not None,
        action,
        fields.get("RelayState"),
    )


def login_handle(html: str) -> str:
    match = re.search(r'name="login" value="([^"]+)"', html)
    assert match, html
    return match.group(1)
