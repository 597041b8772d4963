"""Rewriting a captured SAML Response so that it runs against a local SP, sans-IO: bytes, keys,
``now`` and ``rng`` in, bytes out.

What must change to run locally is rewritten (the parts of :data:`PARTS`, unless kept on
purpose); everything else stays as captured: attribute names, formats and values, the NameID's
format and value, extra conditions, namespace prefixes and element order, since the tree is
edited in place. The message is then re-signed with the given key in the places the capture
was signed (the Assertion, the Response, both or neither), with the capture's own algorithms,
and its assertion re-encrypted for the SP when the capture's was encrypted.
"""

from __future__ import annotations

import copy
import datetime as dt
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from cryptography import x509
from lxml import etree

from harness.protocol.keys import KeyPair, PrivateKey
from harness.protocol.refusal import Refusal
from harness.protocol.saml import constants as c
from harness.protocol.saml.decode import decode_message
from harness.protocol.saml.encryption import (
    BLOCK_ALGORITHMS,
    KEY_TRANSPORTS,
    EncryptionChoice,
    decrypt_element,
    encrypt_element,
)
from harness.protocol.saml.ids import new_id, parse_instant
from harness.protocol.saml.signing import (
    DIGEST_METHODS,
    SIGNATURE_METHODS,
    SignatureChoice,
    sign_element,
    signature_of,
)
from harness.protocol.xml import XMLSecurityError, parse_xml, to_bytes

# What a replay rewrites, each of which ``keep`` may leave as captured.
PARTS = ("destination", "recipient", "audience", "in-response-to", "times", "issuer", "ids")
TIME_ATTRIBUTES = (
    "IssueInstant",
    "NotBefore",
    "NotOnOrAfter",
    "AuthnInstant",
    "SessionNotOnOrAfter",
)
_SIGNATURE_NAMES = {uri: name for name, uri in SIGNATURE_METHODS.items()}
_DIGEST_NAMES = {uri: name for name, uri in DIGEST_METHODS.items()}
_BLOCK_NAMES = {uri: name for name, (uri, _) in BLOCK_ALGORITHMS.items()}
_TRANSPORT_NAMES = {uri: name for name, uri in KEY_TRANSPORTS.items()}
_FRACTION = re.compile(r"\.(\d+)")


class ReplayError(Exception):
    """The capture cannot be replayed; the message is one line saying what was found and what
    is missing."""


@dataclass(frozen=True)
class SignatureFound:
    """An enveloped signature as captured: its algorithms and whether it carried a certificate."""

    algorithm: str  # a SIGNATURE_METHODS name, or the URI when it is none we know
    digest: str
    include_certificate: bool

    def describe(self) -> str:
        return f"{self.algorithm}/{self.digest}"


@dataclass(frozen=True)
class CaptureShape:
    """What the capture says and how it was protected: what a replay keeps, and what the
    reproduction's reader wants to see."""

    issuer: str | None
    name_id: str | None
    name_id_format: str | None
    audiences: tuple[str, ...]
    destination: str | None
    in_response_to: str | None
    response_signature: SignatureFound | None
    assertion_signature: SignatureFound | None
    encryption: EncryptionChoice | None
    attributes: tuple[tuple[str, str | None], ...]  # (Name, NameFormat)

    def protection(self) -> str:
        parts = []
        for where, found in (
            ("Response", self.response_signature),
            ("Assertion", self.assertion_signature),
        ):
            if found is not None:
                parts.append(f"{where} signed {found.describe()}")
        if self.encryption is not None:
            parts.append(f"assertion encrypted {self.encryption.block}/{self.encryption.transport}")
        return ", ".join(parts) or "unsigned"


