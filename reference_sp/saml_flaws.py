"""How the reference SP validates a Response: strictly, with the core's
:func:`~harness.protocol.saml.sp_validation.validate_response` (the only implementation of the
rules), or deliberately weakened by the SAML flaws that are on. :func:`response_validation`
picks one; the sign-in service calls it without knowing which.

Each flaw lets through exactly the responses that break its one rule:

- ``trust-keyinfo-cert``: certificates found in ds:KeyInfo are trusted too (Core 5.4.5).
- ``ignore-expiry``: no validity window is enforced (an unbounded clock skew): Conditions
  and SubjectConfirmationData bounds passed, inverted or missing, SessionNotOnOrAfter passed.
- ``accept-unsigned``: a response with no trusted signature is treated as signed.
- ``skip-audience``: no audience check: whatever AudienceRestrictions the assertion holds
  (another SP's, one more without this SP, none) are taken as naming this SP.
- ``skip-recipient``: the Recipient is taken as this ACS, once everything the strict check
  judged before it (signatures included) has passed.
- ``skip-destination``: the Response's Destination, or a missing one, is taken as this ACS.
- ``skip-issuer``: the Issuers of the Response and the Assertion (unknown, differing, of
  another Format, or missing) are taken as this organisation's IdP (the signatures must still
  verify with a trusted key).
- ``skip-in-response-to``: the response's InResponseTo is taken as the request this browser
  made.
- ``ignore-status``: a non-Success StatusCode is read as Success when an assertion is there.
- ``process-first-assertion-unverified``: among several assertions (anywhere in the
  document, however nested) the first signed one is verified (the message judged as if it
  held only that one, so a Response signature the extra assertions broke verifies again), but
  the identity is read from the first one in the document (signature wrapping: XSW3, 4, 7,
  duplicate IDs, a plaintext assertion beside an encrypted one).
- ``verify-by-reference``: a signature is checked over any element carrying its Reference's
  ID, found anywhere in the document, not over the element it sits in (XSW1, 2, 5, 6, 8).
- ``skip-reference-uri``: a signature's digest is checked over the element it sits in,
  without comparing the Reference URI with that element's ID.
- ``trust-keyinfo-hmac``: an HMAC signature is verified with the key the message carries.
- ``digest-first-node``: a DigestValue is read from its first child node, a comment included.
- ``first-signed-info``: the SignatureValue is checked over the first SignedInfo, the digest
  taken from the last.
- ``digest-from-document``: the digest is compared with the first ds:DigestValue anywhere in
  the document, not its Reference's.

The signature flaws (the last six) check the Response's own signature and that of its first
assertion their way (:mod:`reference_sp.lax_signatures`), then judge everything else strictly.
- ``first-signing-key-only``: only the first signing certificate of the IdP's metadata is
  trusted, so an IdP mid-rollover that still signs with its other key is refused (SDP-SP37).
- ``tell-decryption-errors``: a ciphertext that decrypts to what is not XML is refused as
  malformed XML (400), apart from a bad padding or key (403): a decryption oracle (E02).
- ``name-id-first-text``: the identity is the NameID's first text node only, so a comment,
  processing instruction or CDATA section the IdP signed inside it cuts it short (X05,
  CVE-2017-11427). A CDATA split shows only in a NameID sent in clear: decryption parses the
  plaintext with the hardened parser, which merges CDATA into the text.
- ``resolve-entities``: a message with a DOCTYPE is parsed with its DTD, entities expanded and
  external DTDs and entities fetched over HTTP (so an out-of-band listener sees the fetch),
  and the expanded document is judged strictly (X01, X02; libxml2's amplification limit keeps
  our own process safe from X02, so the refusal merely comes after the expansion).
- ``run-transforms``: a Reference's transforms other than enveloped and exclusive C14N are run
  (XSLT with ``document()`` over the network, XPath, Base64) before the signature is judged
  strictly (X03: the fetch is the failure; X04 is still refused, for its signature).
- ``match-prefixes``: elements are found by their prefixed names: an element written
  ``saml:Assertion`` in another namespace is read as the assertion, while the real one's
  signature is verified (X06).
- ``two-parsers``: signatures are verified on what a lax parser sees, which ends a DOCTYPE's
  SYSTEM literal at its first double quote, and the identity is read from what a conforming
  parser sees (W11, CVE-2025-25291 in ruby-saml).
- ``any-confirmation-method``: a SubjectConfirmation of any Method (sender-vouches...) is
  taken as bearer; its SubjectConfirmationData is still checked.
- ``ignore-unknown-conditions``: a Condition the SP does not understand is ignored.
- ``skip-version-check``: a Version other than 2.0 is read as 2.0.
- ``no-authn-statement-needed``: an assertion without AuthnStatement signs in all the same.
- ``skip-signature-verification``: signatures are required where present but never verified
  (a corrupt SignatureValue, content edited after signing, an unknown key all pass).

Where a flaw edits the message (re-signing it with a stand-in key), the signatures it carried
are verified first, unless the flaw is about them, and only the elements that were signed are
signed again, so the strict check still judges the signature policy.

An EncryptedAssertion is decrypted first (with the SP's own keys) and the flaw then applies
to the plaintext, as a flawed SP that decrypts and then skips the check would.
"""

