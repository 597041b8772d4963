"""The one hardened XML parser for everything the project reads from the network.

SAML messages arrive from peers we do not trust, so parsing refuses the classic XML attacks
before lxml ever sees the bytes: a document type declaration (external entities, billion
laughs, external DTD fetches: saml2int SDP-G03, IIP-G03), oversized input and absurd nesting.
"""

from __future__ import annotations

import re
from typing import Final

from lxml import etree

DEFAULT_MAX_BYTES: Final = 1_000_000
DEFAULT_MAX_DEPTH: Final = 64

# Any markup declaration counts: <!DOCTYPE, <!ENTITY, <!ATTLIST, <!ELEMENT. CDATA and comments
# are "<![CDATA[" and "<!--" and stay legal.
_DECLARATION = re.compile(rb"<!\s*(DOCTYPE|ENTITY|ATTLIST|ELEMENT|NOTATION)", re.IGNORECASE)


class XMLSecurityError(ValueError):
    """The input was refused; ``reason`` is a short code, ``rule`` the requirement it enforces."""

    def __init__(self, reason: str, message: str, rule: str = "SDP-G03") -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.rule = rule
        self.message = message


def _as_utf8_for_scan(data: bytes) -> bytes:
    # A UTF-16 document would hide "<!DOCTYPE" from a byte scan; decode it for the scan only.
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        try:
            return data.decode("utf-16").encode("utf-8")
        except UnicodeDecodeError as exc:
            raise XMLSecurityError("malformed", "undecodable UTF-16 input") from exc
    if data[:4] in (b"\x00\x00\xfe\xff", b"\xff\xfe\x00\x00") or (
        len(data) > 1 and (data[0] == 0 or data[1] == 0)
    ):
        raise XMLSecurityError("encoding", "only UTF-8 and UTF-16 documents are accepted")
    return data


def _parser() -> etree.XMLParser:
    # A fresh parser per call: lxml parsers are not thread-safe and cost microseconds to build.
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_blank_text=False,
        collect_ids=False,
    )


def parse_xml(
    data: bytes,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_depth: int = DEFAULT_MAX_DEPTH,
) -> etree._Element:
    """Parse untrusted bytes into an element, or raise :class:`XMLSecurityError`."""
    if not isinstance(data, bytes):
        raise TypeError("parse_xml takes bytes")
    if len(data) > max_bytes:
        raise XMLSecurityError(
            "too-large", f"document is {len(data)} bytes, the limit is {max_bytes}", "SDP-G03"
        )
    if not data.strip():
        raise XMLSecurityError("malformed", "empty document", "XML-1.0")
    if _DECLARATION.search(_as_utf8_for_scan(data)):
        raise XMLSecurityError("doctype", "document type declarations are not accepted")
    try:
        root = etree.fromstring(data, parser=_parser())
    except etree.XMLSyntaxError as exc:
        raise XMLSecurityError("malformed", f"not well-formed XML: {exc}", "XML-1.0") from exc
    if root.getroottree().docinfo.internalDTD is not None:  # belt and braces
        raise XMLSecurityError("doctype", "document type declarations are not accepted")
    _check_depth(root, max_depth)
    return root


def _check_depth(root: etree._Element, max_depth: int) -> None:
    stack: list[tuple[etree._Element, int]] = [(root, 1)]
    while stack:
        element, depth = stack.pop()
        if depth > max_depth:
            raise XMLSecurityError(
                "too-deep", f"elements nest deeper than {max_depth} levels", "SDP-G03"
            )
        stack.extend((child, depth + 1) for child in element)


def to_bytes(element: etree._Element, *, pretty: bool = False) -> bytes:
    """Serialise without an XML declaration (what SAML bindings carry)."""
    return etree.tostring(element, encoding="utf-8", pretty_print=pretty)