@dataclass
class Capture:
    """A captured Response, parsed, its assertion decrypted in the tree when it was encrypted."""

    root: etree._Element
    shape: CaptureShape
    relay_state: str | None
    # The EncryptedAssertion the capture carried (kept to re-use its element and prefix).
    encrypted_wrapper: etree._Element | None = None

    @property
    def assertion(self) -> etree._Element | None:
        return self.root.find(c.q(c.SAML, "Assertion"))

    def copy(self) -> Capture:
        wrapper = self.encrypted_wrapper
        return Capture(
            copy.deepcopy(self.root),
            self.shape,
            self.relay_state,
            copy.deepcopy(wrapper) if wrapper is not None else None,
        )

    def plain_xml(self) -> bytes:
        """The capture with its assertion in clear (what a scenario file can hold without the
        SP's key); its protection is in :attr:`shape`."""
        return to_bytes(self.root)


@dataclass(frozen=True)
class Rewrite:
    """The values a replay puts in; a part named in ``keep`` stays as captured."""

    acs_url: str
    audience: str
    issuer: str
    in_response_to: str | None
    now: dt.datetime
    keep: frozenset[str] = frozenset()
    subject: str | None = None  # a new NameID value (None: keep the capture's)


@dataclass
class Rewritten:
    xml: bytes
    notes: list[str] = field(default_factory=list)


def read_capture(data: bytes | str, decryption_keys: Sequence[PrivateKey] = ()) -> Capture:
    """Parse a captured SAMLResponse (XML, base64, a form body or a URL carrying it)."""
    try:
        message = decode_message(data)
        root = parse_xml(message.xml)
    except (Refusal, XMLSecurityError) as exc:
        raise ReplayError(f"not a SAML message: {getattr(exc, 'message', exc)}") from None
    if etree.QName(root).namespace != c.SAMLP or message.kind != "Response":
        raise ReplayError(
            f"the capture is a {message.kind}, not a SAML Response: nothing to replay"
        )
    wrapper = root.find(c.q(c.SAML, "EncryptedAssertion"))
    encryption = None
    if wrapper is not None:
        encryption = _encryption_of(wrapper)
        if not decryption_keys:
            raise ReplayError(
                "the assertion is encrypted: give the private key of the SP it was encrypted "
                "for (--sp-key) to decrypt it"
            )
        try:
            decrypted = decrypt_element(wrapper, decryption_keys)
        except Refusal:
            raise ReplayError(
                "the assertion does not decrypt with the SP key given: the capture was "
                "encrypted for another key"
            ) from None
        root.replace(wrapper, decrypted.element)
    elif root.find(c.q(c.SAML, "Assertion")) is None:
        raise ReplayError("the Response carries no assertion: nothing to sign anyone in with")
    return Capture(root, _shape(root, encryption), message.relay_state, wrapper)


def _encryption_of(wrapper: etree._Element) -> EncryptionChoice:
    method = wrapper.find(f"{c.q(c.XENC, 'EncryptedData')}/{c.q(c.XENC, 'EncryptionMethod')}")
    transport = wrapper.find(f".//{c.q(c.XENC, 'EncryptedKey')}/{c.q(c.XENC, 'EncryptionMethod')}")
    block = _BLOCK_NAMES.get(method.get("Algorithm", "") if method is not None else "")
    key = _TRANSPORT_NAMES.get(transport.get("Algorithm", "") if transport is not None else "")
    if block is None or key is None:
        raise ReplayError("the assertion is encrypted with algorithms the harness does not know")
    return EncryptionChoice(block, key)


def _signature_found(element: etree._Element | None) -> SignatureFound | None:
    signature = signature_of(element) if element is not None else None
    if signature is None:
        return None
    method = signature.find(f"{c.q(c.DS, 'SignedInfo')}/{c.q(c.DS, 'SignatureMethod')}")
    digest = signature.find(f".//{c.q(c.DS, 'Reference')}/{c.q(c.DS, 'DigestMethod')}")
    method_uri = method.get("Algorithm", "") if method is not None else ""
    digest_uri = digest.get("Algorithm", "") if digest is not None else ""
    return SignatureFound(
        _SIGNATURE_NAMES.get(method_uri, method_uri),
        _DIGEST_NAMES.get(digest_uri, digest_uri),
        signature.find(f".//{c.q(c.DS, 'X509Certificate')}") is not None,
    )