from __future__ import annotations

import base64
import copy
import dataclasses
import datetime as dt
import re
import urllib.request
from collections.abc import Callable, Iterable
from typing import Any
from xml.sax.saxutils import unescape

from lxml import etree

from harness.protocol.keys import KeyPair, generate_key_pair
from harness.protocol.refusal import Refusal
from harness.protocol.saml import constants as c
from harness.protocol.saml.encryption import decrypt_element
from harness.protocol.saml.errors import EncryptionError, SAMLError, SignatureError
from harness.protocol.saml.ids import format_instant
from harness.protocol.saml.signing import sign_element, verify_element
from harness.protocol.saml.sp_validation import SPExpectations, ValidatedLogin, validate_response
from harness.protocol.xml import XMLSecurityError, parse_xml, to_bytes

from .lax_signatures import (
    LaxCheck,
    by_reference,
    carried_certificates,
    decrypted_in_place,
    digest_first_node,
    digest_from_document,
    first_signed_info,
    ignoring_reference_uri,
    keyinfo_hmac,
    lax_vouch,
)

# The signature flaws: each checks signatures its own wrong way (see lax_signatures).
SIGNATURE_CHECKS: dict[str, LaxCheck] = {
    "verify-by-reference": by_reference,
    "skip-reference-uri": ignoring_reference_uri,
    "trust-keyinfo-hmac": keyinfo_hmac,
    "digest-first-node": digest_first_node,
    "first-signed-info": first_signed_info,
    "digest-from-document": digest_from_document,
}
# How the strict check refuses what each signature flaw takes as signed.
_SIGNATURE_REASONS: dict[str, frozenset[str]] = {
    # (a wrapped Response where the envelope allows none is refused as unexpected first)
    "verify-by-reference": frozenset(
        {"bad-reference", "bad-signature", "duplicate-id", "assertion-count", "unexpected-element"}
    ),
    "skip-reference-uri": frozenset({"bad-reference"}),
    "trust-keyinfo-hmac": frozenset({"bad-signature"}),
    "digest-first-node": frozenset({"bad-signature"}),
    "first-signed-info": frozenset({"bad-signature"}),
    "digest-from-document": frozenset({"bad-signature"}),
}

ResponseValidation = Callable[[bytes, SPExpectations], ValidatedLogin]

SAML_FLAWS = frozenset(
    {
        "trust-keyinfo-cert",
        "ignore-expiry",
        "accept-unsigned",
        "skip-audience",
        "skip-recipient",
        "skip-destination",
        "skip-issuer",
        "skip-in-response-to",
        "ignore-status",
        "process-first-assertion-unverified",
        "first-signing-key-only",
        "tell-decryption-errors",
        "name-id-first-text",
        "resolve-entities",
        "run-transforms",
        "match-prefixes",
        "two-parsers",
        "any-confirmation-method",
        "ignore-unknown-conditions",
        "skip-version-check",
        "no-authn-statement-needed",
        "skip-signature-verification",
        *SIGNATURE_CHECKS,
    }
)
# Flaws that read a message carrying a DOCTYPE (the strict ACS refuses it on arrival).
DOCTYPE_FLAWS = frozenset({"resolve-entities", "two-parsers"})
_FOREVER = dt.timedelta(days=36500)
_WRAPPING = "process-first-assertion-unverified"
_ASSERTION_TAGS = (c.q(c.SAML, "Assertion"), c.q(c.SAML, "EncryptedAssertion"))


