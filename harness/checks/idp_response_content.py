"""Judges of what an IdP under test asserts (Profiles 4.1.4.2, Core 2.5.1.2 and 3.4.1.1,
saml2int SDP-G01): the subject, its confirmation, the validity windows, the statements and
the NameID across sign-ins. Read only from what a verified signature covers
(:meth:`ReadResponse.assertion`); the checks are made in :mod:`harness.checks.idp_saml`.
"""

from __future__ import annotations

import datetime as dt

from lxml import etree

from harness.checks._idp_read import evidence, instant, read_response
from harness.checks.idp_observations import IdpResponseSeen
from harness.checks.model import CheckFailed, CheckSkipped, Observed
from harness.protocol.saml import constants as c

_SCD = c.q(c.SAML, "SubjectConfirmationData")
_STABLE_FORMATS = (c.NAMEID_PERSISTENT, c.NAMEID_EMAIL)


def _bearer_problems(confirmation: etree._Element, seen: IdpResponseSeen) -> list[str]:
    """What keeps one SubjectConfirmation from being the bearer one 4.1.4.2 asks for."""
    if confirmation.get("Method") != c.CM_BEARER:
        return [f"Method {confirmation.get('Method')}"]
    data = confirmation.find(_SCD)
    if data is None:
        return ["no SubjectConfirmationData"]
    problems = []
    if data.get("Recipient") != seen.sp.acs_url:
        problems.append(f"Recipient {data.get('Recipient')!r}, not the ACS")
    if data.get("NotOnOrAfter") is None:
        problems.append("no NotOnOrAfter")
    if data.get("NotBefore") is not None:
        problems.append("a NotBefore")
    if data.get("InResponseTo") != seen.request_id:
        problems.append(f"InResponseTo {data.get('InResponseTo')!r}, not {seen.request_id!r}")
    return problems


def subject_confirmation(seen: IdpResponseSeen) -> Observed:
    subject = read_response(seen).assertion().find(c.q(c.SAML, "Subject"))
    confirmations = (
        subject.findall(c.q(c.SAML, "SubjectConfirmation")) if subject is not None else []
    )
    found = [_bearer_problems(confirmation, seen) for confirmation in confirmations]
    seen_fields = [
        {"Method": sc.get("Method"), **{str(k): str(v) for k, v in data.attrib.items()}}
        for sc in confirmations
        for data in (sc.findall(_SCD) or [etree.Element("none")])
    ]
    fields = evidence(confirmations=seen_fields, acs=seen.sp.acs_url, request_id=seen.request_id)
    if any(not problems for problems in found):
        return Observed("a bearer SubjectConfirmation for this ACS and request", evidence=fields)
    why = "; ".join(", ".join(p) for p in found) or "no SubjectConfirmation"
    raise CheckFailed(
        f"no valid bearer SubjectConfirmation: {why}",
        expected="bearer, Recipient = ACS, NotOnOrAfter, no NotBefore, InResponseTo = request",
        observed=why,
        evidence=fields,
    )


def _window_problems(
    envelope: etree._Element, assertion: etree._Element, at: dt.datetime, skew: dt.timedelta
) -> list[str]:
    problems = []
    for where, element in (("Response", envelope), ("Assertion", assertion)):
        issued = instant(element, "IssueInstant")
        if issued is not None and abs(issued - at) > skew:
            problems.append(f"{where} IssueInstant {issued:%H:%M:%S} is off by {issued - at}")
    for element in assertion.iter(c.q(c.SAML, "Conditions"), _SCD):
        where = etree.QName(element).localname
        start, end = instant(element, "NotBefore"), instant(element, "NotOnOrAfter")
        if start is not None and end is not None and start >= end:
            problems.append(f"{where} NotBefore is not before NotOnOrAfter (SAML-CORE-2.5.1.2)")
        if start is not None and start > at + skew:
            problems.append(f"{where} NotBefore {start:%H:%M:%S} is after arrival")
        if end is not None and end <= at - skew:
            problems.append(f"{where} NotOnOrAfter {end:%H:%M:%S} passed before arrival")
    return problems


