"""What the reference SP would say of one captured SAML message, for ``sso-harness decode``.

A pasted Response comes without its context: which SP received it (its entity ID and ACS),
which IdP it trusts (entity ID and certificates), which request it answers, when it arrived.
What the user gives (:class:`Expectations`) is used as the reference SP uses its own settings;
what is missing is taken from the message itself, which can only make the check more lenient,
so a refusal still holds for that SP, but an acceptance does not: the verdict is then
``not-judged`` and names each expectation left out. ``accepted`` is said only when nothing was
taken from the message. The rules are the reference SP's own (``sp_validation``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from cryptography import x509

from harness.captures import CapturedMessage
from harness.protocol.keys import KeyLoadError, PrivateKey, load_certificate
from harness.protocol.refusal import Refusal
from harness.protocol.saml.authn_request import parse_authn_request
from harness.protocol.saml.bindings import decode_redirect_query, verify_redirect_signature
from harness.protocol.saml.constants import DS, q
from harness.protocol.saml.logout import parse_logout_request, parse_logout_response
from harness.protocol.saml.signing import verify_element
from harness.protocol.saml.sp_validation import SPExpectations, validate_response
from harness.protocol.saml.summary import MessageSummary
from harness.protocol.xml import parse_xml

Outcome = Literal["accepted", "refused", "not-judged", "valid"]
# The reference SP's defaults (reference_sp.settings): what "that SP" means without a flaw.
REFERENCE_CLOCK_SKEW = dt.timedelta(minutes=3)
_TIME_REASONS = {"expired", "subject-expired", "session-expired", "not-yet-valid"}


@dataclass(frozen=True)
class Expectations:
    """What the user knows beyond the message; every field optional."""

    sp_entity_id: str | None = None
    acs_urls: tuple[str, ...] = ()
    idp_entity_id: str | None = None
    idp_certificates: Sequence[x509.Certificate] = ()
    sp_certificates: Sequence[x509.Certificate] = ()
    request_id: str | None = None
    decryption_keys: Sequence[PrivateKey] = ()
    at: dt.datetime | None = None  # None: the current time


@dataclass
class Verdict:
    outcome: Outcome
    error: Refusal | None = None
    not_judged: list[str] = field(default_factory=list)  # "audience: not judged (give ...)"
    signatures: list[str] = field(default_factory=list)  # how each signature was checked
    notes: list[str] = field(default_factory=list)


class CannotJudge(Exception):  # noqa: N818 - what the user must give
    """Something the message needs to be judged at all is missing (a key, a certificate)."""


def _now(expect: Expectations) -> dt.datetime:
    return expect.at or dt.datetime.now(dt.UTC)


def _acs(summary: MessageSummary, expect: Expectations, verdict: Verdict) -> str:
    if expect.acs_urls:
        for candidate in (summary.destination, *summary.recipients):
            if candidate in expect.acs_urls:
                return candidate
        return expect.acs_urls[0]
    verdict.not_judged.append(
        "ACS (Destination, Recipient): not judged (give --sp-metadata or --acs)"
    )
    return summary.destination or next(iter(summary.recipients), "")


def _signature_certificates(*documents: bytes | None) -> list[x509.Certificate]:
    """The certificates in the messages' ds:Signature KeyInfo (not an EncryptedKey's)."""
    found = []
    for document in documents:
        if document is None:
            continue
        for element in parse_xml(document).iter(q(DS, "X509Certificate")):
            if any(parent.tag == q(DS, "Signature") for parent in element.iterancestors()):
                try:
                    found.append(load_certificate(element.text or ""))
                except KeyLoadError:
                    continue
    return found


def _trust(
    message: CapturedMessage,
    summary: MessageSummary,
    given: Sequence[x509.Certificate],
    whose: str,
    verdict: Verdict,
) -> list[x509.Certificate]:
    """The certificates to verify with; the message's own (integrity only) when none given."""
    if given:
        return list(given)
    carried = _signature_certificates(message.xml, summary.assertion_xml)
    signed = bool(summary.signatures) or (
        message.raw_query is not None and "Signature=" in message.raw_query
    )
    if carried:
        verdict.not_judged.append(
            f"signer: not judged, signatures checked against the certificate inside the message, "
            f"which proves integrity, not who signed (give {whose})"
        )
    elif signed:
        raise CannotJudge(f"the {summary.kind} is signed and carries no certificate: give {whose}")
    return carried