class StandInKey:
    """The key that stands in for a signature the flawed SP pretends to have checked. Made on
    first use (generating a key costs tens of milliseconds) and kept by its validation."""

    def __init__(self) -> None:
        self._key: KeyPair | None = None

    def get(self, now: dt.datetime) -> KeyPair:
        if self._key is None:
            self._key = generate_key_pair("sso-harness-flawed-sp", now=now)
        return self._key


def _parse(data: bytes) -> etree._Element | None:
    try:
        return parse_xml(data)
    except XMLSecurityError:
        return None


def _plain(
    data: bytes, expect: SPExpectations, *, keep_cdata: bool = False
) -> etree._Element | None:
    """The Response with each EncryptedAssertion replaced by its plaintext Assertion;
    ``keep_cdata`` keeps CDATA sections apart from the text around them."""
    root = _parse(data)
    if root is None:
        return None
    if keep_cdata:  # the hardened parse above has vetted these bytes
        root = etree.fromstring(data, parser=_lax_parser(strip_cdata=False))
    for encrypted in root.findall(c.q(c.SAML, "EncryptedAssertion")):
        try:
            decrypted = decrypt_element(encrypted, expect.decryption_keys).element
        except SAMLError:
            return None
        root.replace(encrypted, decrypted)
    return root


def _assertions(root: etree._Element) -> list[etree._Element]:
    return root.findall(c.q(c.SAML, "Assertion"))


def _resign(root: etree._Element, key: KeyPair, *, sign_response: bool) -> bytes:
    for assertion in _assertions(root):
        sign_element(assertion, key)
    if sign_response:
        sign_element(root, key)
    elif (old := root.find(c.q(c.DS, "Signature"))) is not None:
        root.remove(old)
    return to_bytes(root)


Retried = tuple[bytes, SPExpectations] | None
Attempt = Callable[[bytes, SPExpectations, StandInKey], Retried]


def _vouch(
    root: etree._Element, expect: SPExpectations, stand_in: StandInKey
) -> tuple[bytes, SPExpectations]:
    """The flawed SP's edit of a message whose other checks passed: re-signed with a key that
    stands for the signature it pretends to have verified, and only that key trusted."""
    key = stand_in.get(expect.now)
    signed_response = root.find(c.q(c.DS, "Signature")) is not None
    return _resign(root, key, sign_response=signed_response), dataclasses.replace(
        expect, trusted_certificates=(key.certificate,)
    )


def _unsigned(data: bytes, expect: SPExpectations, stand_in: StandInKey) -> Retried:
    root = _plain(data, expect)
    if root is None:
        return None
    if root.find(c.q(c.DS, "Signature")) is not None:
        return data, dataclasses.replace(expect, signature_policy="either")
    key = stand_in.get(expect.now)
    trusted = (*expect.trusted_certificates, key.certificate)
    return _resign(root, key, sign_response=False), dataclasses.replace(
        expect, trusted_certificates=trusted
    )


def _recipient(data: bytes, expect: SPExpectations, stand_in: StandInKey) -> Retried:
    # The strict check got as far as the Recipient: signatures, Destination, Issuer, status
    # and InResponseTo have passed. Rewrite the Recipient and vouch for the result.
    root = _plain(data, expect)
    if root is None or not _assertions(root):
        return None
    for element in root.iter(c.q(c.SAML, "SubjectConfirmationData")):
        element.set("Recipient", expect.acs_url)
    return _vouch(root, expect, stand_in)


def _destination(data: bytes, expect: SPExpectations, stand_in: StandInKey) -> Retried:
    def rewrite(root: etree._Element) -> None:
        root.set("Destination", expect.acs_url)

    return _verified_edit(data, expect, stand_in, rewrite)


def _in_response_to(data: bytes, expect: SPExpectations, stand_in: StandInKey) -> Retried:
    root = _parse(data)
    value = root.get("InResponseTo") if root is not None else None
    if not value:
        return None
    return data, dataclasses.replace(expect, request_id=value)


def _status(data: bytes, expect: SPExpectations, stand_in: StandInKey) -> Retried:
    root = _plain(data, expect)
    if root is None or not _assertions(root):
        return None
    for code in root.iter(c.q(c.SAMLP, "StatusCode")):
        code.set("Value", c.STATUS_SUCCESS)
        for nested in list(code):
            code.remove(nested)
    return _vouch(root, expect, stand_in)


# ----------------------------------------------------------------- parser flaws (X01-X06, W11)

_FETCH_TIMEOUT = 2.0
_FETCH_LIMIT = 65536
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never via a proxy


