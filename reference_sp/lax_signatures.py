"""XML-DSig verifiers that put the pieces together wrongly, as real libraries did: the checks
behind the reference SP's signature flaws (see :mod:`reference_sp.saml_flaws`).

A flawed SP decrypts every EncryptedAssertion in place, checks the Response's own signature and
that of the first assertion the way its flaw says, and reads that assertion. Each check below
fails everything a strict verifier fails except the one shape its flaw mistakes for signed.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import hmac
from collections.abc import Callable

from cryptography import x509
from lxml import etree

from harness.protocol.keys import KeyPair
from harness.protocol.saml import constants as c
from harness.protocol.saml.encryption import decrypt_element
from harness.protocol.saml.errors import SAMLError, SignatureError
from harness.protocol.saml.keyinfo import keyinfo_certificates
from harness.protocol.saml.signature_parts import (
    c14n,
    ds,
    element_digest,
    elements_with_id,
    own_signature,
    signed_info_verifies,
    verifies_over,
)
from harness.protocol.saml.signing import sign_element, verify_element
from harness.protocol.saml.sp_validation import SPExpectations
from harness.protocol.xml import XMLSecurityError, parse_xml, to_bytes

# (the signature, the element it sits in, the whole document, what the SP expects)
LaxCheck = Callable[[etree._Element, etree._Element, etree._Element, SPExpectations], bool]

_HMAC_HASHES = {c.SIG_HMAC_SHA1: "sha1", c.SIG_HMAC_SHA256: "sha256", c.SIG_HMAC_SHA512: "sha512"}
_ENVELOPE = {c.q(c.SAML, "Issuer"), c.q(c.DS, "Signature"), c.q(c.SAMLP, "Status")}


def decrypted_in_place(data: bytes, expect: SPExpectations) -> etree._Element | None:
    """The Response with every EncryptedAssertion, wherever it sits, replaced by its plaintext."""
    try:
        root = parse_xml(data)
    except XMLSecurityError:
        return None
    for encrypted in list(root.iter(c.q(c.SAML, "EncryptedAssertion"))):
        parent = encrypted.getparent()
        try:
            decrypted = decrypt_element(encrypted, expect.decryption_keys).element
        except SAMLError:
            return None
        if parent is not None:
            parent.replace(encrypted, decrypted)
    return root


def _names_its_element(signed_info: etree._Element, holder: etree._Element) -> bool:
    reference = signed_info.find(c.q(c.DS, "Reference"))
    return reference is not None and reference.get("URI") == f"#{holder.get('ID')}"


def _digest_matches(holder: etree._Element, signed_info: etree._Element, text: str) -> bool:
    method = signed_info.find(f"{c.q(c.DS, 'Reference')}/{c.q(c.DS, 'DigestMethod')}")
    uri = method.get("Algorithm", "") if method is not None else ""
    return element_digest(holder, uri) == "".join(text.split())


def _signed_info_and_digest(
    signature: etree._Element,
    holder: etree._Element,
    expect: SPExpectations,
    digest_text: str,
    *,
    signed_info: etree._Element | None = None,
) -> bool:
    signed_info = signed_info if signed_info is not None else ds(signature, "SignedInfo")
    if signed_info is None:
        return False
    return signed_info_verifies(
        signature,
        expect.trusted_certificates,
        signed_info=signed_info,
        allow_sha1=expect.allow_sha1,
    ) and _digest_matches(holder, signed_info, digest_text)


def by_reference(
    sig: etree._Element, holder: etree._Element, root: etree._Element, expect: SPExpectations
) -> bool:
    """The Reference's ID looked up anywhere in the document: any element carrying it over
    which the signature verifies will do (XSW1, 2, 5, 6, 8)."""
    reference = ds(sig, "SignedInfo/Reference")
    uri = reference.get("URI", "") if reference is not None else ""
    if not uri.startswith("#"):
        return False
    trusted = expect.trusted_certificates
    return any(
        verifies_over(sig, target, trusted, allow_sha1=expect.allow_sha1)
        for target in elements_with_id(root, uri[1:])
    )


def ignoring_reference_uri(
    sig: etree._Element, holder: etree._Element, root: etree._Element, expect: SPExpectations
) -> bool:
    """The digest checked over the element holding the signature, whatever the URI says."""
    digest = ds(sig, "SignedInfo/Reference/DigestValue")
    return digest is not None and _signed_info_and_digest(sig, holder, expect, digest.text or "")


def digest_first_node(
    sig: etree._Element, holder: etree._Element, root: etree._Element, expect: SPExpectations
) -> bool:
    """DigestValue read from its first child node, a comment included (CVE-2025-29775)."""
    signed_info, digest = ds(sig, "SignedInfo"), ds(sig, "SignedInfo/Reference/DigestValue")
    if signed_info is None or digest is None or not _names_its_element(signed_info, holder):
        return False
    first = digest.text if digest.text else (digest[0].text if len(digest) else "")
    return _signed_info_and_digest(sig, holder, expect, first or "")


def first_signed_info(
    sig: etree._Element, holder: etree._Element, root: etree._Element, expect: SPExpectations
) -> bool:
    """The SignatureValue checked over the first SignedInfo, the digest taken from the last
    (CVE-2025-29774)."""
    infos = sig.findall(c.q(c.DS, "SignedInfo"))
    if not infos or not _names_its_element(infos[-1], holder):
        return False
    digest = infos[-1].find(f"{c.q(c.DS, 'Reference')}/{c.q(c.DS, 'DigestValue')}")
    if digest is None:
        return False
    return signed_info_verifies(
        sig, expect.trusted_certificates, signed_info=infos[0], allow_sha1=expect.allow_sha1
    ) and _digest_matches(holder, infos[-1], digest.text or "")


def digest_from_document(
    sig: etree._Element, holder: etree._Element, root: etree._Element, expect: SPExpectations
) -> bool:
    """The digest compared with the first ds:DigestValue of the whole document
    (CVE-2024-45409: an XPath searching from the root)."""
    signed_info = ds(sig, "SignedInfo")
    first = next(root.iter(c.q(c.DS, "DigestValue")), None)
    if signed_info is None or first is None or not _names_its_element(signed_info, holder):
        return False
    return _signed_info_and_digest(sig, holder, expect, first.text or "")


def keyinfo_hmac(
    sig: etree._Element, holder: etree._Element, root: etree._Element, expect: SPExpectations
) -> bool:
    """An HMAC SignatureMethod verified with the key the message carries in KeyInfo (xmlsec1's
    HMACKeyValue; CVE-2021-21239)."""
    signed_info, method = ds(sig, "SignedInfo"), ds(sig, "SignedInfo/SignatureMethod")
    value, digest = ds(sig, "SignatureValue"), ds(sig, "SignedInfo/Reference/DigestValue")
    key_value = sig.find(f"{c.q(c.DS, 'KeyInfo')}/{c.q(c.XMLSEC, 'HMACKeyValue')}")
    if (
        signed_info is None
        or method is None
        or value is None
        or digest is None
        or key_value is None
    ):
        return False
    hash_name = _HMAC_HASHES.get(method.get("Algorithm", ""))
    if hash_name is None or not _names_its_element(signed_info, holder):
        return False
    try:
        key = base64.b64decode(key_value.text or "", validate=True)
        mac = base64.b64decode("".join((value.text or "").split()), validate=True)
    except binascii.Error:
        return False
    expected = hmac.new(key, c14n(signed_info), getattr(hashlib, hash_name)).digest()
    return hmac.compare_digest(mac, expected) and _digest_matches(
        holder, signed_info, digest.text or ""
    )


def _strictly_verifies(holder: etree._Element, expect: SPExpectations) -> bool:
    try:
        verify_element(holder, expect.trusted_certificates, allow_sha1=expect.allow_sha1)
    except SignatureError:
        return False
    return True


def _leniency(
    holder: etree._Element, document: etree._Element, expect: SPExpectations, check: LaxCheck
) -> bool | None:
    """None: the holder's signature fails even the flawed way; True: only the flawed way
    passes it; False: it verifies strictly (the flaw was not needed)."""
    signature = own_signature(holder)
    assert signature is not None
    if _strictly_verifies(holder, expect):
        return False
    return True if check(signature, holder, document, expect) else None


def lax_vouch(
    data: bytes, expect: SPExpectations, check: LaxCheck, key: KeyPair
) -> tuple[bytes, SPExpectations] | None:
    """What the flawed SP goes on with when its way of checking passes a signature the strict
    one refuses: the Response and its first assertion as it reads them, signed again with
    ``key`` (the stand-in for the signatures it believes it verified), only ``key`` trusted.
    As an SP would, it checks the Response's signature over the message as received, then
    decrypts and checks the assertion's. None when a signature fails even its way, or when
    the flaw made no difference."""
    try:
        received = parse_xml(data)
    except XMLSecurityError:
        return None
    verdicts: list[bool | None] = []
    if own_signature(received) is not None:
        verdicts.append(_leniency(received, received, expect, check))
    root = decrypted_in_place(data, expect)
    assertion = root.find(c.q(c.SAML, "Assertion")) if root is not None else None
    if root is None or assertion is None:
        return None
    if own_signature(assertion) is not None:
        verdicts.append(_leniency(assertion, root, expect, check))
    if None in verdicts or True not in verdicts:
        return None
    for child in list(root):  # what it read: the envelope and that one assertion
        if isinstance(child.tag, str) and child is not assertion and child.tag not in _ENVELOPE:
            root.remove(child)
    if own_signature(assertion) is not None:
        sign_element(assertion, key)
    if own_signature(root) is not None:  # after the assertion: its digest covers it
        sign_element(root, key)
    return to_bytes(root), dataclasses.replace(expect, trusted_certificates=(key.certificate,))


def carried_certificates(data: bytes, expect: SPExpectations) -> list[x509.Certificate]:
    """Every certificate in a ds:X509Certificate of the message, encrypted assertions'
    included: what an SP trusting KeyInfo would take."""
    found = keyinfo_certificates(data)
    root = decrypted_in_place(data, expect)
    if root is not None:
        found += keyinfo_certificates(to_bytes(root))
    return found
