"""A Response written directly as octets, with beside each signed element its exclusive-C14N
form, so that signing takes the digest over text already written: no tree, no C14N pass, no
serialiser (three quarters of the IdP's own work per response went to those).

The octets are the ones lxml writes for the tree :mod:`.response` builds: the same namespace
declarations (lxml drops, on append, a declaration its new parent already makes for the same
namespace, and renames the prefix to the parent's), attribute order and escaping, so that either
way gives the same message. ``tests/protocol/saml/test_response_octets.py`` holds the two to
that byte for byte and verifies the signatures with signxml and libxmlsec1. A mutator that works
on the tree or the bytes (any stage after the draft) takes the tree path (:mod:`.mutators`).
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import hashlib
import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

from cryptography import x509

from ..keys import KeyPair, certificate_base64
from . import constants as c
from ._crypto import sign_octets
from .encryption import BLOCK_ALGORITHMS, KEY_TRANSPORTS, EncryptionChoice, encrypt_octets
from .ids import format_instant
from .response import Protection, ResponseSpec
from .signing import DIGEST_METHODS, SIGNATURE_METHODS

# What XML 1.0 cannot carry (lxml refuses it): such a spec takes the tree path, which raises.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_SPECIAL = '&<>"\t\n\r'  # what either form escapes, in text or attributes
_PREFIX = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*\Z")
_TAKEN_PREFIXES = frozenset({"ds", "xenc", "xs", "xsi", "xml", "xmlns"})
_HASHES = {"sha1": hashlib.sha1, "sha256": hashlib.sha256, "sha512": hashlib.sha512}


def _escaper(pattern: str, table: dict[str, str]) -> Callable[[str], str]:
    compiled = re.compile(pattern)
    return lambda value: compiled.sub(lambda found: table[found.group()], value)


def _same(value: str) -> str:
    return value


class _Escapes(NamedTuple):
    """Escaping as lxml writes (libxml2's serialiser) and as exclusive C14N renders (C14N 1.0
    section 2.3): attribute values and text, each for the wire and the canonical form."""

    wire_attribute: Callable[[str], str]
    canonical_attribute: Callable[[str], str]
    wire_text: Callable[[str], str]
    canonical_text: Callable[[str], str]


_ESCAPES = _Escapes(
    _escaper(
        '[&<>"\t\n\r]',
        {
            "&": "&amp;",
            "<": "&lt;",
            ">": "&gt;",
            '"': "&quot;",
            "\t": "&#9;",
            "\n": "&#10;",
            "\r": "&#13;",
        },
    ),
    _escaper(
        '[&<"\t\n\r]',
        {"&": "&amp;", "<": "&lt;", '"': "&quot;", "\t": "&#x9;", "\n": "&#xA;", "\r": "&#xD;"},
    ),
    _escaper("[&<>\r]", {"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"}),
    _escaper("[&<>\r]", {"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#xD;"}),
)
_NO_ESCAPES = _Escapes(_same, _same, _same, _same)  # nothing in the spec needs escaping


def _texts(spec: ResponseSpec) -> str:
    """Every text of ``spec`` that the Response carries, run together."""
    texts = [
        spec.response_id,
        spec.assertion_id,
        spec.issuer,
        spec.name_id,
        spec.name_id_format,
        spec.name_id_sp_name_qualifier or "",
        spec.name_id_name_qualifier or "",
        spec.destination or "",
        spec.in_response_to or "",
        spec.recipient or "",
        spec.subject_in_response_to or "",
        spec.confirmation_method,
        spec.address or "",
        spec.session_index or "",
        spec.authn_context_class,
        spec.status_code,
        spec.status_subcode or "",
        spec.status_message or "",
        spec.assertion_issuer or "",
        spec.version,
        spec.assertion_version,
    ]
    texts += [audience for audiences in spec.audience_restrictions for audience in audiences]
    for attribute in spec.attributes:
        texts += [attribute.name, attribute.name_format or "", attribute.friendly_name or ""]
        texts += attribute.values
    return "".join(texts)


def _prefixes_fit(spec: ResponseSpec) -> bool:
    """Prefixes that cannot clash with each other or with those written here."""
    prefix = spec.assertion_prefix
    if _PREFIX.match(spec.protocol_prefix) is None or spec.protocol_prefix in _TAKEN_PREFIXES:
        return False
    return prefix is None or (
        _PREFIX.match(prefix) is not None
        and prefix not in _TAKEN_PREFIXES
        and prefix != spec.protocol_prefix
    )


@dataclass(frozen=True)
class WrittenResponse:
    wire: bytes
    # The assertion as encrypted (None when the Response carries it in clear, or none).
    sealed_plaintext: bytes | None


Form = tuple[Callable[[str], str], Callable[[str], str], tuple[list[str], ...]]


def _forms(escapes: _Escapes, wire: list[str], canonical: list[str]) -> tuple[Form, ...]:
    """For an element written alike in both forms but for escaping (attributes in the same
    order, never empty): how to escape attributes and text, and the lists each written text
    goes to. Once for both when nothing needs escaping."""
    if escapes is _NO_ESCAPES:
        return ((_same, _same, (wire, canonical)),)
    return (
        (escapes.wire_attribute, escapes.wire_text, (wire,)),
        (escapes.canonical_attribute, escapes.canonical_text, (canonical,)),
    )


def _attribute(name: str, value: str | None, escape: Callable[[str], str]) -> str:
    return "" if value is None else f' {name}="{escape(value)}"'


def write_response(
    spec: ResponseSpec, protection: Protection, rng: random.Random
) -> WrittenResponse | None:
    """Assertion -> signed -> encrypted -> Response -> signed, as :func:`.build_response`
    does, drawing on ``rng`` as it does. None, before anything is drawn, for a spec whose
    prefixes could clash or that holds text XML cannot carry (lxml refuses it: the tree path
    raises, as it always did)."""
    texts = _texts(spec)
    # Printable ASCII is all XML: the scan is only for the rest.
    plain = texts.isascii() and texts.isprintable()
    if (not plain and _NOT_XML.search(texts) is not None) or not _prefixes_fit(spec):
        return None
    escapes = _ESCAPES if any(special in texts for special in _SPECIAL) else _NO_ESCAPES
    payload_wire = payload_canonical = ""
    sealed: bytes | None = None
    if spec.include_assertion:
        assertion = _assertion(spec, protection, escapes)
        certificate = protection.encrypt_to
        if certificate is not None:
            sealed = assertion.standalone.encode()
            payload_wire, payload_canonical = _encrypted_assertion(
                sealed, certificate, protection.encryption, spec.assertion_prefix, rng
            )
        else:
            payload_wire, payload_canonical = assertion.in_response, assertion.canonical
    wire = _response(spec, protection, escapes, payload_wire, payload_canonical)
    return WrittenResponse(wire.encode(), sealed)


def _response(
    spec: ResponseSpec,
    protection: Protection,
    escapes: _Escapes,
    payload_wire: str,
    payload_canonical: str,
) -> str:
    wa, ca, wt, ct = escapes
    p, prefix = spec.protocol_prefix, spec.assertion_prefix
    tag = f"{p}:Response"
    declared = f' xmlns:{p}="{c.SAMLP}"'
    instant = format_instant(spec.issue_instant)
    response_id, version = spec.response_id, spec.version
    destination, in_response_to = spec.destination, spec.in_response_to
    wire = [
        f"<{tag}{declared}"
        + (f' xmlns:{prefix}="{c.SAML}"' if prefix is not None else "")
        + f' ID="{wa(response_id)}" Version="{wa(version)}" IssueInstant="{instant}"'
        + _attribute("Destination", destination, wa)
        + _attribute("InResponseTo", in_response_to, wa)
        + ">"
    ]
    canonical = [
        f"<{tag}{declared}"
        + _attribute("Destination", destination, ca)
        + f' ID="{ca(response_id)}"'
        + _attribute("InResponseTo", in_response_to, ca)
        + f' IssueInstant="{instant}" Version="{ca(version)}">'
    ]
    if not spec.omit_response_issuer:
        entity = f' Format="{c.NAMEID_ENTITY}"' if spec.issuer_format_entity else ""
        if prefix is None:  # the Response has no default namespace: the Issuer declares it
            opening, closing = f'<Issuer xmlns="{c.SAML}"{entity}>', "</Issuer>"
            wire.append(f"{opening}{wt(spec.issuer)}{closing}")
        else:
            closing = f"</{prefix}:Issuer>"
            wire.append(f"<{prefix}:Issuer{entity}>{wt(spec.issuer)}{closing}")
            opening = f'<{prefix}:Issuer xmlns:{prefix}="{c.SAML}"{entity}>'
        canonical.append(f"{opening}{ct(spec.issuer)}{closing}")
    code, subcode, message = spec.status_code, spec.status_subcode, spec.status_message
    code_tag = f"{p}:StatusCode"
    if subcode:
        inner = f'<{code_tag} Value="{wa(subcode)}"/></{code_tag}>'
        canonical_inner = f'<{code_tag} Value="{ca(subcode)}"></{code_tag}></{code_tag}>'
        wire.append(f'<{p}:Status><{code_tag} Value="{wa(code)}">{inner}')
    else:
        canonical_inner = f"</{code_tag}>"
        wire.append(f'<{p}:Status><{code_tag} Value="{wa(code)}"/>')
    canonical.append(f'<{p}:Status><{code_tag} Value="{ca(code)}">{canonical_inner}')
    if message:
        wire.append(f"<{p}:StatusMessage>{wt(message)}</{p}:StatusMessage>")
        canonical.append(f"<{p}:StatusMessage>{ct(message)}</{p}:StatusMessage>")
    wire.append(f"</{p}:Status>{payload_wire}</{tag}>")
    canonical.append(f"</{p}:Status>{payload_canonical}</{tag}>")
    key = protection.key
    if protection.sign_response and key is not None:
        signature, _ = _signature(response_id, "".join(canonical), protection, key, escapes)
        wire.insert(1 if spec.omit_response_issuer else 2, signature)
    return "".join(wire)


class _Assertion(NamedTuple):
    standalone: str  # as serialised on its own (what is encrypted)
    in_response: str  # as serialised inside the Response
    canonical: str  # exclusive C14N, signature included


def _assertion(spec: ResponseSpec, protection: Protection, escapes: _Escapes) -> _Assertion:
    wa, ca, wt, ct = escapes
    prefix = spec.assertion_prefix
    q = f"{prefix}:" if prefix else ""
    declared = f' xmlns:{prefix}="{c.SAML}"' if prefix else f' xmlns="{c.SAML}"'
    assertion_id, version = spec.assertion_id, spec.assertion_version
    instant = format_instant(spec.issue_instant)
    entity = f' Format="{c.NAMEID_ENTITY}"' if spec.issuer_format_entity else ""
    issuer = spec.assertion_issuer or spec.issuer
    issuer_tags = f"<{q}Issuer{entity}>", f"</{q}Issuer>"
    wire = [f"{issuer_tags[0]}{wt(issuer)}{issuer_tags[1]}"]
    canonical = [f"{issuer_tags[0]}{ct(issuer)}{issuer_tags[1]}"]
    _subject(spec, q, escapes, wire, canonical)
    _conditions(spec, q, escapes, wire, canonical)
    if spec.include_authn_statement:
        authn_instant = format_instant(spec.authn_instant or spec.issue_instant)
        statement = f'<{q}AuthnStatement AuthnInstant="{authn_instant}"'
        session_index, until = spec.session_index, _instant(spec.session_not_on_or_after)
        context = f"<{q}AuthnContext><{q}AuthnContextClassRef>"
        closing = f"</{q}AuthnContextClassRef></{q}AuthnContext></{q}AuthnStatement>"
        for escape, text, targets in _forms(escapes, wire, canonical):
            written = (
                statement
                + _attribute("SessionIndex", session_index, escape)
                + _attribute("SessionNotOnOrAfter", until, escape)
                + f">{context}{text(spec.authn_context_class)}{closing}"
            )
            for parts in targets:
                parts.append(written)
    if spec.attributes:
        _attribute_statement(spec, q, escapes, wire, canonical)
    canonical_head = f'<{q}Assertion{declared} ID="{ca(assertion_id)}" IssueInstant="{instant}"'
    canonical_head += f' Version="{ca(version)}">'
    closing = f"</{q}Assertion>"
    key = protection.key
    if protection.sign_assertion and key is not None:
        unsigned = canonical_head + "".join(canonical) + closing
        signature, canonical_signature = _signature(
            assertion_id, unsigned, protection, key, escapes
        )
        wire.insert(1, signature)  # after the Issuer, as the schema orders
        canonical.insert(1, canonical_signature)
    typed = f' xmlns:xs="{c.XS}" xmlns:xsi="{c.XSI}"' if spec.typed_attribute_values else ""
    attributes = f' ID="{wa(assertion_id)}" Version="{wa(version)}" IssueInstant="{instant}">'
    body = "".join(wire) + closing
    # In the Response, lxml drops the Assertion's declaration of the prefix the Response
    # declares; a default namespace, which the Response does not declare, stays.
    return _Assertion(
        f"<{q}Assertion{declared}{typed}{attributes}{body}",
        f"<{q}Assertion{'' if prefix else declared}{typed}{attributes}{body}",
        canonical_head + "".join(canonical) + closing,
    )


def _subject(
    spec: ResponseSpec, q: str, escapes: _Escapes, wire: list[str], canonical: list[str]
) -> None:
    wa, ca = escapes.wire_attribute, escapes.canonical_attribute
    qualifier, sp_qualifier = spec.name_id_name_qualifier, spec.name_id_sp_name_qualifier
    method = f'<{q}SubjectConfirmation Method="'
    data = f"<{q}SubjectConfirmationData"
    not_before = _instant(spec.subject_not_before)
    not_on_or_after = _instant(spec.subject_not_on_or_after)
    recipient, in_response_to = spec.recipient, spec.subject_in_response_to
    for escape, text, targets in _forms(escapes, wire, canonical):
        written = (
            f'<{q}Subject><{q}NameID Format="{escape(spec.name_id_format)}"'
            + _attribute("NameQualifier", qualifier or None, escape)
            + _attribute("SPNameQualifier", sp_qualifier or None, escape)
            + f">{text(spec.name_id)}</{q}NameID>{method}{escape(spec.confirmation_method)}"
        )
        for parts in targets:
            parts.append(written)
    wire.append(
        f'">{data}'
        + _attribute("NotBefore", not_before, wa)
        + _attribute("NotOnOrAfter", not_on_or_after, wa)
        + _attribute("Recipient", recipient, wa)
        + _attribute("InResponseTo", in_response_to, wa)
        + _attribute("Address", spec.address, wa)
        + f"/></{q}SubjectConfirmation></{q}Subject>"
    )
    canonical.append(
        f'">{data}'
        + _attribute("Address", spec.address, ca)
        + _attribute("InResponseTo", in_response_to, ca)
        + _attribute("NotBefore", not_before, ca)
        + _attribute("NotOnOrAfter", not_on_or_after, ca)
        + _attribute("Recipient", recipient, ca)
        + f"></{q}SubjectConfirmationData></{q}SubjectConfirmation></{q}Subject>"
    )


def _conditions(
    spec: ResponseSpec, q: str, escapes: _Escapes, wire: list[str], canonical: list[str]
) -> None:
    wa, ca, wt, ct = escapes
    not_before, not_on_or_after = _instant(spec.not_before), _instant(spec.not_on_or_after)
    for escape, text, parts, canonical_form in ((wa, wt, wire, False), (ca, ct, canonical, True)):
        inner = []
        for audiences in spec.audience_restrictions:
            if audiences or canonical_form:
                inner.append(f"<{q}AudienceRestriction>")
                inner += [f"<{q}Audience>{text(a)}</{q}Audience>" for a in audiences]
                inner.append(f"</{q}AudienceRestriction>")
            else:
                inner.append(f"<{q}AudienceRestriction/>")
        if spec.one_time_use:
            inner.append(
                f"<{q}OneTimeUse></{q}OneTimeUse>" if canonical_form else f"<{q}OneTimeUse/>"
            )
        head = (
            f"<{q}Conditions"
            + _attribute("NotBefore", not_before, escape)
            + _attribute("NotOnOrAfter", not_on_or_after, escape)
        )
        if inner or canonical_form:
            parts.append(f"{head}>{''.join(inner)}</{q}Conditions>")
        else:
            parts.append(f"{head}/>")


def _attribute_statement(
    spec: ResponseSpec, q: str, escapes: _Escapes, wire: list[str], canonical: list[str]
) -> None:
    wa, ca, wt, ct = escapes
    value_tag = f"{q}AttributeValue"
    if spec.typed_attribute_values:
        wire_value = f'<{value_tag} xsi:type="xs:string">'
        # xsi:type makes the prefix visibly used: exclusive C14N declares it right there.
        canonical_value = f'<{value_tag} xmlns:xsi="{c.XSI}" xsi:type="xs:string">'
    else:
        wire_value = canonical_value = f"<{value_tag}>"
    wire.append(f"<{q}AttributeStatement>")
    canonical.append(f"<{q}AttributeStatement>")
    for attribute in spec.attributes:
        name, name_format = attribute.name, attribute.name_format or None
        friendly = attribute.friendly_name or None
        head = (
            f'<{q}Attribute Name="{wa(name)}"'
            + _attribute("NameFormat", name_format, wa)
            + _attribute("FriendlyName", friendly, wa)
        )
        values = [f"{wire_value}{wt(v)}</{value_tag}>" for v in attribute.values]
        wire.append(f"{head}>{''.join(values)}</{q}Attribute>" if values else f"{head}/>")
        canonical.append(
            f"<{q}Attribute"
            + _attribute("FriendlyName", friendly, ca)
            + f' Name="{ca(name)}"'
            + _attribute("NameFormat", name_format, ca)
            + ">"
            + "".join(f"{canonical_value}{ct(v)}</{value_tag}>" for v in attribute.values)
            + f"</{q}Attribute>"
        )
    wire.append(f"</{q}AttributeStatement>")
    canonical.append(f"</{q}AttributeStatement>")


def _instant(value: dt.datetime | None) -> str | None:
    return None if value is None else format_instant(value)


@dataclass(frozen=True)
class _SignatureText:
    """ds:Signature's fixed text around the Reference URI and the DigestValue."""

    canonical_head: str
    canonical_middle: str
    wire_head: str
    wire_middle: str
    tail: str  # after the DigestValue, up to the SignatureValue


