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
    request_issued: dt.datetime
    evidence: dict[str, Any] = field(default_factory=dict)


def force_authn(seen: ForcedSignInSeen) -> Observed:
    """With ForceAuthn the IdP authenticates the user anew: the AuthnInstant is not older than
    the request."""
    assertion = read_response(seen.response).assertion()  # skips when untrusted
    statement = assertion.find(f"{{{c.SAML}}}AuthnStatement")
    when = instant(statement, "AuthnInstant") if statement is not None else None
    if when is None:
        raise CheckSkipped("the assertion has no AuthnInstant to compare")
    issued = seen.request_issued.replace(microsecond=0)  # AuthnInstant has seconds at best
    fields = {"AuthnInstant": when.isoformat(), "request IssueInstant": issued.isoformat()}
    if when < issued:
        raise CheckFailed(
            "the IdP reused an earlier authentication despite ForceAuthn",
            expected=f"AuthnInstant at or after {issued.isoformat()}",
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
