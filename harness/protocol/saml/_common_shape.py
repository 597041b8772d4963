"""Verification of the one shape SAML signatures take, without signxml's copies.

signxml serialises and re-parses the signed element, the signature and SignedInfo several times
per check; in a sign-in that cost ten times the RSA operation. Nearly every SAML signature has
one shape (SAML Core 5.4.1-5.4.4, and what every major IdP sends): one Reference to ``#ID`` of
the element carrying the signature, the transforms enveloped-signature then exclusive C14N, and
exclusive C14N for SignedInfo. For that shape this module repeats signxml's steps on one copy of
the element instead of four, with the same parser, schema, ID lookup and cryptography.

It can only accept. Another shape, and every failure, gives None and the caller asks signxml,
so refusals and their messages stay signxml's and an unusual signature is judged as before.
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
import hashlib
import hmac
from collections.abc import Sequence

from cryptography import x509
from lxml import etree
from signxml.processor import XMLSignatureProcessor, get_schema

from ..xml import hardened_parser
from . import constants as c
from ._crypto import verify_octets

_EXCLUSIVE = frozenset({c.C14N_EXCLUSIVE, c.C14N_EXCLUSIVE + "WithComments"})
_PREFIX_LIST = f"{c.q(c.C14N_EXCLUSIVE, 'InclusiveNamespaces')}[@PrefixList]"
_SCHEMA = XMLSignatureProcessor.schema_files[0]  # XML-DSig 1.1, cached by signxml
_XML_SPACE = " \t\r\n"  # XML 1.0 [3] S: all that may follow the root element
# signxml looks the reference up as elements with an attribute of local name ID (any namespace)
# equal to it; counting the attributes instead is faster and as strict: one attribute is one
# element, and more is left to signxml.
_SAME_ID = "count(//@*[.=$uri][local-name()='ID'])"


def _ds(tag: str) -> str:
    return c.q(c.DS, tag)


def _prefixes(method: etree._Element) -> list[str] | None:
    """The InclusiveNamespaces PrefixList, split as signxml splits it."""
    listed = method.find(_PREFIX_LIST)
    return None if listed is None else (listed.get("PrefixList") or "").split(" ")


def _c14n(node: etree._Element, method: etree._Element) -> bytes:
    return etree.tostring(
        node,
        method="c14n",
        exclusive=True,
        with_comments=method.get("Algorithm", "").endswith("#WithComments"),
        inclusive_ns_prefixes=_prefixes(method),
    )


def _reparse(data: bytes, parser: etree.XMLParser) -> etree._Element:
    """signxml's parse: the hardened parser, and no DTD or entity in what it built."""
    root = etree.fromstring(data, parser=parser)
    docinfo = root.getroottree().docinfo
    if docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise ValueError("DTD")
    if next(root.iter(etree.Entity), None) is not None:
        raise ValueError("entity")
    return root


def _detached_copy(element: etree._Element, transform: etree._Element) -> etree._Element:
    """The element on its own, to digest without touching the caller's tree.

    signxml serialises and parses it again, which keeps every namespace in scope. A deep copy
    keeps only those the copy uses, which is all exclusive C14N renders, unless an
    InclusiveNamespaces PrefixList asks for others in scope: then the copy is signxml's.
    """
    if transform.find(_PREFIX_LIST) is None:
        return copy.deepcopy(element)
    return _reparse(etree.tostring(element), hardened_parser())


def _remove_enveloped(signature: etree._Element) -> None:
    """The enveloped-signature transform as signxml applies it: the text after the signature
    stays, joined to what precedes it."""
    parent = signature.getparent()
    assert parent is not None
    if signature.tail is not None:
        previous = signature.getprevious()
        if previous is None:
            parent.text = (parent.text or "") + signature.tail
        else:
            previous.tail = (previous.tail or "") + signature.tail
    parent.remove(signature)


def _transforms(reference: etree._Element) -> etree._Element | None:
    """The exclusive C14N transform when the transforms are exactly enveloped-signature then
    exclusive C14N (with or without comments), else None."""
    transforms = reference.find(_ds("Transforms"))
    if transforms is None:
        return None
    steps = transforms.findall(_ds("Transform"))
    if len(steps) != 2 or steps[0].get("Algorithm") != c.TRANSFORM_ENVELOPED:
        return None
    return steps[1] if steps[1].get("Algorithm") in _EXCLUSIVE else None


def _valid_now(certificate: x509.Certificate) -> bool:
    """signxml refuses a trusted certificate outside its validity period."""
    now = dt.datetime.now(dt.UTC)
    return certificate.not_valid_before_utc <= now <= certificate.not_valid_after_utc


def verify_common_shape(
    element: etree._Element,
    signature: etree._Element,
    trusted: Sequence[x509.Certificate],
    algorithm: str,
    digest: str,
) -> tuple[etree._Element, x509.Certificate] | None:
    """(the signed element as signxml returns it, the certificate that verified) or None.

    ``signature`` is ``element``'s first ds:Signature child, already past the shape checks;
    ``algorithm`` and ``digest`` are the allowed short names (``rsa-sha256``, ``sha256``).
    """
    try:
        digested = _digested(element, signature, digest)
        if digested is None:
            return None
        octets, signed_info_octets = digested
        raw = base64.b64decode(signature.findtext(_ds("SignatureValue")) or "")
        for certificate in trusted:
            if _valid_now(certificate) and verify_octets(
                signed_info_octets, raw, certificate, algorithm
            ):
                # The canonical octets parsed again: what was signed and only that (no comment
                # the digest ignored, no namespace from outside), as signxml returns it.
                return _reparse(octets, hardened_parser()), certificate
    except Exception:  # whatever it is, signxml decides and names it
        return None
    return None


def _digested(
    element: etree._Element, signature: etree._Element, digest: str
) -> tuple[bytes, bytes] | None:
    """(the canonical octets the Reference covers, SignedInfo's) when the signature has the
    common shape and the digest matches, else None."""
    if element.tag == _ds("Signature") or (signature.tail or "").strip(_XML_SPACE):
        return None  # signxml would take the element as the signature, or fail to parse
    # Comments and processing instructions are dropped from signxml's canonical SignedInfo
    # before it reads DigestValue: with none, the text read here is the text it reads.
    if any(not isinstance(node.tag, str) for node in signature.iter()):
        return None
    if not get_schema(_SCHEMA).validate(signature):  # signxml's schema, as it validates
        return None
    signed_info = signature.find(_ds("SignedInfo"))
    assert signed_info is not None
    c14n_method = signed_info.find(_ds("CanonicalizationMethod"))
    reference = signed_info.find(_ds("Reference"))
    assert c14n_method is not None and reference is not None
    transform = _transforms(reference)
    if c14n_method.get("Algorithm") not in _EXCLUSIVE or transform is None:
        return None

    if (element.tail or "").strip(_XML_SPACE) or next(element.iter(etree.Entity), None) is not None:
        return None  # signxml's copy of the element would not parse
    detached = _detached_copy(element, transform)
    if detached.xpath(_SAME_ID, uri=element.get("ID", "")) != 1:
        return None  # the reference is ambiguous, or signxml finds no element for it
    copied_signature = detached.find(_ds("Signature"))
    assert copied_signature is not None
    _remove_enveloped(copied_signature)
    octets = _c14n(detached, transform)
    expected = base64.b64decode(reference.findtext(_ds("DigestValue")) or "")
    if not hmac.compare_digest(hashlib.new(digest, octets).digest(), expected):
        return None
    return octets, _c14n(signed_info, c14n_method)