@functools.lru_cache(maxsize=32)
def _signature_text(algorithm: str, digest: str) -> _SignatureText:
    transforms = (c.TRANSFORM_ENVELOPED, c.C14N_EXCLUSIVE)

    def empty(tag: str, algorithm_uri: str, canonical: bool) -> str:
        start = f'<ds:{tag} Algorithm="{algorithm_uri}"'
        return f"{start}></ds:{tag}>" if canonical else f"{start}/>"

    def text(canonical: bool) -> tuple[str, str]:
        head = (
            empty("CanonicalizationMethod", c.C14N_EXCLUSIVE, canonical)
            + empty("SignatureMethod", SIGNATURE_METHODS[algorithm], canonical)
            + '<ds:Reference URI="#'
        )
        middle = (
            '"><ds:Transforms>'
            + "".join(empty("Transform", uri, canonical) for uri in transforms)
            + "</ds:Transforms>"
            + empty("DigestMethod", DIGEST_METHODS[digest], canonical)
            + "<ds:DigestValue>"
        )
        return head, middle

    canonical_head, canonical_middle = text(canonical=True)
    wire_head, wire_middle = text(canonical=False)
    return _SignatureText(
        canonical_head,
        canonical_middle,
        wire_head,
        wire_middle,
        "</ds:DigestValue></ds:Reference></ds:SignedInfo>",
    )