def _shape(root: etree._Element, encryption: EncryptionChoice | None) -> CaptureShape:
    assertion = root.find(c.q(c.SAML, "Assertion"))
    name_id = root.find(f".//{c.q(c.SAML, 'Subject')}/{c.q(c.SAML, 'NameID')}")
    issuer = root.find(c.q(c.SAML, "Issuer"))
    if issuer is None and assertion is not None:
        issuer = assertion.find(c.q(c.SAML, "Issuer"))
    return CaptureShape(
        issuer=issuer.text if issuer is not None else None,
        name_id=(name_id.text or "").strip() if name_id is not None else None,
        name_id_format=name_id.get("Format") if name_id is not None else None,
        audiences=tuple(a.text or "" for a in root.iter(c.q(c.SAML, "Audience"))),
        destination=root.get("Destination"),
        in_response_to=root.get("InResponseTo"),
        response_signature=_signature_found(root),
        assertion_signature=_signature_found(assertion),
        encryption=encryption,
        attributes=tuple(
            (a.get("Name", ""), a.get("NameFormat")) for a in root.iter(c.q(c.SAML, "Attribute"))
        ),
    )


def _shift_instant(text: str, shift: dt.timedelta) -> str:
    """``text`` moved by ``shift``, written as the capture wrote it (its fractional digits)."""
    moved = parse_instant(text) + shift
    fraction = _FRACTION.search(text)
    digits = len(fraction.group(1)) if fraction else 0
    written = moved.strftime("%Y-%m-%dT%H:%M:%S")
    if digits:
        written += "." + f"{moved.microsecond:06d}".ljust(digits, "0")[:digits]
    return written + "Z"


def _move_times(root: etree._Element, now: dt.datetime, notes: list[str]) -> None:
    """Every instant moved by the same amount, so that the capture's IssueInstant is ``now``:
    lifetimes, skews and session lengths stay as captured."""
    anchor_text = root.get("IssueInstant")
    assertion = root.find(c.q(c.SAML, "Assertion"))
    if anchor_text is None and assertion is not None:
        anchor_text = assertion.get("IssueInstant")
    try:
        shift = now - parse_instant(anchor_text, field="IssueInstant")
    except Refusal:
        notes.append("times kept: the capture has no readable IssueInstant")
        return
    for element in root.iter(etree.Element):
        for name in TIME_ATTRIBUTES:
            value = element.get(name)
            if value is None:
                continue
            try:
                element.set(name, _shift_instant(value, shift))
            except Refusal:
                notes.append(f"{etree.QName(element).localname}/@{name} {value!r} kept: no instant")
    notes.append(f"times moved by {shift} (every lifetime kept)")


def _rewrite_subject(root: etree._Element, subject: str, notes: list[str]) -> None:
    name_id = root.find(f".//{c.q(c.SAML, 'Subject')}/{c.q(c.SAML, 'NameID')}")
    if name_id is None or (name_id.text or "").strip().lower() == subject.lower():
        return
    old = (name_id.text or "").strip()
    name_id.text = subject
    for value in root.iter(c.q(c.SAML, "AttributeValue")):
        if (value.text or "").strip().lower() == old.lower():
            value.text = subject
    notes.append(f"subject {old!r} replaced by {subject!r} (its format kept)")


def _rewrite_addresses(capture: Capture, rewrite: Rewrite) -> None:
    """Destination, Recipient, Audience and InResponseTo: where present in the capture."""
    root, keep = capture.root, rewrite.keep
    confirmations = list(root.iter(c.q(c.SAML, "SubjectConfirmationData")))
    if "destination" not in keep and root.get("Destination") is not None:
        root.set("Destination", rewrite.acs_url)
    if "recipient" not in keep:
        for data in confirmations:
            if data.get("Recipient") is not None:
                data.set("Recipient", rewrite.acs_url)
    if "audience" not in keep and capture.shape.audiences:
        captured = capture.shape.audiences[0]  # other audiences stay, as the IdP listed them
        for audience in root.iter(c.q(c.SAML, "Audience")):
            if audience.text == captured:
                audience.text = rewrite.audience
    if "in-response-to" not in keep and rewrite.in_response_to is not None:
        for element in (root, *confirmations):
            if element.get("InResponseTo") is not None:
                element.set("InResponseTo", rewrite.in_response_to)


