"""Flaws: named switches, off by default, that make the mock IdP misbehave the way real IdPs
do. The IdP-under-test suite turns each on and proves at least one of its checks fails.

A flaw either adds mutators to every response it sends, or changes a behaviour (which the
IdP consults with ``MockIdP.has_flaw``). The registry is an explicit tuple.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from harness.protocol.requirements import requirement
from harness.protocol.saml.mutators import MUTATORS_BY_NAME, MutatorCall


@dataclass(frozen=True)
class Flaw:
    """A flaw that sends one mutation is named after its mutator: one break, one name."""

    name: str
    description: str
    rule: str
    mutators: tuple[MutatorCall, ...] = ()

    def __post_init__(self) -> None:
        requirement(self.rule)  # an unregistered rule id fails at import


def _m(name: str, **params: object) -> tuple[MutatorCall, ...]:
    return (MutatorCall(name, params),)


FLAWS: tuple[Flaw, ...] = (
    Flaw(
        "no-destination",
        "Responses carry no Destination",
        "SAML-BIND-3.5.5.2",
        _m("no-destination"),
    ),
    Flaw("sha1", "signs with RSA-SHA1 and SHA-1 digests", "SDP-ALG01", _m("sha1")),
    Flaw(
        "unsigned-assertion",
        "signs only the Response, never the Assertion",
        "SAML-PROF-4.1.4.5",
        _m("unsigned-assertion"),
    ),
    Flaw("unsigned", "signs nothing", "SAML-PROF-4.1.4.5", _m("unsigned")),
    Flaw(
        "bad-in-response-to",
        "InResponseTo names a request that was never sent",
        "SAML-CORE-3.2.2",
        _m("bad-in-response-to"),
    ),
    Flaw(
        "no-in-response-to",
        "leaves InResponseTo out of solicited responses",
        "SAML-PROF-4.1.4.2",
        _m("no-in-response-to"),
    ),
    Flaw("no-audience", "sends no AudienceRestriction", "SAML-PROF-4.1.4.2", _m("no-audience")),
    Flaw(
        "no-recipient",
        "SubjectConfirmationData without Recipient",
        "SAML-PROF-4.1.4.2",
        _m("no-recipient"),
    ),
    Flaw(
        "no-subject-expiry",
        "SubjectConfirmationData without NotOnOrAfter",
        "SAML-PROF-4.1.4.2",
        _m("no-subject-expiry"),
    ),
    Flaw(
        "no-session-index",
        "AuthnStatement without SessionIndex",
        "SAML-PROF-4.4.3.1",
        _m("no-session-index"),
    ),
    Flaw(
        "clock-skew",
        "the IdP's clock runs 10 minutes slow",
        "SDP-G01",
        _m("clock-skew", seconds=-600),
    ),
    Flaw(
        "mismatched-issuer",
        "Assertion Issuer differs from the Response Issuer",
        "SAML-PROF-4.1.4.2",
        _m("mismatched-issuer"),
    ),
    Flaw(
        "ignore-acs-url",
        "posts to the SP's default ACS, ignoring the request's AssertionConsumerServiceURL",
        "SAML-PROF-4.1.4.1",
    ),
    Flaw(
        "ignore-force-authn", "reuses the session even when ForceAuthn is true", "SAML-CORE-3.4.1"
    ),
    Flaw("ignore-nameid-policy", "ignores NameIDPolicy Format", "SAML-CORE-3.4.1.1"),
    Flaw(
        "accept-unsigned-requests",
        "accepts unsigned AuthnRequests and LogoutRequests that must be signed",
        "IDP-SIGNED-REQUESTS",
    ),
    Flaw("drop-relay-state", "does not return RelayState", "SAML-BIND-3.5.3"),
    Flaw(
        "weak-encryption",
        "encrypts assertions with AES-CBC and RSA PKCS#1 v1.5",
        "SDP-ALG01",
    ),
)


# Former names, told to whoever still uses one (the flaws took their mutators' names).
RENAMED: dict[str, str] = {
    "sha1-only": "sha1",
    "assertion-unsigned": "unsigned-assertion",
    "wrong-inresponseto": "bad-in-response-to",
    "no-inresponseto": "no-in-response-to",
    "slow-clock": "clock-skew",
}


def name_unknown(names: Iterable[str]) -> str:
    """The unknown flaw names, each with its new name where it was renamed."""
    return ", ".join(
        repr(name) + (f" (now {RENAMED[name]!r})" if name in RENAMED else "") for name in names
    )


def _index(flaws: Iterable[Flaw]) -> dict[str, Flaw]:
    index: dict[str, Flaw] = {}
    for flaw in flaws:
        if flaw.name in index:
            raise ValueError(f"duplicate flaw {flaw.name!r}")
        for call in flaw.mutators:
            if call.name not in MUTATORS_BY_NAME:
                raise ValueError(f"flaw {flaw.name!r} uses unknown mutator {call.name!r}")
        index[flaw.name] = flaw
    return index


FLAWS_BY_NAME: dict[str, Flaw] = _index(FLAWS)


def list_flaws() -> list[tuple[str, str]]:
    """(name, one-line description) for ``sso-harness list flaws``."""
    return [(flaw.name, flaw.description) for flaw in FLAWS]