# ds:KeyInfo by the certificate's id: hashing a certificate costs more than the rest of the
# lookup. The entry holds the certificate, so its id cannot name another while it is kept.
_KEY_INFOS: dict[int, tuple[x509.Certificate, str]] = {}


def _key_info(certificate: x509.Certificate) -> str:
    entry = _KEY_INFOS.get(id(certificate))
    if entry is None or entry[0] is not certificate:
        if len(_KEY_INFOS) >= 64:
            _KEY_INFOS.clear()
        text = (
            "<ds:KeyInfo><ds:X509Data><ds:X509Certificate>"
            f"{certificate_base64(certificate)}"
            "</ds:X509Certificate></ds:X509Data></ds:KeyInfo>"
        )
        entry = _KEY_INFOS[id(certificate)] = (certificate, text)
    return entry[1]


def _signature(
    element_id: str, canonical: str, protection: Protection, key: KeyPair, escapes: _Escapes
) -> tuple[str, str]:
    """The enveloped ds:Signature over the element whose exclusive C14N is ``canonical``
    (without the signature, as the enveloped-signature transform sees it): as written, and in
    exclusive C14N inside that element."""
    choice = protection.signature  # sign_octets refuses an algorithm the key cannot make
    text = _signature_text(choice.algorithm, choice.digest)
    digest = base64.b64encode(_HASHES[choice.digest](canonical.encode()).digest()).decode()
    signed_info = (
        text.canonical_head
        + escapes.canonical_attribute(element_id)
        + text.canonical_middle
        + digest
        + text.tail
    )
    octets = f'<ds:SignedInfo xmlns:ds="{c.DS}">{signed_info}'.encode()
    value = base64.b64encode(sign_octets(octets, key, choice.algorithm)).decode()
    key_info = _key_info(key.certificate) if protection.include_certificate else ""
    rest = f"<ds:SignatureValue>{value}</ds:SignatureValue>{key_info}</ds:Signature>"
    opening = f'<ds:Signature xmlns:ds="{c.DS}"><ds:SignedInfo>'
    wire = (
        opening
        + text.wire_head
        + escapes.wire_attribute(element_id)
        + text.wire_middle
        + digest
        + text.tail
        + rest
    )
    return wire, opening + signed_info + rest


