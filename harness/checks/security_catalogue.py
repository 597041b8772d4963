"""The SAML security catalogue: one case per row of the SP attack catalogue, each with the
mutators that build its response(s), the rule it enforces and the kind of finding it makes.

Kinds, reported apart:

- ``control``: a response an SP must accept (P01 decides whether anything can be judged), or
  whose acceptance is the SP's policy (P02, P03, P06);
- ``forged-sign-in``: the SP would sign in a user the IdP did not vouch for (wrapping, unsigned
  or re-signed content, comment truncation, a foreign key);
- ``protocol``: a rule of the SAML profiles (replay, audience, recipient, validity...);
- ``hardening``: what a careful SP refuses (DTDs, weak algorithms, lifetimes), reported as
  observed where it is a policy, failed where harm is seen (an out-of-band fetch).

A mutator parameter may name a value of the run: ``{attacker}`` (the user name the attacker
wants to be), ``{attacker_suffixed}`` (that name with ``.evil.example`` appended, which a
comment splits back to the attacker's) and ``{out_of_band}`` (the out-of-band listener's URL
for this case). The catalogue is checked at import: every mutator and rule must exist.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from harness.protocol.requirements import requirement
from harness.protocol.saml.mutators import MUTATORS_BY_NAME, MutatorCall, get_mutator

Kind = Literal["control", "forged-sign-in", "protocol", "hardening"]
# What the SP must do: sign the user in, refuse (no session), either (a policy, observed),
# keep the browser on its own site after sign-in, take responses over TLS only, or refuse
# broken ciphertexts all alike.
Expect = Literal["signed-in", "refused", "observed", "on-site", "tls", "uniform"]
# Special flows beside a plain sign-in with a mutated response.
Flow = Literal[
    "sign-in",
    "replay",
    "relay-state",
    "acs-scheme",
    "other-browser",
    "second-key",
    "logout-response",
    "foreign-key",
    "oracle",
]
# "rollover": the SP can be made to trust a second IdP key (only the in-process reference SP:
# a real SP read the IdP's metadata before the run).
# "second_idp": another organisation's IdP the SP trusts (the in-process reference SP's).
Need = Literal["encryption", "idp_initiated", "rollover", "second_idp"]

ATTACKER_SUFFIX = ".evil.example"


@dataclass(frozen=True)
class Variant:
    """One response of a case (a case may break its rule in several ways)."""

    name: str
    mutators: tuple[MutatorCall, ...] = ()
    via: Literal["sp", "idp"] = "sp"
    relay_state: str | None = None  # for the relay-state flow
    rule: str | None = None  # where this variant's rule is not the case's (a SHOULD beside MUSTs)
    replayed: bool = False  # posted again from another browser after its first use
    flow: Flow | None = None  # where this variant's flow is not the case's


@dataclass(frozen=True)
class SecurityCase:
    id: str  # the catalogue row: "P01", "S03", "W01", "X05", "C10"...
    title: str
    kind: Kind
    rule: str  # the registered requirement it enforces
    expect: Expect
    variants: tuple[Variant, ...]
    references: tuple[str, ...] = ()  # clauses and CVEs beyond the rule
    needs: tuple[Need, ...] = ()
    flow: Flow = "sign-in"
    # What signing in the subject the IdP signed means, where the attacker's choice differs:
    # "fail" (the SP accepted what it must refuse), "warn" (a wrapping the SP accepted while
    # reading only the signed part: no forgery, but a strict SP refuses the message), "pass"
    # (a comment-split NameID read whole, as it was signed).
    if_signed_subject: Literal["fail", "warn", "pass"] = "fail"
    slow_after_s: float | None = None  # an answer slower than this fails (expansion, size)
    notes: str = ""

    @property
    def can_harm(self) -> bool:
        """Whether something worse than acceptance can be seen: an out-of-band fetch, a hang."""
        named = {
            v for variant in self.variants for c in variant.mutators for v in c.params.values()
        }
        return "{out_of_band}" in named or self.slow_after_s is not None

    def flow_of(self, variant: Variant) -> Flow:
        return variant.flow or self.flow

    def check_id(self, variant: Variant) -> str:
        return f"saml-security.{self.id}.{variant.name}"


def _call(name: str, **params: object) -> MutatorCall:
    return MutatorCall(name, params)


def _one(name: str, **params: object) -> tuple[Variant, ...]:
    """A case of one variant named after its one mutator."""
    return (Variant(name, (_call(name, **params),)),)


def _each(*names: str, **params: object) -> tuple[Variant, ...]:
    return tuple(Variant(name, (_call(name, **params),)) for name in names)


_FORGED = {"value": "{attacker}"}

CONTROLS: tuple[SecurityCase, ...] = (
    SecurityCase(
        "P01",
        "Response and Assertion both signed (RSA-SHA256), every field right: signs in",
        "control",
        "SAML-PROF-4.1.4.3",
        "signed-in",
        (Variant("both-signed"),),
        ("SAML-PROF-4.1.4.2",),
    ),
    SecurityCase(
        "P02",
        "Only the Assertion signed (the SP's policy on unsigned Responses)",
        "control",
        "IIP-SP13",
        "observed",
        _one("unsigned-response"),
        ("SAML-PROF-4.1.4.5",),
    ),
    SecurityCase(
        "P03",
        "Only the Response signed (the SP's policy on unsigned Assertions)",
        "control",
        "SAML-PROF-4.1.4.5",
        "observed",
        _one("unsigned-assertion"),
        ("SDP-IDP09",),
    ),
    SecurityCase(
        "P04",
        "EncryptedAssertion (AES-256-GCM, RSA-OAEP) in a signed Response: signs in",
        "control",
        "SDP-SP10",
        "signed-in",
        (Variant("encrypted"),),
        needs=("encryption",),
    ),
    SecurityCase(
        "P06",
        "Signed with the second key of the IdP's metadata (after a rollover): signs in",
        "control",
        "SDP-SP37",
        "signed-in",
        (Variant("second-key"),),
        ("IIP-MD07",),
        needs=("rollover",),
        flow="second-key",
    ),
    SecurityCase(
        "P05",
        "A clock two minutes off, within the skew every SP allows: NotBefore two minutes ahead, "
        "or every window ended two minutes ago",
        "control",
        "SDP-G01",
        "signed-in",
        (
            Variant("two-minutes-ahead", (_call("not-yet-valid", seconds=120),)),
            Variant("two-minutes-late", (_call("expired", seconds=120),)),
        ),
    ),
)

SIGNATURES: tuple[SecurityCase, ...] = (
    SecurityCase(
        "S01",
        "Every signature removed and the NameID changed",
        "forged-sign-in",
        "SAML-PROF-4.1.4.5",
        "refused",
        (Variant("unsigned-name-id", (_call("unsigned"), _call("name-id", **_FORGED))),),
        ("CVE-2020-12676",),
    ),
    SecurityCase(
        "S02",
        "A corrupted SignatureValue, or the NameID edited after signing",
        "forged-sign-in",
        "SAML-CORE-5.4",
        "refused",
        (
            Variant("corrupt-signature", (_call("corrupt-signature"),)),
            Variant("tamper-after-signing", (_call("tamper-after-signing", **_FORGED),)),
        ),
        ("XMLDSIG-4",),
    ),
    SecurityCase(
        "S03",
        "An unsigned Response holding the signed assertion and an attacker's unsigned one, "
        "placed first and then last",
        "forged-sign-in",
        "SDP-IDP10",
        "refused",
        (
            Variant("first", (_call("extra-assertion", position="first", **_FORGED),)),
            Variant("last", (_call("extra-assertion", position="last", **_FORGED),)),
        ),
        ("CVE-2022-41912", "CVE-2021-28091"),
        if_signed_subject="warn",
    ),
    SecurityCase(
        "S04",
        "Signed with the attacker's key, a certificate in KeyInfo (another key, or a clone of "
        "the IdP's certificate)",
        "forged-sign-in",
        "SAML-CORE-5.4.5",
        "refused",
        (
            Variant("wrong-key", (_call("wrong-key"), _call("name-id", **_FORGED))),
            Variant("keyinfo-self-signed", (_call("keyinfo-self-signed", **_FORGED),)),
        ),
        ("CVE-2015-5372", "CVE-2021-21239"),
    ),
    SecurityCase(
        "S10",
        "Signed with the key of another IdP the SP trusts (another organisation's), while the "
        "Issuer names this organisation's IdP",
        "forged-sign-in",
        "SAML-PROF-4.1.4.2",
        "refused",
        (Variant("another-idps-key", (_call("wrong-key"), _call("name-id", **_FORGED))),),
        ("SAML-CORE-5.4.5",),
        needs=("second_idp",),
        flow="foreign-key",
    ),
    SecurityCase(
        "S11",
        "An IdP-signed message of another kind at the ACS: a LogoutResponse answering the "
        "pending request, or a Response the IdP made for another SP",
        "forged-sign-in",
        "SAML-CORE-3.2.2",
        "refused",
        (
            Variant("logout-response", flow="logout-response"),
            Variant(
                "another-sps-response",
                (
                    _call("wrong-audience"),
                    _call("wrong-recipient"),
                    _call("wrong-destination"),
                    _call("bad-in-response-to"),
                ),
            ),
        ),
        ("SAML-PROF-4.1.4.3",),
    ),
    SecurityCase(
        "S05",
        "An HMAC SignatureMethod keyed with a key the attacker chose",
        "forged-sign-in",
        "SAML-CORE-5.4.5",
        "refused",
        _one("hmac-signature", **_FORGED),
        ("CVE-2021-21239", "CVE-2009-0217"),
    ),
    SecurityCase(
        "S06",
        "A Reference URI that is empty, names another element, or is external",
        "forged-sign-in",
        "SAML-CORE-5.4.2",
        "refused",
        tuple(
            Variant(to, (_call("reference-uri", to=to, **_FORGED),))
            for to in ("empty", "other", "external")
        ),
    ),
    SecurityCase(
        "S07",
        "Two SignedInfo elements: the value checked over one, the digest taken from the other",
        "forged-sign-in",
        "XMLDSIG-4",
        "refused",
        _one("two-signed-info", **_FORGED),
        ("SAML-CORE-5.4.2", "CVE-2025-29774"),
        if_signed_subject="warn",
    ),
    SecurityCase(
        "S08",
        "A comment inside DigestValue, the assertion altered",
        "forged-sign-in",
        "XMLDSIG-4",
        "refused",
        _one("digest-comment", **_FORGED),
        ("CVE-2025-29775",),
        if_signed_subject="warn",
    ),
    SecurityCase(
        "S09",
        "An unsigned assertion carrying the signed one's ID",
        "forged-sign-in",
        "SAML-CORE-1.3.4",
        "refused",
        _one("duplicate-id", **_FORGED),
        if_signed_subject="warn",
    ),
)

_XSW = (
    (
        "W01",
        "xsw1",
        "XSW1: an evil Response at the root, the unsigned original inside ds:Signature",
    ),
    (
        "W02",
        "xsw2",
        "XSW2: an evil Response at the root, the unsigned original before ds:Signature",
    ),
    ("W03", "xsw3", "XSW3: an evil unsigned Assertion before the signed one"),
    ("W04", "xsw4", "XSW4: an evil Assertion wrapping the signed original"),
    (
        "W05",
        "xsw5",
        "XSW5: the Assertion edited under a new ID, its Signature kept; the original appended",
    ),
    ("W06", "xsw6", "XSW6: as XSW5, the original inside the edited Assertion's Signature"),
    (
        "W07",
        "xsw7",
        "XSW7: an Extensions element before the Assertion holding an edited same-ID copy",
    ),
    (
        "W08",
        "xsw8",
        "XSW8: the Assertion edited in place, the original inside ds:Object in its Signature",
    ),
    ("W10", "stray-digest", "A forged Assertion plus a stray DigestValue in StatusDetail"),
)

WRAPPING: tuple[SecurityCase, ...] = tuple(
    SecurityCase(
        row,
        title,
        "forged-sign-in",
        get_mutator(name).rule,
        "refused",
        _one(name, **_FORGED),
        ("Somorovsky et al. 2012",) if name.startswith("xsw") else ("CVE-2024-45409",),
        if_signed_subject="warn",
    )
    for row, name, title in _XSW
)

PROTOCOL: tuple[SecurityCase, ...] = (
    SecurityCase(
        "C01",
        "Destination wrong, or missing on a signed Response",
        "protocol",
        "SAML-CORE-3.2.2",
        "refused",
        _each("wrong-destination", "no-destination"),
        ("SAML-BIND-3.5.5.2",),
    ),
    SecurityCase(
        "C02",
        "SubjectConfirmationData Recipient wrong or missing",
        "protocol",
        "SAML-PROF-4.1.4.3",
        "refused",
        _each("wrong-recipient", "no-recipient"),
        ("SAML-PROF-4.1.4.2",),
    ),
    SecurityCase(
        "C03",
        "SubjectConfirmationData NotOnOrAfter past the skew allowance, or missing",
        "protocol",
        "SAML-PROF-4.1.4.3",
        "refused",
        _each("subject-expired", "no-subject-expiry"),
    ),
    SecurityCase(
        "C04",
        "SubjectConfirmationData NotBefore in the future",
        "protocol",
        "SAML-PROF-4.1.4.2",
        "refused",
        _one("subject-not-yet-valid"),
    ),
    SecurityCase(
        "C05",
        "No bearer SubjectConfirmation (sender-vouches)",
        "protocol",
        "SAML-PROF-4.1.4.2",
        "refused",
        _one("sender-vouches"),
    ),
    SecurityCase(
        "C06",
        "InResponseTo names a request the SP never sent",
        "protocol",
        "SAML-CORE-3.2.2",
        "refused",
        _one("bad-in-response-to"),
        ("SAML-PROF-4.1.4.3",),
    ),
    SecurityCase(
        "C07",
        "A response to a request another browser started (login CSRF): the browser that "
        "receives it made no request",
        "protocol",
        "SAML-CORE-3.2.2",
        "refused",
        (Variant("other-browser"),),
        ("SAML-PROF-4.1.4.3",),
        flow="other-browser",
    ),
    SecurityCase(
        "C08",
        "Unsolicited response (IdP-initiated) without InResponseTo: accepted only where the "
        "SP allows IdP-initiated sign-in",
        "protocol",
        "SAML-PROF-4.1.5",
        "signed-in",
        (Variant("unsolicited", via="idp"),),
        needs=("idp_initiated",),
    ),
    SecurityCase(
        "C09",
        "Unsolicited response that carries an InResponseTo",
        "protocol",
        "SAML-PROF-4.1.5",
        "refused",
        (Variant("unsolicited-in-response-to", (_call("bad-in-response-to"),), via="idp"),),
        needs=("idp_initiated",),
    ),
    SecurityCase(
        "C10",
        "Replay: the same Response posted again from another browser (an unsolicited one is "
        "stopped by nothing but the SP's replay cache)",
        "protocol",
        "SAML-PROF-4.1.4.5",
        "refused",
        (Variant("solicited"), Variant("unsolicited", via="idp")),
        flow="replay",
    ),
    SecurityCase(
        "C11",
        "Conditions not yet valid, expired, or NotBefore after NotOnOrAfter",
        "protocol",
        "SAML-CORE-2.5.1.2",
        "refused",
        _each("not-yet-valid", "expired", "inverted-validity"),
    ),
    SecurityCase(
        "C12",
        "Audience names another SP",
        "protocol",
        "SAML-CORE-2.5.1.4",
        "refused",
        _one("wrong-audience"),
        ("SAML-PROF-4.1.4.2",),
    ),
    SecurityCase(
        "C13",
        "A second AudienceRestriction without this SP (restrictions AND), or none at all",
        "protocol",
        "SAML-CORE-2.5.1.4",
        "refused",
        _each("extra-audience-restriction", "no-audience"),
        ("SAML-PROF-4.1.4.2",),
    ),
    SecurityCase(
        "C14",
        "A Condition of a type the SP cannot understand; a OneTimeUse assertion used twice",
        "protocol",
        "SAML-CORE-2.5.1",
        "refused",
        (
            *_one("unknown-condition"),
            Variant(
                "one-time-use",
                (_call("one-time-use"),),
                via="idp",
                rule="SAML-CORE-2.5.1.5",
                replayed=True,
            ),
        ),
        ("SAML-PROF-4.1.4.2",),
    ),
    SecurityCase(
        "C15",
        "An unknown Issuer, Response and Assertion Issuers that differ, an Issuer Format other "
        "than entity, or no Assertion Issuer",
        "protocol",
        "SAML-PROF-4.1.4.2",
        "refused",
        (
            *_each("wrong-issuer", "mismatched-issuer"),
            Variant("issuer-format", (_call("issuer-format"),), rule="SP-ISSUER-FORMAT"),
            *_each("no-assertion-issuer"),
        ),
        ("SAML-CORE-2.3.3",),
    ),
    SecurityCase(
        "C16",
        "StatusCode other than Success, with a valid assertion inside",
        "protocol",
        "SAML-CORE-3.2.2.2",
        "refused",
        _one("status"),
        ("SDP-SP11",),
    ),
    SecurityCase(
        "C17",
        "Version other than 2.0, or no AuthnStatement",
        "protocol",
        "SAML-CORE-3.2.2",
        "refused",
        _each("wrong-version", "no-authn-statement"),
        ("SAML-PROF-4.1.4.2",),
    ),
    SecurityCase(
        "C18",
        "SessionNotOnOrAfter ten minutes past (beyond any clock skew): no session",
        "protocol",
        "SAML-PROF-4.1.4.3",
        "refused",
        _one("session-expired", seconds=600),
    ),
    SecurityCase(
        "C19",
        "SubjectConfirmationData Address names another client (the SP's policy)",
        "protocol",
        "SP-ADDRESS",
        "observed",
        _one("subject-address"),
        ("SAML-PROF-4.1.4.3",),
    ),
)

HARDENING: tuple[SecurityCase, ...] = (
    SecurityCase(
        "A01",
        "RSA-SHA1 signature and SHA-1 digest (the SP's algorithm policy)",
        "hardening",
        "SDP-ALG01",
        "observed",
        _one("sha1"),
        ("IIP-ALG08",),
    ),
    SecurityCase(
        "A02",
        "EncryptedAssertion with RSA PKCS#1 v1.5 key transport, or in AES-CBC",
        "hardening",
        "IIP-ALG08",
        "observed",
        _each("weak-key-transport", "cbc-encryption"),
        ("SDP-ALG01",),
        needs=("encryption",),
    ),
    SecurityCase(
        "E01",
        "EncryptedAssertion whose Assertion is unsigned, in an unsigned Response",
        "forged-sign-in",
        "SAML-PROF-4.1.4.5",
        "refused",
        (Variant("unsigned-encrypted", (_call("unsigned"), _call("name-id", **_FORGED))),),
        ("IIP-SP13", "CVE-2024-4985"),
        needs=("encryption",),
    ),
    SecurityCase(
        "E02",
        "AES-CBC ciphertexts broken at the padding, at the first byte and in the wrapped key, "
        "in an unsigned Response: refused alike, with no session",
        "hardening",
        "SP-NO-ORACLE",
        "uniform",
        (Variant("padding-oracle"),),
        ("IIP-ALG08",),
        needs=("encryption",),
        flow="oracle",
    ),
    SecurityCase(
        "E03",
        "An EncryptedAssertion plus an unsigned plaintext Assertion naming another user",
        "forged-sign-in",
        "SDP-IDP10",
        "refused",
        _one("plaintext-beside-encrypted", **_FORGED),
        needs=("encryption",),
        if_signed_subject="warn",
    ),
    SecurityCase(
        "R01",
        "RelayState naming another site or a script URL: no redirect off the SP",
        "hardening",
        "SP-REDIRECT",
        "on-site",
        (
            Variant("absolute", relay_state="https://evil.example/landing"),
            Variant("scheme-relative", relay_state="//evil.example/landing"),
            Variant("backslash", relay_state="/\\evil.example/landing"),
            Variant("javascript", relay_state="javascript:alert(document.domain)"),
        ),
        flow="relay-state",
    ),
    SecurityCase(
        "G01",
        "Validity ten years ahead, or an AuthnInstant days old (the SP's lifetime policy)",
        "hardening",
        "SP-LIFETIME",
        "observed",
        _each("long-lived", "stale-authn-instant"),
    ),
    SecurityCase(
        "T01",
        "The AssertionConsumerService is reached over TLS",
        "hardening",
        "SDP-SP09",
        "tls",
        (Variant("acs-scheme"),),
        flow="acs-scheme",
    ),
)

_OOB = {"url": "{out_of_band}"}
_SUFFIXED = "{attacker_suffixed}"

PARSING: tuple[SecurityCase, ...] = (
    SecurityCase(
        "X01",
        "A DOCTYPE with an external entity, or an external DTD, at the out-of-band URL",
        "hardening",
        "SP-NO-FETCH",
        "observed",
        _each("external-entity", "external-dtd", **_OOB),
        ("SDP-G03", "IIP-G03", "CVE-2016-10149", "CVE-2017-1000061"),
    ),
    SecurityCase(
        "X02",
        "Internal entities expanding exponentially (billion laughs): a quick answer",
        "hardening",
        "SDP-G03",
        "observed",
        _one("entity-expansion"),
        slow_after_s=10.0,
    ),
    SecurityCase(
        "X03",
        "An XSLT transform whose document() names the out-of-band URL",
        "hardening",
        "SP-NO-FETCH",
        "observed",
        _one("xslt-transform", **_OOB),
        ("SAML-CORE-5.4.4", "CVE-2022-34169"),
    ),
    SecurityCase(
        "X04",
        "An XPath or Base64 transform in the signature's Reference (the SP's policy)",
        "hardening",
        "SAML-CORE-5.4.4",
        "observed",
        _each("xpath-transform", "base64-transform"),
    ),
    SecurityCase(
        "X05",
        "The IdP signs mallory@….evil.example with a comment, processing instruction or CDATA "
        "inside: the identity is the whole string, never mallory",
        "forged-sign-in",
        "XMLDSIG-8.1.3",
        "refused",
        (
            *(
                Variant(
                    kind, (_call("comment-in-name-id", value="{attacker_suffixed}", kind=kind),)
                )
                for kind in ("comment", "pi")
            ),
            # In clear: a decrypting parser merges a CDATA section into the text around it.
            Variant(
                "cdata",
                (
                    _call("comment-in-name-id", value=_SUFFIXED, kind="cdata"),
                    _call("no-encryption"),
                ),
            ),
        ),
        ("CVE-2017-11427", "CVE-2017-11428", "CVE-2017-11429", "CVE-2018-0489"),
        if_signed_subject="pass",
    ),
    SecurityCase(
        "X06",
        "A look-alike Assertion whose saml:/ds: prefixes are bound to other namespaces",
        "forged-sign-in",
        "SAML-CORE-1.2",
        "refused",
        _one("prefix-redeclared", **_FORGED),
        if_signed_subject="warn",
    ),
)

PARSER_WRAPPING: tuple[SecurityCase, ...] = (
    SecurityCase(
        "W09",
        "XSW10: the Assertion's signature moved into the Response with a ds:Object copy, IDs "
        "from DTD entities",
        "forged-sign-in",
        "SDP-G03",
        "refused",
        _one("xsw10", **_FORGED),
        ("CVE-2025-23369",),
        if_signed_subject="warn",
    ),
    SecurityCase(
        "W11",
        "A DOCTYPE, comment and CDATA wrapper that two parsers read differently",
        "forged-sign-in",
        "SDP-G03",
        "refused",
        _one("doctype-differential", **_FORGED),
        ("CVE-2025-25291",),
        if_signed_subject="warn",
    ),
    SecurityCase(
        "W12",
        "A namespace differential through an ATTLIST default xmlns",
        "forged-sign-in",
        "SDP-G03",
        "refused",
        _one("namespace-differential", **_FORGED),
        ("CVE-2025-25292",),
        if_signed_subject="warn",
    ),
)

CASES: tuple[SecurityCase, ...] = (
    *CONTROLS,
    *SIGNATURES,
    *WRAPPING,
    *PARSER_WRAPPING,
    *PARSING,
    *PROTOCOL,
    *HARDENING,
)


def _index(cases: tuple[SecurityCase, ...]) -> Mapping[str, SecurityCase]:
    index: dict[str, SecurityCase] = {}
    for case in cases:
        if case.id in index:
            raise ValueError(f"duplicate security case {case.id}")
        requirement(case.rule)
        for variant in case.variants:
            requirement(variant.rule or case.rule)
            for call in variant.mutators:
                if call.name not in MUTATORS_BY_NAME:
                    raise ValueError(f"security case {case.id}: no mutator {call.name!r}")
        index[case.id] = case
    return index


CASES_BY_ID: Mapping[str, SecurityCase] = _index(CASES)


@dataclass(frozen=True)
class CaseValues:
    """The values of one run that mutator parameters may name."""

    attacker: str
    out_of_band: str = ""
    extra: dict[str, str] = field(default_factory=dict)


def bound(calls: tuple[MutatorCall, ...], values: CaseValues) -> tuple[MutatorCall, ...]:
    """The calls with ``{attacker}``, ``{attacker_suffixed}`` and ``{out_of_band}`` filled."""
    names = {
        "{attacker}": values.attacker,
        "{attacker_suffixed}": values.attacker + ATTACKER_SUFFIX,
        "{out_of_band}": values.out_of_band,
        **values.extra,
    }
    return tuple(
        MutatorCall(
            call.name,
            {k: names.get(v, v) if isinstance(v, str) else v for k, v in call.params.items()},
        )
        for call in calls
    )
