"""How the IdP under test treats the requests it is sent: the harness, holding the SP's key,
sends requests in the SP's name that the SP itself never sends (an unsigned one, one with
ForceAuthn), and judges what the IdP does with them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from harness.checks._idp_read import instant, read_response
from harness.checks.idp_observations import IdpResponseSeen
from harness.checks.model import CheckFailed, CheckSkipped, Observed, cited
from harness.protocol.saml import constants as c


@dataclass(frozen=True)
class UnsignedRequestSeen:
    """What came back for an unsigned AuthnRequest sent in the SP's name."""

    idp_wants_signed: bool  # the IdP's metadata says WantAuthnRequestsSigned="true"
    response: IdpResponseSeen | None  # the Response the SP's ACS received, if any
    evidence: dict[str, Any] = field(default_factory=dict)


def unsigned_refused(seen: UnsignedRequestSeen) -> Observed:
    """An IdP that asks for signed AuthnRequests answers an unsigned one with no assertion."""
    if not seen.idp_wants_signed:
        raise CheckSkipped("the IdP's metadata does not ask for signed AuthnRequests")
    if seen.response is None:
        return Observed("no Response: the IdP refused the request", evidence=seen.evidence)
    read = read_response(seen.response)
    if read.root is None:
        return Observed("no usable Response", evidence=seen.evidence)
    code = read.root.find(f"{{{c.SAMLP}}}Status/{{{c.SAMLP}}}StatusCode")
    status = code.get("Value") if code is not None else None
    if status != c.STATUS_SUCCESS:
        return Observed(f"a Response with status {status}", evidence=seen.evidence)
    raise CheckFailed(
        "the IdP answered an unsigned AuthnRequest with a successful Response",
        expected="no assertion for a request the IdP's metadata says must be signed",
        observed=f"Status {status}",
        evidence=seen.evidence,
    )


@dataclass(frozen=True)
class ForcedSignInSeen:
    """The Response to a signed AuthnRequest with ForceAuthn="true", sent after the user had
    signed in with the same browser (so the IdP had a session it could have reused)."""

    response: IdpResponseSeen
    # The AuthnInstant of that earlier sign-in, by the IdP's own clock: compared with the new
    # one, no clock skew between the IdP and the harness can pass for a reused session.
    previous_authn_instant: dt.datetime | None
    evidence: dict[str, Any] = field(default_factory=dict)


def authn_instant_of(seen: IdpResponseSeen) -> dt.datetime | None:
    """The AuthnInstant of a Response whose assertion a verified signature covers (None: there
    is none to trust)."""
    try:
        assertion = read_response(seen).assertion()
    except CheckSkipped:
        return None
    statement = assertion.find(f"{{{c.SAML}}}AuthnStatement")
    try:
        return instant(statement, "AuthnInstant") if statement is not None else None
    except CheckFailed:
        return None


def force_authn(seen: ForcedSignInSeen) -> Observed:
    """With ForceAuthn the IdP authenticates the user anew: the AuthnInstant is later than that
    of the session it could have reused (the harness waits more than a second in between)."""
    read_response(seen.response).assertion()  # skips when untrusted
    when = authn_instant_of(seen.response)
    if when is None:
        raise CheckSkipped("the assertion has no readable AuthnInstant to compare")
    if seen.previous_authn_instant is None:
        raise CheckSkipped("the earlier sign-in gave no AuthnInstant to compare with")
    before = seen.previous_authn_instant
    fields = {"AuthnInstant": when.isoformat(), "earlier AuthnInstant": before.isoformat()}
    if when <= before:
        raise CheckFailed(
            "the IdP reused an earlier authentication despite ForceAuthn",
            expected=f"an AuthnInstant later than the earlier sign-in's, {before.isoformat()}",
            observed=when.isoformat(),
            evidence={**seen.evidence, **fields},
        )
    return Observed(f"authenticated anew at {when.isoformat()}", evidence=fields)


@dataclass(frozen=True)
class RequestedAcsSeen:
    """What came back for a signed AuthnRequest naming the SP's second ACS (index 1 of its
    metadata, never its default)."""

    requested: str  # the AssertionConsumerServiceURL the request named
    posted_to: str | None  # where the IdP's form posted its Response (None: it sent none)
    evidence: dict[str, Any] = field(default_factory=dict)


def requested_acs(seen: RequestedAcsSeen) -> Observed:
    """The IdP posts the Response to the AssertionConsumerServiceURL the request named."""
    if seen.posted_to is None:
        raise CheckSkipped(
            "no Response came back for a request naming the SP's second ACS: is the IdP's copy "
            "of the SP's metadata up to date?"
        )
    if seen.posted_to != seen.requested:
        raise CheckFailed(
            "the IdP posted the Response to another ACS than the request named",
            expected=seen.requested,
            observed=seen.posted_to,
            evidence=seen.evidence,
        )
    return Observed(f"posted to {seen.posted_to}", evidence=seen.evidence)


UNSIGNED_REFUSED = cited(
    "idp.request.unsigned-refused",
    "IDP-SIGNED-REQUESTS",
    "an unsigned AuthnRequest gets no assertion when the IdP asks for signed ones",
    unsigned_refused,
)
FORCE_AUTHN = cited(
    "idp.request.force-authn",
    "SAML-CORE-3.4.1",
    "ForceAuthn makes the IdP authenticate the user anew",
    force_authn,
)
REQUESTED_ACS = cited(
    "idp.request.requested-acs",
    "SAML-CORE-3.4.1",
    "the Response goes to the ACS the request named",
    requested_acs,
)
IDP_REQUEST_CHECKS = (UNSIGNED_REFUSED, FORCE_AUTHN, REQUESTED_ACS)