def _response_expectations(
    message: CapturedMessage, summary: MessageSummary, expect: Expectations, verdict: Verdict
) -> SPExpectations:
    if summary.encryption is not None and not expect.decryption_keys:
        raise CannotJudge("the assertion is encrypted: give --sp-key FILE (the SP's private key)")
    trusted = _trust(
        message, summary, expect.idp_certificates, "--idp-metadata or --idp-cert", verdict
    )
    audience = expect.sp_entity_id
    if audience is None:
        verdict.not_judged.append("audience: not judged (give --sp-metadata or --audience)")
        audience = next(iter(summary.audiences), "")
    acs = _acs(summary, expect, verdict)
    issuer = expect.idp_entity_id
    if issuer is None:
        verdict.not_judged.append("issuer: not judged (give --idp-metadata)")
        issuer = summary.issuer or ""
    request_id = expect.request_id
    if request_id is None and summary.in_response_to is not None:
        verdict.not_judged.append(
            "InResponseTo: not judged (give --request-id, the ID of the AuthnRequest the SP sent)"
        )
        request_id = summary.in_response_to
    return SPExpectations(
        sp_entity_id=audience,
        acs_url=acs,
        idp_entity_id=issuer,
        trusted_certificates=trusted,
        now=_now(expect),
        request_id=request_id,
        clock_skew=REFERENCE_CLOCK_SKEW,
        decryption_keys=list(expect.decryption_keys),
    )


def _judge_response(
    message: CapturedMessage, summary: MessageSummary, expect: Expectations, verdict: Verdict
) -> None:
    login = validate_response(
        message.xml, _response_expectations(message, summary, expect, verdict)
    )
    for placement, signed in (
        ("Response", login.response_signed),
        ("Assertion", login.assertion_signed),
    ):
        if signed:
            verdict.signatures.append(f"{placement}: verified")
    verdict.notes += list(login.notes)
    verdict.notes.append(
        "the user's account (NameID matched to an active provisioned user) is not judged: "
        "it needs the SP's directory"
    )


def _sender_certificates(
    summary: MessageSummary, expect: Expectations
) -> tuple[list[x509.Certificate], str]:
    """Who signed a request or logout message: the SP for an AuthnRequest, else by Issuer."""
    if summary.kind == "AuthnRequest" or (
        expect.sp_entity_id is not None and summary.issuer == expect.sp_entity_id
    ):
        return list(expect.sp_certificates), "--sp-metadata"
    if expect.idp_entity_id is not None and summary.issuer == expect.idp_entity_id:
        return list(expect.idp_certificates), "--idp-metadata or --idp-cert"
    return [*expect.sp_certificates, *expect.idp_certificates], "--sp-metadata or --idp-metadata"


def _judge_other(
    message: CapturedMessage, summary: MessageSummary, expect: Expectations, verdict: Verdict
) -> None:
    """A request or logout message: the core parses it and checks its signatures."""
    parse = {
        "AuthnRequest": parse_authn_request,
        "LogoutRequest": parse_logout_request,
        "LogoutResponse": parse_logout_response,
    }.get(summary.kind)
    if parse is None:
        verdict.notes.append(f"a {summary.kind} is not a protocol message the SP receives")
        verdict.outcome = "not-judged"
        return
    parse(message.xml)
    given, option = _sender_certificates(summary, expect)
    redirect = None
    if message.raw_query is not None:
        redirect = decode_redirect_query(message.raw_query)
    if redirect is not None and redirect.is_signed:
        if not given:
            raise CannotJudge(
                f"the {summary.kind}'s query is signed ({redirect.sig_alg}): give {option}"
            )
        verify_redirect_signature(redirect, given)
        verdict.signatures.append(f"query signature ({redirect.sig_alg}): verified")
    if summary.signatures:
        trusted = _trust(message, summary, given, option, verdict)
        verify_element(parse_xml(message.xml), trusted)
        verdict.signatures.append(f"{summary.kind}: verified")
    if not verdict.signatures:
        verdict.notes.append(f"the {summary.kind} is not signed")
    verdict.outcome = "not-judged" if verdict.not_judged else "valid"


def judge(message: CapturedMessage, summary: MessageSummary, expect: Expectations) -> Verdict:
    """The verdict; raises CannotJudge when a key or certificate the message needs is missing."""
    verdict = Verdict(outcome="accepted")
    try:
        if summary.kind == "Response":
            _judge_response(message, summary, expect, verdict)
            verdict.outcome = "not-judged" if verdict.not_judged else "accepted"
        else:
            _judge_other(message, summary, expect, verdict)
    except Refusal as exc:
        verdict.outcome, verdict.error = "refused", exc
        if exc.reason in _TIME_REASONS and expect.at is None and summary.issue_instant:
            verdict.notes.append(
                f"judged at the current time: give --at {summary.issue_instant.isoformat()} "
                "to judge it as when it was issued"
            )
    return verdict
