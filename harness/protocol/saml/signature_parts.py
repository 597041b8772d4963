"""XML-DSig verification taken apart: the digest of an element, the SignatureValue over a
SignedInfo, a signature checked over an element of one's choosing.

:func:`~.signing.verify_element` is the only verification an SP should do. These pieces exist
for what must be shown about a broken message: that a wrapping attack still carries a real
signature over the element its Reference names (tests, the harness), and how a verifier that
assembles the pieces wrongly is fooled (the reference SP's flaws).
"""

from __future__ import annotations

import base64
import binascii
import copy
import hashlib
from collections.abc import Sequence

from cryptography import x509
from lxml import etree

from ..keys import KeyPair
from . import constants as c
from ._crypto import sign_octets, verify_octets
from .errors import SignatureError
from .signing import DIGEST_METHODS, SIGNATURE_METHODS, verify_element

_DIGEST_NAMES = {uri: name for name, uri in DIGEST_METHODS.items()}
_METHOD_NAMES = {uri: name for name, uri in SIGNATURE_METHODS.items()}
# What a signature keeps when checked somewhere else: a wrapped copy inside it must not travel.
_SIGNATURE_PARTS = ("SignedInfo", "SignatureValue", "KeyInfo")


def ds(element: etree._Element, path: str) -> etree._Element | None:
    """``element``'s descendant at ``path``, each step a ds: local name ("SignedInfo/Reference")."""
    return element.find("/".join(c.q(c.DS, step) for step in path.split("/")))


def own_signature(element: etree._Element) -> etree._Element | None:
    """The element's enveloped signature: a direct child only, never a nested element's."""
    return element.find(c.q(c.DS, "Signature"))


def c14n(element: etree._Element) -> bytes:
    return etree.tostring(element, method="c14n", exclusive=True, with_comments=False)


def element_digest(element: etree._Element, digest_uri: str) -> str:
    """The base64 digest an enveloped Reference to ``element`` carries: its exclusive C14N
    without its own signature."""
    bare = copy.deepcopy(element)
    for signature in bare.findall(c.q(c.DS, "Signature")):
        bare.remove(signature)
    name = _DIGEST_NAMES.get(digest_uri, "sha256")
    return base64.b64encode(hashlib.new(name, c14n(bare)).digest()).decode("ascii")


def reference_digest_uri(signature: etree._Element) -> str:
    method = ds(signature, "SignedInfo/Reference/DigestMethod")
    return method.get("Algorithm", c.DIGEST_SHA256) if method is not None else c.DIGEST_SHA256


def sign_signed_info(signature: etree._Element, key: KeyPair) -> None:
    """Sign ``signature``'s SignedInfo again, as it now reads, with ``key``."""
    signed_info, value = ds(signature, "SignedInfo"), ds(signature, "SignatureValue")
    method = ds(signature, "SignedInfo/SignatureMethod")
    if signed_info is None or value is None or method is None:
        raise ValueError("not a complete ds:Signature")
    algorithm = _METHOD_NAMES[method.get("Algorithm", "")]
    value.text = base64.b64encode(sign_octets(c14n(signed_info), key, algorithm)).decode("ascii")


def signed_info_verifies(
    signature: etree._Element,
    trusted: Sequence[x509.Certificate],
    *,
    signed_info: etree._Element | None = None,
    allow_sha1: bool = False,
) -> bool:
    """Whether the SignatureValue verifies over ``signed_info`` (the signature's first
    SignedInfo by default) with a trusted key, whatever its References say."""
    signed_info = signed_info if signed_info is not None else ds(signature, "SignedInfo")
    value = ds(signature, "SignatureValue")
    method = signed_info.find(c.q(c.DS, "SignatureMethod")) if signed_info is not None else None
    if signed_info is None or value is None or method is None:
        return False
    algorithm = _METHOD_NAMES.get(method.get("Algorithm", ""))
    if algorithm is None or (algorithm == "rsa-sha1" and not allow_sha1):
        return False
    try:
        raw = base64.b64decode("".join((value.text or "").split()), validate=True)
    except binascii.Error:
        return False
    octets = c14n(signed_info)
    return any(verify_octets(octets, raw, cert, algorithm) for cert in trusted)


def verifies_over(
    signature: etree._Element,
    target: etree._Element,
    trusted: Sequence[x509.Certificate],
    *,
    allow_sha1: bool = True,
) -> bool:
    """Whether ``signature`` verifies as the enveloped signature of ``target``, wherever either
    sits: what a verifier that looks the Reference's ID up anywhere in the document checks."""
    standalone = copy.deepcopy(target)
    for old in standalone.findall(c.q(c.DS, "Signature")):
        standalone.remove(old)
    moved = etree.Element(c.q(c.DS, "Signature"), nsmap={"ds": c.DS})
    for part in _SIGNATURE_PARTS:
        found = signature.find(c.q(c.DS, part))
        if found is not None:
            moved.append(copy.deepcopy(found))
    issuer = standalone.find(c.q(c.SAML, "Issuer"))
    if issuer is not None:
        issuer.addnext(moved)
    else:
        standalone.insert(0, moved)
    try:
        verify_element(standalone, trusted, allow_sha1=allow_sha1)
    except SignatureError:
        return False
    return True


def elements_with_id(root: etree._Element, value: str) -> list[etree._Element]:
    return [e for e in root.iter() if isinstance(e.tag, str) and e.get("ID") == value]
