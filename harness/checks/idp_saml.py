"""Judges of the SAML Responses an IdP under test sent (Profiles 4.1.4.2, saml2int SDP-IDP09-11,
SDP-ALG01, SDP-G01): one rule each, over :class:`IdpResponseSeen`.

Each reads the Response once through :func:`read_response`; content is read only from what a
verified signature covers, and a judge skips (with the reason) when that is missing rather
than passing: the failure is reported once, by the signature checks. The judges of signatures
and encryption live in :mod:`.idp_response_protection`, those of the assertion's content in
:mod:`.idp_response_content`; this module holds the envelope's and makes every check.
"""

from __future__ import annotations

import datetime as dt

from lxml import etree

from harness.checks._idp_read import evidence, instant, read_response
from harness.checks.idp_logout import IDP_LOGOUT_CHECKS
from harness.checks.idp_observations import IdpResponseSeen
from harness.checks.idp_response_content import (
    authn_statement,
    name_id_format,
    name_id_stable,
    session_index,
    subject_confirmation,
    validity_window,
)
from harness.checks.idp_response_protection import (
    assertion_signed,
    encrypted,
    encryption_algorithms,
    response_signed,
    signature_algorithms,
)
from harness.checks.model import Check, CheckFailed, CheckSkipped, Observed, cited_all
from harness.protocol.saml import constants as c

__all__ = ["IDP_LOGOUT_CHECKS", "IDP_RESPONSE_CHECKS"]

_LONGEST_LIFETIME = dt.timedelta(days=1)  # Entra issues 70 minutes, Okta 5: a day is absurd


def well_formed(seen: IdpResponseSeen) -> Observed:
    read = read_response(seen)
    if read.root is None:
        raise CheckFailed(read.problem or "no Response", expected="a samlp:Response")
    root = read.root
    fields = evidence(Version=root.get("Version"), ID=root.get("ID"))
    if root.get("Version") != c.VERSION or not root.get("ID"):
        raise CheckFailed("the Response lacks Version 2.0 or an ID", evidence=fields)
    instant(root, "IssueInstant")
    if root.get("IssueInstant") is None:
        raise CheckFailed("the Response has no IssueInstant", evidence=fields)
    return Observed("a samlp:Response with Version, ID and IssueInstant", evidence=fields)


def one_assertion(seen: IdpResponseSeen) -> Observed:
    read = read_response(seen)
    if read.root is None:
        raise CheckSkipped(f"{read.problem}: nothing to count")
    status = _status_code(read.root)
    if read.assertion_count == 0 and status != c.STATUS_SUCCESS:
        raise CheckSkipped(f"an error Response ({status}) carries no assertion")
    fields = evidence(assertions=read.assertion_count)
    if read.assertion_count != 1:
        raise CheckFailed(
            f"the Response holds {read.assertion_count} assertions",
            expected="exactly one",
            observed=str(read.assertion_count),
            evidence=fields,
        )
    return Observed("exactly one assertion", evidence=fields)


def destination(seen: IdpResponseSeen) -> Observed:
    read = read_response(seen)
    value = read.envelope().get("Destination")
    fields = evidence(Destination=value, acs=seen.sp.acs_url, posted_to=seen.posted_to)
    if value is None and read.response_signature.verified is None:
        return Observed("no Destination, which an unsigned Response may omit", evidence=fields)
    if value is None:
        raise CheckFailed(
            "a signed Response without Destination", expected=seen.sp.acs_url, evidence=fields
        )
    if value != seen.sp.acs_url or seen.posted_to != seen.sp.acs_url:
        raise CheckFailed(
            "Destination is not the ACS the SP asked for (SAML-CORE-3.2.2)",
            expected=seen.sp.acs_url,
            observed=value if value != seen.sp.acs_url else f"posted to {seen.posted_to}",
            evidence=fields,
        )
    return Observed(f"Destination {value}", evidence=fields)


def _issuer_problem(element: etree._Element | None, expected: str, required: bool) -> str | None:
    if element is None:
        return "absent" if required else None
    if element.get("Format") not in (None, c.NAMEID_ENTITY):
        return f"Format {element.get('Format')}"
    value = (element.text or "").strip()
    return None if value == expected else f"{value!r}"