def _fetch(url: str) -> str:
    """What a careless parser does with a SYSTEM identifier: an HTTP GET (bounded)."""
    if not url.startswith(("http://", "https://")):
        return ""
    try:
        with _DIRECT.open(url, timeout=_FETCH_TIMEOUT) as answer:
            return bytes(answer.read(_FETCH_LIMIT)).decode("utf-8", "replace")
    except (OSError, ValueError):
        return ""  # a 404 or no listener: the entity is empty and parsing goes on


class _Fetching(etree.Resolver):
    def resolve(self, system_url: str, public_id: str, context: Any = None) -> Any:
        return self.resolve_string(_fetch(system_url), context, base_url=system_url)


class _Nothing(etree.Resolver):
    def resolve(self, system_url: str, public_id: str, context: Any = None) -> Any:
        return self.resolve_string("", context, base_url=system_url)


def _lax_parser(*, fetch: bool = False, strip_cdata: bool = True) -> etree.XMLParser:
    """A parser that honours a DTD: entities expanded, attribute defaults applied, external
    resources fetched when ``fetch`` (else read as empty). libxml2's amplification limit
    still bounds an expansion, which keeps this process alive under billion laughs."""
    parser = etree.XMLParser(
        load_dtd=fetch,
        resolve_entities=fetch,
        attribute_defaults=fetch,
        no_network=True,
        huge_tree=False,
        strip_cdata=strip_cdata,
    )
    parser.resolvers.add(_Fetching() if fetch else _Nothing())
    return parser


def routing_root(data: bytes) -> etree._Element:
    """The Response read with its DTD but without fetching or expanding anything, to route a
    message a DOCTYPE flaw will judge; an unreadable DTD (billion laughs trips libxml2's
    amplification limit even unexpanded) is malformed XML, refused after parsing the DTD."""
    try:
        return etree.fromstring(data, parser=_lax_parser())
    except etree.XMLSyntaxError as exc:
        raise XMLSecurityError("malformed", f"not well-formed XML: {exc}", "XML-1.0") from exc


def _resolve_entities(data: bytes, expect: SPExpectations, stand_in: StandInKey) -> Retried:
    try:
        root = etree.fromstring(data, parser=_lax_parser(fetch=True))
    except etree.XMLSyntaxError as exc:
        raise XMLSecurityError("malformed", f"not well-formed XML: {exc}", "XML-1.0") from exc
    return to_bytes(root), expect  # the expanded document, without its DOCTYPE


_XSLT = "http://www.w3.org/TR/1999/REC-xslt-19991116"
_XPATH = "http://www.w3.org/TR/1999/REC-xpath-19991116"
_BASE64 = "http://www.w3.org/2000/09/xmldsig#base64"
_READ_NETWORK = etree.XSLTAccessControl(  # type: ignore[call-arg]  # lxml-stubs lag lxml
    read_file=False, write_file=False, create_dir=False, read_network=True, write_network=False
)


def _run(transform: etree._Element, target: etree._Element) -> None:
    algorithm = transform.get("Algorithm")
    try:
        if algorithm == _XSLT and len(transform):
            source = etree.tostring(transform[0])
            stylesheet = etree.fromstring(source, parser=_lax_parser(fetch=True))
            etree.XSLT(stylesheet, access_control=_READ_NETWORK)(copy.deepcopy(target))
        elif algorithm == _XPATH:
            expression = "".join(str(t) for t in transform.itertext())
            target.xpath(expression, namespaces={"saml": c.SAML, "ds": c.DS})
        elif algorithm == _BASE64:
            base64.b64decode("".join(str(t) for t in target.itertext()))
    except (etree.Error, ValueError):
        pass  # a transform that fails makes the digest fail: the strict verdict stands


def _run_transforms(data: bytes, expect: SPExpectations, stand_in: StandInKey) -> Retried:
    root = _plain(data, expect)
    if root is None:
        return None
    for signature in list(root.iter(c.q(c.DS, "Signature"))):
        target = signature.getparent()
        for transform in signature.iter(c.q(c.DS, "Transform")):
            if target is not None:
                _run(transform, target)
    return None  # the transforms ran (and fetched); the signature is judged as before


def _name_id_of(assertion: etree._Element) -> etree._Element | None:
    return assertion.find(f"{c.q(c.SAML, 'Subject')}/{c.q(c.SAML, 'NameID')}")


def _whole_text(element: etree._Element) -> str:
    return "".join(str(t) for t in element.itertext()).strip()