def _rewrite_parts(capture: Capture, rewrite: Rewrite, rng: random.Random) -> list[str]:
    root, keep = capture.root, rewrite.keep
    elements = [e for e in (root, capture.assertion) if e is not None]
    notes: list[str] = []
    _rewrite_addresses(capture, rewrite)
    if "issuer" not in keep:
        for issuer in (e.find(c.q(c.SAML, "Issuer")) for e in elements):
            if issuer is not None:
                issuer.text = rewrite.issuer
    if "ids" not in keep:  # a fresh message: an SP's replay cache must not see the capture's IDs
        for element in elements:
            if element.get("ID") is not None:
                element.set("ID", new_id(rng))
    if "times" not in keep:
        _move_times(root, rewrite.now, notes)
    if rewrite.subject is not None:
        _rewrite_subject(root, rewrite.subject, notes)
    return notes


def _choice(found: SignatureFound, key: KeyPair, where: str, notes: list[str]) -> SignatureChoice:
    """The capture's algorithms where ``key`` can make them, else the nearest it can."""
    algorithm, digest = found.algorithm, found.digest
    if algorithm not in SIGNATURE_METHODS or digest not in DIGEST_METHODS:
        notes.append(f"{where}: unknown algorithm {algorithm}/{digest}, signed rsa-sha256/sha256")
        return SignatureChoice()
    if algorithm.startswith("ecdsa") != (key.key_type == "ec"):
        swapped = ("rsa-" if key.key_type != "ec" else "ecdsa-") + algorithm.split("-", 1)[1]
        if swapped not in SIGNATURE_METHODS:
            swapped = "rsa-sha256" if key.key_type != "ec" else "ecdsa-sha256"
        notes.append(f"{where}: {algorithm} needs another kind of key, signed {swapped}")
        algorithm = swapped
    return SignatureChoice(algorithm, digest)


def rewrite_capture(
    capture: Capture,
    rewrite: Rewrite,
    *,
    key: KeyPair,
    encrypt_to: x509.Certificate | None,
    rng: random.Random,
    encryption: EncryptionChoice | None = None,
) -> Rewritten:
    """The capture rewritten for the local SP and re-protected as captured (``encryption``:
    how to encrypt when the capture was read without its EncryptedAssertion). The capture
    itself is left as it was: it can be replayed again."""
    capture = capture.copy()
    notes = _rewrite_parts(capture, rewrite, rng)
    shape, root, assertion = capture.shape, capture.root, capture.assertion
    if assertion is not None and shape.assertion_signature is not None:
        choice = _choice(shape.assertion_signature, key, "Assertion", notes)
        sign_element(
            assertion,
            key,
            choice,
            include_certificate=shape.assertion_signature.include_certificate,
        )
    encryption = shape.encryption or encryption
    if assertion is not None and encryption is not None:
        if encrypt_to is None:
            notes.append("sent unencrypted: the SP publishes no encryption certificate")
        else:
            sealed = encrypt_element(assertion, encrypt_to, encryption, rng)
            wrapper = capture.encrypted_wrapper
            if wrapper is not None:  # the capture's own element, prefix and all
                for child in list(wrapper):
                    wrapper.remove(child)
                wrapper.extend(list(sealed))
                sealed = wrapper
            root.replace(assertion, sealed)
    if shape.response_signature is not None:
        choice = _choice(shape.response_signature, key, "Response", notes)
        sign_element(
            root, key, choice, include_certificate=shape.response_signature.include_certificate
        )
    return Rewritten(to_bytes(root), notes)