def issuer(seen: IdpResponseSeen) -> Observed:
    read = read_response(seen)
    envelope, assertion = read.envelope(), read.assertion()
    response_issuer = envelope.find(c.q(c.SAML, "Issuer"))
    assertion_issuer = assertion.find(c.q(c.SAML, "Issuer"))
    # 4.1.4.2: the Response's Issuer may be left out, unless it is signed or the assertion
    # is encrypted; the assertion's never.
    required = read.response_signature.verified is not None or read.encrypted is not None
    problems = {
        "Response": _issuer_problem(response_issuer, seen.idp.entity_id, required),
        "Assertion": _issuer_problem(assertion_issuer, seen.idp.entity_id, True),
    }
    fields = evidence(
        response_issuer=response_issuer.text if response_issuer is not None else None,
        assertion_issuer=assertion_issuer.text if assertion_issuer is not None else None,
        entity_id=seen.idp.entity_id,
    )
    wrong = {where: why for where, why in problems.items() if why is not None}
    if wrong:
        raise CheckFailed(
            "; ".join(f"{where} Issuer {why}" for where, why in wrong.items()),
            expected=f"{seen.idp.entity_id} in entity format",
            observed=", ".join(f"{w}: {why}" for w, why in wrong.items()),
            evidence=fields,
        )
    return Observed(f"Issuer {seen.idp.entity_id}", evidence=fields)


def in_response_to(seen: IdpResponseSeen) -> Observed:
    value = read_response(seen).envelope().get("InResponseTo")
    fields = evidence(InResponseTo=value, request_id=seen.request_id)
    if seen.request_id is None and value is not None:
        raise CheckFailed(
            "an IdP-initiated Response carries InResponseTo (SAML-PROF-4.1.5)",
            expected="no InResponseTo",
            observed=value,
            evidence=fields,
        )
    if value != seen.request_id:
        raise CheckFailed(
            "InResponseTo is not the ID of the SP's AuthnRequest",
            expected=seen.request_id,
            observed=value,
            evidence=fields,
        )
    return Observed(f"InResponseTo {value}" if value else "unsolicited: none", evidence=fields)


def audience(seen: IdpResponseSeen) -> Observed:
    conditions = read_response(seen).assertion().find(c.q(c.SAML, "Conditions"))
    restrictions = (
        conditions.findall(c.q(c.SAML, "AudienceRestriction")) if conditions is not None else []
    )
    audiences = [
        [(a.text or "").strip() for a in r.findall(c.q(c.SAML, "Audience"))] for r in restrictions
    ]
    fields = evidence(audiences=audiences, sp=seen.sp.entity_id)
    # Restrictions are ANDed (Core 2.5.1.4): each one must name the SP.
    if not audiences or any(seen.sp.entity_id not in group for group in audiences):
        raise CheckFailed(
            "no AudienceRestriction naming the SP" if audiences else "no AudienceRestriction",
            expected=seen.sp.entity_id,
            observed=str(audiences),
            evidence=fields,
        )
    return Observed(f"audience {seen.sp.entity_id}", evidence=fields)


def lifetime(seen: IdpResponseSeen) -> Observed:
    assertion = read_response(seen).assertion()
    issued = instant(assertion, "IssueInstant")
    ends = [
        instant(e, "NotOnOrAfter")
        for e in assertion.iter(c.q(c.SAML, "Conditions"), c.q(c.SAML, "SubjectConfirmationData"))
    ]
    longest = max((end - issued for end in ends if end and issued), default=None)
    fields = evidence(longest_s=longest.total_seconds() if longest else None)
    if longest is None:
        raise CheckSkipped("no IssueInstant and NotOnOrAfter to measure a lifetime by")
    if longest > _LONGEST_LIFETIME:
        raise CheckFailed(
            f"the assertion is valid for {longest}",
            expected=f"at most {_LONGEST_LIFETIME}",
            observed=str(longest),
            evidence=fields,
        )
    return Observed(f"valid for {longest}", evidence=fields)