def _first_text_node(login: ValidatedLogin, data: bytes, expect: SPExpectations) -> ValidatedLogin:
    root = _plain(data, expect, keep_cdata=True)
    assertion = root.find(c.q(c.SAML, "Assertion")) if root is not None else None
    name_id = _name_id_of(assertion) if assertion is not None else None
    if name_id is None:
        return login
    inner = etree.tostring(name_id, encoding="unicode", with_tail=False).split(">", 1)[1]
    first = unescape(inner.split("<", 1)[0]).strip()
    return dataclasses.replace(login, name_id=first) if first else login


def _prefix_matched(data: bytes, expect: SPExpectations) -> ValidatedLogin | None:
    root = _plain(data, expect)
    if root is None or root.find(c.q(c.DS, "Signature")) is not None:
        return None  # a signed Response covers the look-alike: its signature would fail
    lookalikes = [
        child
        for child in root
        if isinstance(child.tag, str)
        and etree.QName(child).localname == "Assertion"
        and etree.QName(child).namespace != c.SAML
    ]
    if not lookalikes:
        return None
    name_id = next(
        (e for e in lookalikes[0].iter() if isinstance(e.tag, str) and e.tag.endswith("}NameID")),
        None,
    )
    for lookalike in lookalikes:
        root.remove(lookalike)
    login = validate_response(to_bytes(root), expect)
    if name_id is None or not _whole_text(name_id):
        return login
    return dataclasses.replace(login, name_id=_whole_text(name_id))


_LAX_DOCTYPE = re.compile(rb"<!DOCTYPE[^>]*>")


def _two_parsers(data: bytes, expect: SPExpectations) -> ValidatedLogin | None:
    # The lax parser ends the DOCTYPE at its first ">", even inside a quoted literal.
    lax = _LAX_DOCTYPE.sub(b"", data, count=1)
    if lax == data:
        return None
    login = validate_response(lax, expect)
    try:
        conforming = etree.fromstring(data, parser=_lax_parser())
    except etree.XMLSyntaxError:
        return None
    assertion = conforming.find(c.q(c.SAML, "Assertion"))
    name_id = _name_id_of(assertion) if assertion is not None else None
    if name_id is None or not _whole_text(name_id):
        return login
    return dataclasses.replace(login, name_id=_whole_text(name_id))


# ----------------------------------------------------------------- edits of verified messages


def _plain_strictly(data: bytes, expect: SPExpectations) -> etree._Element | None:
    """:func:`_plain`, decrypting only with the algorithms the SP allows."""
    root = _parse(data)
    if root is None:
        return None
    for encrypted in root.findall(c.q(c.SAML, "EncryptedAssertion")):
        try:
            decrypted = decrypt_element(
                encrypted,
                expect.decryption_keys,
                allowed_blocks=expect.allowed_encryption,
                allowed_transports=expect.allowed_key_transports,
            ).element
        except SAMLError:
            return None
        root.replace(encrypted, decrypted)
    return root


def _own_signature(element: etree._Element) -> etree._Element | None:
    return element.find(c.q(c.DS, "Signature"))


def _signatures_verify(data: bytes, root: etree._Element, expect: SPExpectations) -> bool:
    """Whether every signature the message carries (the Response's over what was sent, each
    assertion's over its plaintext ``root`` holds) verifies with a trusted key."""
    sent = _parse(data)
    signed = [a for a in _assertions(root) if _own_signature(a) is not None]
    if sent is not None and _own_signature(sent) is not None:
        signed.insert(0, sent)
    try:
        for element in signed:
            verify_element(element, expect.trusted_certificates, allow_sha1=expect.allow_sha1)
    except SAMLError:
        return False
    return sent is not None


def _reseal(
    root: etree._Element, expect: SPExpectations, stand_in: StandInKey
) -> tuple[bytes, SPExpectations]:
    """Sign again, with the stand-in key (then the only one trusted), exactly the elements
    that carried a signature: the strict check still judges the signature policy."""
    key = stand_in.get(expect.now)
    for assertion in _assertions(root):
        if _own_signature(assertion) is not None:
            sign_element(assertion, key)
    if _own_signature(root) is not None:
        sign_element(root, key)
    return to_bytes(root), dataclasses.replace(expect, trusted_certificates=(key.certificate,))