def validity_window(seen: IdpResponseSeen) -> Observed:
    read = read_response(seen)
    envelope, assertion = read.envelope(), read.assertion()
    at, skew = seen.received_at, seen.sp.clock_skew
    problems = _window_problems(envelope, assertion, at, skew)
    fields = evidence(received_at=at.isoformat(), skew_s=skew.total_seconds())
    if problems:
        raise CheckFailed(
            "; ".join(problems),
            expected=f"windows holding {at:%H:%M:%S} within {skew}",
            observed=problems[0],
            evidence=fields,
        )
    return Observed(f"every window holds {at:%H:%M:%S} within {skew}", evidence=fields)


def _statements(seen: IdpResponseSeen) -> list[etree._Element]:
    return read_response(seen).assertion().findall(c.q(c.SAML, "AuthnStatement"))


def authn_statement(seen: IdpResponseSeen) -> Observed:
    statements = _statements(seen)
    if not statements:
        raise CheckFailed("the assertion has no AuthnStatement", expected="at least one")
    contexts = [
        (e.text or "").strip() for e in statements[0].iter(c.q(c.SAML, "AuthnContextClassRef"))
    ]
    fields = evidence(AuthnInstant=statements[0].get("AuthnInstant"), context=contexts)
    return Observed(f"{len(statements)} AuthnStatement", evidence=fields)


def session_index(seen: IdpResponseSeen) -> Observed:
    if not seen.single_logout_offered:
        raise CheckSkipped("the IdP's metadata offers no single logout")
    indexes = [s.get("SessionIndex") for s in _statements(seen)]
    fields = evidence(SessionIndex=indexes)
    if not indexes or None in indexes:
        raise CheckFailed(
            "an AuthnStatement without SessionIndex, from an IdP that offers logout",
            expected="a SessionIndex",
            observed=str(indexes),
            evidence=fields,
        )
    return Observed(f"SessionIndex {indexes[0]}", evidence=fields)


def _name_id(seen: IdpResponseSeen) -> tuple[str, str | None]:
    subject = read_response(seen).assertion().find(c.q(c.SAML, "Subject"))
    name_id = subject.find(c.q(c.SAML, "NameID")) if subject is not None else None
    if name_id is None:
        raise CheckSkipped("the assertion has no plain NameID")
    return "".join(str(t) for t in name_id.itertext()).strip(), name_id.get("Format")


def name_id_format(seen: IdpResponseSeen) -> Observed:
    asked = seen.name_id_format_asked
    if asked is None or asked == c.NAMEID_UNSPECIFIED:
        raise CheckSkipped("the request asked no NameID Format")
    _, got = _name_id(seen)
    fields = evidence(asked=asked, Format=got)
    if got != asked:
        raise CheckFailed(
            "the NameID is not in the Format the NameIDPolicy asked",
            expected=asked,
            observed=str(got),
            evidence=fields,
        )
    return Observed(f"NameID Format {got}", evidence=fields)


def name_id_stable(seen: IdpResponseSeen) -> Observed:
    if seen.previous_name_id is None:
        raise CheckSkipped("the first sign-in of this user: nothing to compare with")
    value, name_format = _name_id(seen)
    fields = evidence(NameID=value, Format=name_format, previous=list(seen.previous_name_id))
    if name_format == c.NAMEID_TRANSIENT:
        return Observed("transient: a new NameID each sign-in, as expected", evidence=fields)
    if name_format not in _STABLE_FORMATS:
        raise CheckSkipped(f"Format {name_format}: no stability promised")
    if (value, name_format) != seen.previous_name_id:
        raise CheckFailed(
            "the same user got another NameID",
            expected=str(seen.previous_name_id),
            observed=str((value, name_format)),
            evidence=fields,
        )
    return Observed(f"the same NameID as last time ({name_format})", evidence=fields)
