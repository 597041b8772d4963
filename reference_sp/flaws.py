"""The reference SP's flaws: named switches, off by default, each weakening exactly one rule.

``sso-harness list flaws`` reads ``FLAWS``; ``sso-harness sp --flaw NAME`` and
``Settings(flaws=...)`` turn them on. While any is on, every page carries a warning banner.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from harness.protocol.requirements import requirement


@dataclass(frozen=True)
class Flaw:
    name: str
    rule: str  # the requirement the flaw breaks, by its registered id
    description: str

    def __post_init__(self) -> None:
        requirement(self.rule)  # an unregistered rule id fails at import


# Former names, told to whoever still uses one.
RENAMED: dict[str, str] = {"accept-unsigned-assertion": "accept-unsigned"}


_ALL = (
    Flaw(
        "accept-unsigned",
        "SAML-PROF-4.1.4.5",
        "accept an assertion that no trusted key signed (unsigned Response and Assertion)",
    ),
    Flaw(
        "trust-keyinfo-cert",
        "SAML-CORE-5.4.5",
        "also trust the certificate the message carries in ds:KeyInfo, not only the metadata's",
    ),
    Flaw(
        "skip-audience",
        "SAML-CORE-2.5.1.4",
        "no audience check: accept an assertion addressed to another SP, restricted to another "
        "SP as well as this one, or to no one",
    ),
    Flaw(
        "skip-recipient",
        "SAML-PROF-4.1.4.3",
        "do not compare SubjectConfirmationData Recipient with the ACS URL",
    ),
    Flaw(
        "no-replay-cache",
        "SAML-PROF-4.1.4.5",
        "forget assertion IDs: the same assertion signs in again and again",
    ),
    Flaw(
        "skip-destination",
        "SAML-CORE-3.2.2",
        "accept a Response whose Destination is another endpoint than this ACS, or missing",
    ),
    Flaw(
        "skip-issuer",
        "SAML-PROF-4.1.4.2",
        "take any Issuer of the Response and Assertion (unknown, differing, not of entity "
        "Format, missing) for the organisation's IdP (a trusted key still signs)",
    ),
    Flaw(
        "skip-in-response-to",
        "SAML-CORE-3.2.2",
        "accept a response to a request this browser never made",
    ),
    Flaw(
        "ignore-status",
        "SAML-CORE-3.2.2.2",
        "read a non-Success StatusCode as Success when an assertion is there",
    ),
    Flaw(
        "process-first-assertion-unverified",
        "SDP-IDP10",
        "when a Response holds several assertions (nested ones too), verify the signed one (as "
        "if it were the only one) but read the identity from the first in the document "
        "(signature wrapping)",
    ),
    Flaw(
        "trust-every-organisation-key",
        "SAML-PROF-4.1.4.2",
        "verify a response with the signing keys of every organisation's IdP, not only the "
        "keys of the IdP its Issuer names",
    ),
    Flaw(
        "no-clock-skew",
        "SDP-G01",
        "allow no clock skew: an IdP clock a little off is refused",
    ),
    Flaw(
        "refuse-unsolicited",
        "SAML-PROF-4.1.5",
        "refuse IdP-initiated (unsolicited) responses although the organisation allows them",
    ),
    Flaw(
        "tell-decryption-errors",
        "SP-NO-ORACLE",
        "refuse a ciphertext that decrypts to garbage as malformed XML, apart from a bad padding "
        "or key (a decryption oracle)",
    ),
    Flaw(
        "first-signing-key-only",
        "SDP-SP37",
        "trust only the first signing certificate of the IdP's metadata (an IdP mid-rollover "
        "that signs with its other key is refused)",
    ),
    Flaw(
        "name-id-first-text",
        "XMLDSIG-8.1.3",
        "read the identity from the NameID's first text node only: a comment, processing "
        "instruction or CDATA section inside the signed NameID cuts it short (CVE-2017-11427)",
    ),
    Flaw(
        "resolve-entities",
        "SDP-G03",
        "parse a message's DTD: expand its entities and fetch external DTDs and entities over HTTP",
    ),
    Flaw(
        "run-transforms",
        "SAML-CORE-5.4.4",
        "run a Reference's XSLT, XPath or Base64 transforms (XSLT document() over the network) "
        "before judging the signature",
    ),
    Flaw(
        "match-prefixes",
        "SAML-CORE-1.2",
        "find the assertion by its prefixed name: a saml:Assertion look-alike in another "
        "namespace is read, the real one's signature verified",
    ),
    Flaw(
        "two-parsers",
        "SDP-G03",
        "verify signatures on what a lax parser sees (a DOCTYPE ends at its first '>') and read "
        "the identity from what a conforming one sees (CVE-2025-25291)",
    ),
    Flaw(
        "verify-by-reference",
        "SAML-CORE-5.4.2",
        "check a signature over any element carrying its Reference's ID, anywhere in the "
        "document, not over the element it sits in (signature wrapping)",
    ),
    Flaw(
        "skip-reference-uri",
        "SAML-CORE-5.4.2",
        "check a signature's digest over the element it sits in without comparing the "
        "Reference URI with that element's ID",
    ),
    Flaw(
        "trust-keyinfo-hmac",
        "SAML-CORE-5.4.5",
        "verify an HMAC signature with the key the message carries in ds:KeyInfo",
    ),
    Flaw(
        "digest-first-node",
        "XMLDSIG-4",
        "read a DigestValue from its first child node, a comment included (CVE-2025-29775)",
    ),
    Flaw(
        "first-signed-info",
        "XMLDSIG-4",
        "check the SignatureValue over the first SignedInfo and the digest of the last "
        "(CVE-2025-29774)",
    ),
    Flaw(
        "digest-from-document",
        "XMLDSIG-4",
        "compare the digest with the first ds:DigestValue anywhere in the document "
        "(CVE-2024-45409)",
    ),
    Flaw(
        "ignore-expiry",
        "SAML-CORE-2.5.1.2",
        "enforce no validity window: NotBefore/NotOnOrAfter of the assertion and its subject "
        "confirmation (passed, inverted or missing) and SessionNotOnOrAfter",
    ),
    Flaw(
        "any-confirmation-method",
        "SAML-PROF-4.1.4.2",
        "take a SubjectConfirmation of any Method (sender-vouches...) for bearer",
    ),
    Flaw(
        "ignore-unknown-conditions",
        "SAML-CORE-2.5.1",
        "ignore a Condition the SP does not understand instead of refusing the assertion",
    ),
    Flaw(
        "skip-version-check",
        "SAML-CORE-3.2.2",
        "accept a Response or Assertion whose Version is not 2.0",
    ),
    Flaw(
        "no-authn-statement-needed",
        "SAML-PROF-4.1.4.2",
        "sign in with an assertion that holds no AuthnStatement",
    ),
    Flaw(
        "skip-signature-verification",
        "SAML-CORE-5.4",
        "require signatures but never verify them (corrupt values, content edited after "
        "signing and untrusted keys all pass)",
    ),
    Flaw(
        "open-redirect",
        "SP-REDIRECT",
        "after sign-in, follow any RelayState, another site or a javascript: URL included",
    ),
    Flaw(
        "keep-sessions-on-deprovision",
        "BIZ-DEPROV-1",
        "a user deactivated or deleted over SCIM keeps their open sessions",
    ),
    Flaw(
        "keep-license-on-deactivate",
        "BIZ-LICENSE-1",
        "a user deactivated over SCIM keeps their license seat",
    ),
    Flaw(
        "keep-activations-on-deprovision",
        "BIZ-DEPROV-2",
        "a user deactivated or deleted over SCIM keeps their device activations",
    ),
    Flaw(
        "sign-in-inactive-users",
        "BIZ-SIGNIN-1",
        "sign in provisioned users even while SCIM says they are inactive",
    ),
    Flaw(
        "keep-session-on-logout",
        "SAML-PROF-4.4",
        "signing out (single logout) leaves the SP session open",
    ),
    Flaw(
        "allow-old-clients",
        "BIZ-ACTIVATION-1",
        "activate desktop clients older than version 18 through SSO",
    ),
    Flaw(
        "scim-ignore-deactivation",
        "RFC7644-3.5.2",
        "answer a SCIM deactivation (active: false) with success but keep the user active",
    ),
    Flaw(
        "scim-username-case-sensitive",
        "RFC7643-4.1.1",
        "filter userName case-sensitively: a literal in other case than the stored (lower-cased) "
        "userName finds nobody",
    ),
    Flaw(
        "scim-patch-not-atomic",
        "RFC7644-3.5.2",
        "keep the operations of a PATCH that came before the one that failed, and answer the "
        "failure",
    ),
    Flaw(
        "scim-ignores-start-index",
        "RFC7644-3.4.2.4",
        "answer every list from its first result, whatever startIndex asks (and echo startIndex)",
    ),
    Flaw(
        "scim-loses-concurrent-member-adds",
        "SP-SCIM-CONCURRENT",
        "apply a group PATCH to the members read when the request arrived, 50 ms before it is "
        "written: concurrent member adds overwrite each other",
    ),
    Flaw(
        "scim-error-status-as-number",
        "RFC7644-3.12",
        'answer every SCIM error with its "status" as a JSON number, not the string RFC 7644 '
        "asks for",
    ),
    Flaw(
        "scim-syntax-error-untyped",
        "RFC7644-3.12-SYNTAX",
        'answer a body that cannot be parsed 400 without scimType "invalidSyntax"',
    ),
    Flaw(
        "scim-value-error-untyped",
        "RFC7644-3.12-VALUE",
        'answer a value of the wrong type 400 without scimType "invalidValue"',
    ),
    Flaw(
        "scim-uniqueness-error-untyped",
        "RFC7644-3.12-UNIQUENESS",
        'answer a taken userName 409 without scimType "uniqueness"',
    ),
    Flaw(
        "scim-mutability-error-untyped",
        "RFC7644-3.12-MUTABILITY",
        'answer a change of a readOnly or immutable attribute 400 without scimType "mutability"',
    ),
    Flaw(
        "scim-replace-unmatched-filter-adds",
        "RFC7644-3.12-NOTARGET",
        "take a PATCH replace whose value filter matches nothing as an add (creating the "
        "element) instead of 400 noTarget",
    ),
    Flaw(
        "scim-discovery-accepts-writes",
        "RFC7644-4-READONLY",
        "answer a write (POST, PUT, PATCH, DELETE) on /ServiceProviderConfig, /ResourceTypes "
        "and /Schemas as a GET, not 405",
    ),
    Flaw(
        "scim-discovery-ignores-filter",
        "RFC7644-4-FILTER",
        "ignore a filter on the discovery endpoints (answer 200, not 403)",
    ),
    Flaw(
        "scim-put-refuses-foreign-id",
        "RFC7644-3.5.1-READONLY",
        "refuse a PUT whose body carries another id (400 mutability) instead of ignoring it",
    ),
    Flaw(
        "scim-refuses-application-json",
        "RFC7644-3.8",
        "refuse a request body sent as application/json (415): only application/scim+json",
    ),
    Flaw(
        "scim-search-ignores-filter",
        "RFC7644-3.4.3",
        "ignore the filter of a POST .../.search: list every resource",
    ),
    Flaw(
        "scim-attributes-drop-id",
        "RFC7644-3.4.2.5",
        'leave "id" (returned "always") out of a resource read with ?attributes=',
    ),
    Flaw(
        "scim-bulk-ignores-fail-on-errors",
        "RFC7644-3.7.3",
        "carry out every operation of a Bulk request, whatever failOnErrors says",
    ),
    Flaw(
        "scim-bulk-over-max-payload",
        "RFC7644-3.7.4",
        "read a Bulk request of up to four times the announced maxPayloadSize instead of 413",
    ),
    Flaw(
        "scim-me-not-found",
        "RFC7644-3.11",
        "answer /Me 404, as an unknown endpoint, instead of 501 Not Implemented",
    ),
    Flaw(
        "scim-duplicate-add-refused",
        "RFC7644-3.5.2.1-NOOP",
        "refuse (409 uniqueness) a PATCH adding a group member that is already a member",
    ),
    Flaw(
        "scim-keeps-two-primaries",
        "RFC7643-2.4",
        "keep an element primary when a PATCH marks another one primary",
    ),
    Flaw(
        "match-users-across-organisations",
        "BIZ-SIGNIN-2",
        "match the NameID to a user of any organisation, not only the asserting IdP's",
    ),
    Flaw(
        "sessions-last-one-request",
        "BIZ-SESSION-1",
        "a session answers only the first request after sign-in, as if its cookie were lost",
    ),
    Flaw(
        "admin-by-stale-group",
        "BIZ-ADMIN-1",
        "admin access follows the groups at sign-in, not the current membership",
    ),
)


def _index(flaws: Iterable[Flaw]) -> dict[str, Flaw]:
    index: dict[str, Flaw] = {}
    for flaw in flaws:
        if flaw.name in index:
            raise ValueError(f"duplicate flaw {flaw.name!r}")
        index[flaw.name] = flaw
    return index


FLAWS: dict[str, Flaw] = _index(_ALL)


class UnknownFlawError(ValueError):
    pass


def flaw_set(names: Iterable[str]) -> frozenset[str]:
    """The names, checked against the registry (an unknown name is a configuration error)."""
    chosen = frozenset(names)
    unknown = sorted(chosen - FLAWS.keys())
    if unknown:
        renamed = f" (now {RENAMED[unknown[0]]!r})" if unknown[0] in RENAMED else ""
        raise UnknownFlawError(
            f"unknown SP flaw {unknown[0]!r}{renamed}; choose from {', '.join(sorted(FLAWS))}"
        )
    return chosen