def _verified_edit(
    data: bytes,
    expect: SPExpectations,
    stand_in: StandInKey,
    rewrite: Callable[[etree._Element], None],
) -> Retried:
    """The flawed SP's edit of a message whose signatures all verify: ``rewrite`` puts right,
    on the plaintext, the one rule the flaw skips, and the edit is vouched for."""
    root = _plain_strictly(data, expect)
    if root is None or not _assertions(root) or not _signatures_verify(data, root, expect):
        return None
    rewrite(root)
    return _reseal(root, expect, stand_in)


def _any_issuer(data: bytes, expect: SPExpectations, stand_in: StandInKey) -> Retried:
    def rewrite(root: etree._Element) -> None:
        for element in (root, *_assertions(root)):
            issuer = element.find(c.q(c.SAML, "Issuer"))
            if issuer is None and element is not root:
                issuer = etree.Element(c.q(c.SAML, "Issuer"))
                element.insert(0, issuer)
            if issuer is not None:
                issuer.text = expect.idp_entity_id
                issuer.attrib.pop("Format", "")

    return _verified_edit(data, expect, stand_in, rewrite)


def _any_audience(data: bytes, expect: SPExpectations, stand_in: StandInKey) -> Retried:
    def rewrite(root: etree._Element) -> None:
        for assertion in _assertions(root):
            conditions = assertion.find(c.q(c.SAML, "Conditions"))
            if conditions is None:
                conditions = etree.Element(c.q(c.SAML, "Conditions"))
                subject = assertion.find(c.q(c.SAML, "Subject"))
                if subject is None:
                    continue
                subject.addnext(conditions)
            for restriction in conditions.findall(c.q(c.SAML, "AudienceRestriction")):
                conditions.remove(restriction)
            restriction = etree.Element(c.q(c.SAML, "AudienceRestriction"))
            etree.SubElement(restriction, c.q(c.SAML, "Audience")).text = expect.sp_entity_id
            conditions.insert(0, restriction)

    return _verified_edit(data, expect, stand_in, rewrite)


# What an unbounded clock skew does not let through: a window no instant is in, bounds the
# profile forbids or requires on bearer data, and a session already over.
_UNTIMELY = frozenset(
    {"bad-conditions", "confirmation-not-before", "no-subject-expiry", "session-expired"}
)


def _timeless(data: bytes, expect: SPExpectations, stand_in: StandInKey) -> Retried:
    def rewrite(root: etree._Element) -> None:
        later = format_instant(expect.now + dt.timedelta(minutes=5))
        for conditions in root.iter(c.q(c.SAML, "Conditions")):
            for name in ("NotBefore", "NotOnOrAfter"):
                conditions.attrib.pop(name, "")
        for confirmation in root.iter(c.q(c.SAML, "SubjectConfirmationData")):
            confirmation.attrib.pop("NotBefore", "")
            confirmation.set("NotOnOrAfter", later)
        for statement in root.iter(c.q(c.SAML, "AuthnStatement")):
            statement.attrib.pop("SessionNotOnOrAfter", "")

    return _verified_edit(data, expect, stand_in, rewrite)


def _any_confirmation(data: bytes, expect: SPExpectations, stand_in: StandInKey) -> Retried:
    def rewrite(root: etree._Element) -> None:
        for confirmation in root.iter(c.q(c.SAML, "SubjectConfirmation")):
            confirmation.set("Method", c.CM_BEARER)

    return _verified_edit(data, expect, stand_in, rewrite)


_UNDERSTOOD = ("AudienceRestriction", "OneTimeUse", "ProxyRestriction")


def _known_conditions(data: bytes, expect: SPExpectations, stand_in: StandInKey) -> Retried:
    def rewrite(root: etree._Element) -> None:
        for conditions in root.iter(c.q(c.SAML, "Conditions")):
            for condition in list(conditions):
                if isinstance(condition.tag, str) and (
                    etree.QName(condition).localname not in _UNDERSTOOD
                ):
                    conditions.remove(condition)

    return _verified_edit(data, expect, stand_in, rewrite)


def _version(data: bytes, expect: SPExpectations, stand_in: StandInKey) -> Retried:
    def rewrite(root: etree._Element) -> None:
        for element in (root, *_assertions(root)):
            element.set("Version", c.VERSION)

    return _verified_edit(data, expect, stand_in, rewrite)


