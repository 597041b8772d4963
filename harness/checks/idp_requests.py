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
IDP_REQUEST_CHECKS = (UNSIGNED_REFUSED, FORCE_AUTHN)