def _status_code(root: etree._Element) -> str | None:
    code = root.find(f"{c.q(c.SAMLP, 'Status')}/{c.q(c.SAMLP, 'StatusCode')}")
    return code.get("Value") if code is not None else None


def status_success(seen: IdpResponseSeen) -> Observed:
    status = _status_code(read_response(seen).envelope())
    fields = evidence(StatusCode=status)
    if status != c.STATUS_SUCCESS:
        raise CheckFailed(
            f"the IdP answered {status}",
            expected=c.STATUS_SUCCESS,
            observed=str(status),
            evidence=fields,
        )
    return Observed("Success", evidence=fields)


def relay_state(seen: IdpResponseSeen) -> Observed:
    sent, returned = seen.relay_state_sent, seen.relay_state_returned
    if sent is None:
        raise CheckSkipped("the SP sent no RelayState")
    fields = evidence(sent=sent, returned=returned)
    if returned != sent:
        raise CheckFailed(
            "RelayState was not returned unchanged",
            expected=sent,
            observed=str(returned),
            evidence=fields,
        )
    return Observed("RelayState returned unchanged", evidence=fields)


IDP_RESPONSE_CHECKS: tuple[Check, ...] = cited_all(
    "idp.response.",
    (
        (
            "well-formed",
            "SAML-CORE-3.2.2",
            "the Response parses, with Version, ID, IssueInstant",
            well_formed,
        ),
        (
            "response-signed",
            "SDP-IDP09",
            "the Response is signed by a key of the IdP's metadata",
            response_signed,
        ),
        (
            "assertion-signed",
            "SAML-PROF-4.1.4.5",
            "the Assertion is signed (or encrypted and signed)",
            assertion_signed,
        ),
        (
            "signature-algorithms",
            "SDP-ALG01",
            "signatures use SHA-256 or stronger",
            signature_algorithms,
        ),
        ("one-assertion", "SDP-IDP10", "the Response holds exactly one assertion", one_assertion),
        (
            "destination",
            "SAML-BIND-3.5.5.2",
            "Destination is the ACS the SP asked for",
            destination,
        ),
        (
            "issuer",
            "SAML-PROF-4.1.4.2",
            "Issuer is the metadata entityID, in entity format",
            issuer,
        ),
        (
            "subject-confirmation",
            "SAML-PROF-4.1.4.2",
            "a bearer SubjectConfirmation for this ACS and request",
            subject_confirmation,
        ),
        (
            "in-response-to",
            "SAML-CORE-3.2.2",
            "InResponseTo is the request's ID (none when unsolicited)",
            in_response_to,
        ),
        ("audience", "SAML-PROF-4.1.4.2", "an AudienceRestriction names the SP", audience),
        (
            "validity-window",
            "SDP-G01",
            "the validity windows hold the time it arrived",
            validity_window,
        ),
        ("lifetime", "IDP-LIFETIME", "the assertion lives minutes, not days", lifetime),
        (
            "authn-statement",
            "SAML-PROF-4.1.4.2",
            "the assertion has an AuthnStatement",
            authn_statement,
        ),
        (
            "session-index",
            "SAML-PROF-4.4.3.1",
            "a SessionIndex where the IdP offers logout",
            session_index,
        ),
        (
            "name-id-format",
            "SAML-CORE-3.4.1.1",
            "the NameID has the Format the request asked",
            name_id_format,
        ),
        (
            "name-id-stable",
            "SAML-CORE-8.3.7",
            "a persistent or email NameID is the same next time",
            name_id_stable,
        ),
        ("encrypted", "SDP-IDP11", "the assertion is encrypted when the SP asks", encrypted),
        (
            "encryption-algorithms",
            "SDP-ALG01",
            "encryption uses AES-GCM and RSA-OAEP",
            encryption_algorithms,
        ),
        ("status-success", "SAML-CORE-3.2.2.2", "the StatusCode is Success", status_success),
        ("relay-state", "SAML-BIND-3.5.3", "RelayState comes back unchanged", relay_state),
    ),
)