def _authn_statement(data: bytes, expect: SPExpectations, stand_in: StandInKey) -> Retried:
    def rewrite(root: etree._Element) -> None:
        for assertion in _assertions(root):
            if assertion.find(c.q(c.SAML, "AuthnStatement")) is not None:
                continue
            statement = etree.Element(c.q(c.SAML, "AuthnStatement"))
            statement.set("AuthnInstant", format_instant(expect.now))
            context = etree.SubElement(statement, c.q(c.SAML, "AuthnContext"))
            etree.SubElement(context, c.q(c.SAML, "AuthnContextClassRef")).text = c.AC_UNSPECIFIED
            after = assertion.find(c.q(c.SAML, "Conditions"))
            if after is None:
                after = assertion.find(c.q(c.SAML, "Subject"))
            if after is not None:
                after.addnext(statement)
            else:
                assertion.append(statement)

    return _verified_edit(data, expect, stand_in, rewrite)


def _signatures_unverified(data: bytes, expect: SPExpectations, stand_in: StandInKey) -> Retried:
    """Every signature the message carries passes unverified: the flawed SP's idea of it is
    the stand-in key's signature over the same elements, as they now read."""
    root = _plain_strictly(data, expect)
    if root is None or not _assertions(root):
        return None
    return _reseal(root, expect, stand_in)


_RETRIES: dict[str, tuple[frozenset[str], Attempt]] = {
    "skip-destination": (frozenset({"wrong-destination", "no-destination"}), _destination),
    "skip-issuer": (frozenset({"wrong-issuer", "bad-issuer-format", "no-issuer"}), _any_issuer),
    "skip-in-response-to": (frozenset({"wrong-in-response-to"}), _in_response_to),
    "ignore-status": (frozenset({"status-not-success"}), _status),
    "accept-unsigned": (frozenset({"unsigned"}), _unsigned),
    "skip-audience": (frozenset({"wrong-audience", "no-audience"}), _any_audience),
    "skip-recipient": (frozenset({"wrong-recipient", "no-recipient"}), _recipient),
    "resolve-entities": (frozenset({"doctype"}), _resolve_entities),
    "run-transforms": (frozenset({"bad-transform"}), _run_transforms),
    "ignore-expiry": (_UNTIMELY, _timeless),
    "any-confirmation-method": (frozenset({"no-bearer"}), _any_confirmation),
    "ignore-unknown-conditions": (frozenset({"unknown-condition"}), _known_conditions),
    "skip-version-check": (frozenset({"version-mismatch", "bad-assertion"}), _version),
    "no-authn-statement-needed": (frozenset({"no-authn-statement"}), _authn_statement),
    "skip-signature-verification": (frozenset({"bad-signature"}), _signatures_unverified),
}


def _signature_attempt(check: LaxCheck) -> Attempt:
    def attempt(data: bytes, expect: SPExpectations, stand_in: StandInKey) -> Retried:
        return lax_vouch(data, expect, check, stand_in.get(expect.now))

    return attempt


_RETRIES.update(
    {
        flaw: (_SIGNATURE_REASONS[flaw], _signature_attempt(check))
        for flaw, check in SIGNATURE_CHECKS.items()
    }
)


def _verifies(assertion: etree._Element, expect: SPExpectations) -> bool:
    try:
        verify_element(assertion, expect.trusted_certificates, allow_sha1=expect.allow_sha1)
    except SignatureError:
        return False
    return True


def _first_assertion_unverified(data: bytes, expect: SPExpectations) -> ValidatedLogin | None:
    """The identity read from the first assertion in the document, after the message is
    judged with only its first verified assertion left: as sent (encrypted where it was) when
    the assertions sit in the Response itself, else decrypted in place (nested ones)."""
    for judge in (_only_the_verified_as_sent, _only_the_verified_nested):
        try:
            login = judge(data, expect)
        except Refusal:
            continue
        if login is not None:
            return login
    return None


def _read_first(login: ValidatedLogin, first: etree._Element) -> ValidatedLogin:
    name_id = first.find(f"{c.q(c.SAML, 'Subject')}/{c.q(c.SAML, 'NameID')}")
    if name_id is None or not (name_id.text or "").strip():
        return login
    return dataclasses.replace(login, name_id=(name_id.text or "").strip())


def _only_the_verified_as_sent(data: bytes, expect: SPExpectations) -> ValidatedLogin | None:
    """The message judged as if it held only its first verified assertion (as sent: encrypted
    where it was), then the identity read from the first assertion in the document."""
    sent = _parse(data)
    root = _plain(data, expect)
    if sent is None or root is None:
        return None
    carried = [e for e in sent if e.tag in _ASSERTION_TAGS]
    assertions = _assertions(root)
    if len(assertions) < 2 or len(carried) != len(assertions):
        return None
    verified = None
    for index, assertion in enumerate(assertions):
        try:
            verify_element(assertion, expect.trusted_certificates, allow_sha1=expect.allow_sha1)
        except SignatureError:
            continue
        verified = index
        break
    if verified is None:
        return None
    for index, element in enumerate(carried):
        if index != verified:
            sent.remove(element)
    return _read_first(validate_response(to_bytes(sent), expect), assertions[0])