def _encrypted_assertion(
    plaintext: bytes,
    certificate: x509.Certificate,
    choice: EncryptionChoice,
    prefix: str | None,
    rng: random.Random,
) -> tuple[str, str]:
    """saml:EncryptedAssertion as :func:`.encrypt_element` builds it, once in the Response:
    as written, and in exclusive C14N."""
    cipher_value, wrapped_key = encrypt_octets(plaintext, certificate, choice, rng)
    # A Response declaring the SAML namespace takes over the wrapper's declaration and prefix.
    tag = f"{prefix or 'saml'}:EncryptedAssertion"
    declared = f' xmlns:{prefix or "saml"}="{c.SAML}"'
    transport = f'<xenc:EncryptionMethod Algorithm="{KEY_TRANSPORTS[choice.transport]}"'
    block = f'<xenc:EncryptionMethod Algorithm="{BLOCK_ALGORITHMS[choice.block][0]}"'
    digest = f'<ds:DigestMethod Algorithm="{c.DIGEST_SHA1}"'
    oaep = choice.transport == "rsa-oaep"
    rest = (
        f"{_key_info(certificate)}<xenc:CipherData><xenc:CipherValue>{base64.b64encode(wrapped_key).decode()}"
        "</xenc:CipherValue></xenc:CipherData></xenc:EncryptedKey></ds:KeyInfo>"
        f"<xenc:CipherData><xenc:CipherValue>{base64.b64encode(cipher_value).decode()}"
        f"</xenc:CipherValue></xenc:CipherData></xenc:EncryptedData></{tag}>"
    )
    data = f'<xenc:EncryptedData xmlns:xenc="{c.XENC}"'
    data_type = f' Type="{c.ENC_TYPE_ELEMENT}">'
    wire = (
        f'<{tag}{"" if prefix else declared}>{data} xmlns:ds="{c.DS}"{data_type}{block}/>'
        f"<ds:KeyInfo><xenc:EncryptedKey>{transport}"
        + (f">{digest}/></xenc:EncryptionMethod>" if oaep else "/>")
        + rest
    )
    canonical = (
        f"<{tag}{declared}>{data}{data_type}{block}></xenc:EncryptionMethod>"
        f'<ds:KeyInfo xmlns:ds="{c.DS}"><xenc:EncryptedKey>{transport}>'
        + (f"{digest}></ds:DigestMethod>" if oaep else "")
        + "</xenc:EncryptionMethod>"
        + rest
    )
    return wire, canonical
