"""What the core's validation says of one decoded SAML message, for ``sso-harness decode``.

A pasted Response comes without its context (which SP received it, which IdP it trusts, which
request it answers), so the expectations are taken from the message itself: its Audience, its
Destination or Recipient, its Issuer and InResponseTo. Then every rule that does not depend on
that context (signature integrity, structure, time window, subject confirmation, conditions)
is judged by the very code the reference SP runs. Trust is the caller's to give (``--idp-cert``);
without it the signature is checked against the certificate the message carries, which proves
integrity, not who signed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from cryptography import x509
from lxml import etree

from harness.protocol.keys import PrivateKey
from harness.protocol.refusal import Refusal
from harness.protocol.saml import constants as c
from harness.protocol.saml.authn_request import parse_authn_request
from harness.protocol.saml.decode import DecodedMessage
from harness.protocol.saml.encryption import decrypt_element
from harness.protocol.saml.errors import SAMLError
from harness.protocol.saml.ids import parse_instant
from harness.protocol.saml.keyinfo import keyinfo_certificates
from harness.protocol.saml.logout import parse_logout_request, parse_logout_response
from harness.protocol.saml.sp_validation import SPExpectations, validate_response
from harness.protocol.xml import parse_xml


@dataclass(frozen=True)
class Context:
    """What the user knows beyond the message (all optional)."""

    trusted: Sequence[x509.Certificate] = ()
    decryption_keys: Sequence[PrivateKey] = ()
    now: dt.datetime | None = None  # None: judge at the message's own IssueInstant


@dataclass
class Verdict:
    accepted: bool
    facts: list[tuple[str, str]] = field(default_factory=list)  # what the core read
    caveats: list[str] = field(default_factory=list)  # what could not be judged, and why
    error: Refusal | None = None


def _text(root: etree._Element, path: str) -> str | None:
    found = root.find(path, namespaces={"saml": c.SAML, "samlp": c.SAMLP})
    return (found.text or "").strip() if found is not None else None


def _attribute(root: etree._Element, path: str, name: str) -> str | None:
    found = root.find(path, namespaces={"saml": c.SAML, "samlp": c.SAMLP})
    return found.get(name) if found is not None else None


class NeedsKey(Exception):  # noqa: N818 - what the user must give
    """The assertion is encrypted and no key to decrypt it was given."""


def _readable_assertion(root: etree._Element, context: Context) -> etree._Element | None:
    """Where the assertion's Audience, Recipient and Issuer can be read (None: in ``root``)."""
    encrypted = root.find(".//saml:EncryptedAssertion", namespaces={"saml": c.SAML})
    if encrypted is None:
        return None
    if not context.decryption_keys:
        raise NeedsKey("the assertion is encrypted: give --sp-key FILE (the SP's private key)")
    try:
        return decrypt_element(encrypted, context.decryption_keys).element
    except SAMLError:
        return None  # validation decrypts again and says why it cannot


def _response_expectations(xml: bytes, context: Context, verdict: Verdict) -> SPExpectations:
    root = parse_xml(xml)
    assertion = _readable_assertion(root, context)
    source = root if assertion is None else assertion
    audience = _text(source, ".//saml:Audience") or ""
    recipient = _attribute(source, ".//saml:SubjectConfirmationData", "Recipient")
    acs_url = root.get("Destination") or recipient or ""
    assertion_issuer = (
        _text(root, ".//saml:Assertion/saml:Issuer")
        if assertion is None
        else _text(assertion, "saml:Issuer")
    )
    issuer = _text(root, "saml:Issuer") or assertion_issuer or ""
    trusted = list(context.trusted)
    if not trusted:
        trusted = keyinfo_certificates(xml)
        verdict.caveats.append(
            "signatures checked against the certificate inside the message (integrity only: "
            "give --idp-cert to check who signed)"
            if trusted
            else "the message carries no certificate: give --idp-cert to check its signatures"
        )
    now = context.now
    if now is None:
        now = parse_instant(root.get("IssueInstant"), field="IssueInstant")
        verdict.caveats.append(f"times judged at its IssueInstant {now.isoformat()} (see --now)")
    verdict.caveats.append(
        "Audience, ACS URL, Issuer and InResponseTo taken from the message itself"
    )
    return SPExpectations(
        sp_entity_id=audience,
        acs_url=acs_url,
        idp_entity_id=issuer,
        trusted_certificates=trusted,
        now=now,
        request_id=root.get("InResponseTo"),
        decryption_keys=list(context.decryption_keys),
    )


def judge(message: DecodedMessage, context: Context) -> Verdict:
    """Run the core's validation for the message's kind; SAMLError becomes a refusal.
    Raises NeedsKey when the assertion is encrypted and no key was given."""
    verdict = Verdict(accepted=False)
    try:
        if message.kind == "Response":
            login = validate_response(
                message.xml, _response_expectations(message.xml, context, verdict)
            )
            verdict.facts += [
                ("NameID", f"{login.name_id} ({login.name_id_format or 'no Format'})"),
                ("Issuer", login.issuer),
                ("signed", f"response={login.response_signed} assertion={login.assertion_signed}"),
                ("encrypted", str(login.encrypted)),
                ("valid until", login.not_on_or_after.isoformat()),
                *((name, ", ".join(values)) for name, values in login.attributes.items()),
            ]
            verdict.caveats += list(login.notes)
        elif message.kind == "AuthnRequest":
            request = parse_authn_request(message.xml)
            verdict.facts += [
                ("ID", request.id),
                ("Issuer", request.issuer),
                ("ACS", request.acs_url or f"index {request.acs_index}"),
                ("NameIDPolicy", request.nameid_format or "(any)"),
                ("ForceAuthn", str(request.force_authn)),
            ]
            verdict.caveats.append("the request's signature depends on its binding: not judged")
        elif message.kind == "LogoutRequest":
            logout = parse_logout_request(message.xml)
            verdict.facts += [("Issuer", logout.issuer), ("NameID", logout.name_id)]
        elif message.kind == "LogoutResponse":
            answer = parse_logout_response(message.xml)
            verdict.facts += [("Issuer", answer.issuer), ("Status", answer.status_code)]
        else:
            verdict.caveats.append(
                f"no validation for a {message.kind}: it is not a protocol message"
            )
    except Refusal as exc:
        verdict.error = exc
        return verdict
    verdict.accepted = True
    return verdict