def _only_the_verified_nested(data: bytes, expect: SPExpectations) -> ValidatedLogin | None:
    root = decrypted_in_place(data, expect)
    if root is None:
        return None
    assertions = list(root.iter(c.q(c.SAML, "Assertion")))  # document order, nested ones too
    if len(assertions) < 2:
        return None
    verified = next((a for a in assertions if _verifies(a, expect)), None)
    if verified is None:
        return None
    first, kept = assertions[0], copy.deepcopy(verified)
    for assertion in assertions:
        parent = assertion.getparent()
        if parent is not None:
            parent.remove(assertion)
    root.append(kept)
    return _read_first(validate_response(to_bytes(root), expect), first)


def _told_apart(error: Refusal) -> Refusal:
    """The refusal a careless SP gives a ciphertext that decrypted to garbage: the XML
    parser's, apart from a bad padding or key (the oracle of Jager and Somorovsky)."""
    if isinstance(error, EncryptionError) and error.cause.startswith("decrypted to"):
        return Refusal(
            "malformed", f"decrypted content refused: {error.cause}", "XML-1.0", status=400
        )
    return error


Reader = Callable[[bytes, SPExpectations], ValidatedLogin | None]
# Flaws that read the identity elsewhere than the strict check does, by the refusal they
# answer; the first that applies decides.
_READERS: dict[str, tuple[frozenset[str], Reader]] = {
    "match-prefixes": (frozenset({"unexpected-element"}), _prefix_matched),
    "two-parsers": (frozenset({"doctype"}), _two_parsers),
}


class FlawedValidation:
    """:func:`validate_response`, weakened by the named SAML ``flaws`` (see the module
    docstring); it keeps its own stand-in key."""

    def __init__(self, flaws: Iterable[str]) -> None:
        self.flaws = frozenset(flaws) & SAML_FLAWS
        self._stand_in = StandInKey()

    def __call__(self, data: bytes, expect: SPExpectations) -> ValidatedLogin:
        remaining = set(self.flaws)
        if "trust-keyinfo-cert" in remaining:
            extra = carried_certificates(data, expect)
            expect = dataclasses.replace(
                expect, trusted_certificates=(*expect.trusted_certificates, *extra)
            )
        if "ignore-expiry" in remaining:
            expect = dataclasses.replace(expect, clock_skew=_FOREVER)
        if "first-signing-key-only" in remaining:
            expect = dataclasses.replace(
                expect, trusted_certificates=expect.trusted_certificates[:1]
            )
        for _ in range(len(_RETRIES) + len(_READERS) + 1):
            try:
                return self._identity(validate_response(data, expect), data, expect)
            except Refusal as exc:
                error = _told_apart(exc) if "tell-decryption-errors" in remaining else exc
            if _WRAPPING in remaining:  # several assertions, whatever the strict check said
                remaining.discard(_WRAPPING)
                login = _first_assertion_unverified(data, expect)
                if login is not None:
                    return self._identity(login, data, expect)
            for flaw, (reasons, read) in _READERS.items():
                if flaw in remaining and error.reason in reasons:
                    remaining.discard(flaw)
                    login = read(data, expect)
                    if login is None:
                        raise error
                    return self._identity(login, data, expect)
            for flaw, (reasons, attempt) in _RETRIES.items():
                if flaw in remaining and error.reason in reasons:
                    remaining.discard(flaw)
                    retried = attempt(data, expect, self._stand_in)
                    if retried is None:
                        raise error
                    data, expect = retried
                    break
            else:
                raise error
        raise error

    def _identity(
        self, login: ValidatedLogin, data: bytes, expect: SPExpectations
    ) -> ValidatedLogin:
        if "name-id-first-text" in self.flaws:
            return _first_text_node(login, data, expect)
        return login


def response_validation(flaws: Iterable[str]) -> ResponseValidation:
    """The strict validation, or the flawed one when any SAML flaw is among ``flaws``."""
    on = frozenset(flaws) & SAML_FLAWS
    return FlawedValidation(on) if on else validate_response
