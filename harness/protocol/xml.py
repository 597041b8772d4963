"""The one hardened XML parser for everything the project reads from the network.

SAML messages arrive from peers we do not trust, so parsing refuses the classic XML attacks
before lxml ever sees the bytes: a document type declaration (external entities, billion
laughs, external DTD fetches: saml2int SDP-G03, IIP-G03), oversized input and absurd nesting.

The refusal must hold whatever the encoding. libxml2 understands far more encodings than a byte
scan does (UCS-4 in four byte orders, UTF-7, EBCDIC, ISO-2022-JP...), and a ``<!DOCTYPE`` the
scan cannot see is one libxml2 obeys: a SYSTEM identifier of ``file:///proc/self/fd/0`` blocks
the event loop in ``read()``, and the error for an existing file differs from a missing one.
So the document is decoded here (XML 1.0 Appendix F: BOM, then the XML declaration), only
encodings whose decoding we own are accepted, the DOCTYPE scan runs over the decoded text, and
libxml2 is handed that very text re-encoded as UTF-8 without a declaration: it can neither pick
another encoding nor see characters the scan did not. The parser also refuses every external
resource through its resolver, so even a declaration that slipped past opens nothing.
"""

from __future__ import annotations

import functools
import re
from typing import Any, Final

from lxml import etree

from .refusal import Refusal

DEFAULT_MAX_BYTES: Final = 1_000_000
DEFAULT_MAX_DEPTH: Final = 64

# Any markup declaration counts: <!DOCTYPE, <!ENTITY, <!ATTLIST, <!ELEMENT. CDATA and comments
# are "<![CDATA[" and "<!--" and stay legal.
_DECLARATION = re.compile(r"<!\s*(DOCTYPE|ENTITY|ATTLIST|ELEMENT|NOTATION)", re.IGNORECASE)

# One message for every refused declaration or external resource, whatever it names and whether
# that exists: a different answer for /etc/hostname and /nonexistent is a file-existence oracle.
_NO_DOCTYPE: Final = "document type declarations and external resources are not accepted"

# XML 1.0 (5th ed.) [23] XMLDecl, [24] VersionInfo, [80] EncodingDecl, [81] EncName, [32] SDDecl.
_S = r"[\x20\x09\x0d\x0a]"
_XML_DECL = re.compile(
    rf"<\?xml{_S}+version{_S}*={_S}*(?:'1\.[0-9]+'|\"1\.[0-9]+\")"
    rf"(?:{_S}+encoding{_S}*={_S}*(?:'(?P<single>[A-Za-z][A-Za-z0-9._-]*)'"
    rf"|\"(?P<double>[A-Za-z][A-Za-z0-9._-]*)\"))?"
    rf"(?:{_S}+standalone{_S}*={_S}*(?:'(?:yes|no)'|\"(?:yes|no)\"))?{_S}*\?>"
)

# Byte order marks, longest first: FF FE 00 00 is UCS-4 LE (or UTF-16 LE starting with U+0000,
# which XML forbids), so the UCS-4 marks must be tried before the UTF-16 ones.
_BOMS: Final[tuple[tuple[bytes, str | None], ...]] = (
    (b"\x00\x00\xfe\xff", None),  # UCS-4 BE (1234)
    (b"\xff\xfe\x00\x00", None),  # UCS-4 LE (4321)
    (b"\x00\x00\xff\xfe", None),  # UCS-4 unusual order (2143)
    (b"\xfe\xff\x00\x00", None),  # UCS-4 unusual order (3412)
    (b"\xef\xbb\xbf", "utf-8"),
    (b"\xfe\xff", "utf-16-be"),
    (b"\xff\xfe", "utf-16-le"),
)
# Without a BOM, Appendix F reads "<?" in UTF-16; any other NUL among the first four bytes is a
# UCS-4 (or otherwise wide) encoding we do not accept.
_UTF16_WITHOUT_BOM: Final = {b"\x00<\x00?": "utf-16-be", b"<\x00?\x00": "utf-16-le"}
_EBCDIC_XML_DECL: Final = b"\x4c\x6f\xa7\x94"  # "<?xm" in EBCDIC

# Declared encoding (lower case) -> the Python codec it means, for each family the bytes start
# in. US-ASCII and ISO-8859-1 are safe because Python, not libxml2, decodes them: ASCII is
# strict and Latin-1 maps every byte to one code point, and the scan runs on that result.
_EIGHT_BIT: Final = {"utf-8": "utf-8", "us-ascii": "ascii", "iso-8859-1": "latin-1"}
_DECLARABLE: Final[dict[str, dict[str, str]]] = {
    "utf-8": {"utf-8": "utf-8"},
    "utf-16-le": {"utf-16": "utf-16-le", "utf-16le": "utf-16-le"},
    "utf-16-be": {"utf-16": "utf-16-be", "utf-16be": "utf-16-be"},
}


class XMLSecurityError(Refusal, ValueError):
    """Hostile or malformed XML was refused before any element was built."""

    def __init__(self, reason: str, message: str, rule: str = "SDP-G03") -> None:
        super().__init__(reason, message, rule)


def _refuse_encoding(message: str) -> XMLSecurityError:
    return XMLSecurityError("encoding", message, "XML-1.0-4.3.3")


def _sniff(data: bytes) -> tuple[str, int, bool]:
    """(family codec, BOM length, has BOM) per XML 1.0 Appendix F.1; refuses wide encodings."""
    for bom, family in _BOMS:
        if data.startswith(bom):
            if family is None:
                raise _refuse_encoding("UCS-4/UTF-32 documents are not accepted")
            return family, len(bom), True
    head = data[:4]
    if head in _UTF16_WITHOUT_BOM:
        return _UTF16_WITHOUT_BOM[head], 0, False
    if b"\x00" in head:
        raise _refuse_encoding("only UTF-8 and UTF-16 documents are accepted")
    if head == _EBCDIC_XML_DECL:
        raise _refuse_encoding("EBCDIC documents are not accepted")
    return "utf-8", 0, False


def decode_document(data: bytes) -> str:
    """The document's text without BOM or XML declaration, or :class:`XMLSecurityError`.

    Accepts UTF-8 and UTF-16 (with or without BOM) and declared US-ASCII or ISO-8859-1; refuses
    every other encoding, a declaration contradicting the BOM, and undecodable bytes.
    """
    family, bom_length, has_bom = _sniff(data)
    body = data[bom_length:]
    # The declaration is ASCII in every accepted encoding; decoding a bounded head leniently
    # finds it without decoding the whole document twice.
    head_codec = "latin-1" if family == "utf-8" else family
    head = body[:512].decode(head_codec, errors="replace")
    declared: str | None = None
    declaration_end = 0
    if head.startswith("<?xml") and head[5:6] in ("\x20", "\x09", "\x0d", "\x0a"):
        match = _XML_DECL.match(head)
        if match is None:
            raise XMLSecurityError("malformed", "unreadable XML declaration", "XML-1.0")
        declared = (match.group("single") or match.group("double") or "").lower() or None
        declaration_end = match.end()
    if declared is None:
        codec = family
    else:
        allowed = _EIGHT_BIT if family == "utf-8" and not has_bom else _DECLARABLE[family]
        if declared not in allowed:
            raise _refuse_encoding(
                f"encoding {declared!r} is not accepted here: only UTF-8 and UTF-16"
                " (US-ASCII and ISO-8859-1 declared without a BOM)"
            )
        codec = allowed[declared]
    try:
        text = body.decode(codec)
    except UnicodeDecodeError as exc:
        raise _refuse_encoding(f"the document is not valid {codec}") from exc
    # Every accepted codec keeps the declaration's characters one for one, so its length in the
    # head is its length in the text.
    return text[declaration_end:]


class _RefuseEveryResource(etree.Resolver):
    """libxml2 asks its resolvers before opening any DTD, entity or URL: refuse them all, the
    same way whatever the name, so nothing is ever opened and nothing is learnt from the error."""

    def resolve(self, system_url: str, public_id: str, context: Any = None) -> Any:
        # lxml passes ``context`` (its stubs omit it); nothing here looks at the arguments.
        raise XMLSecurityError("doctype", _NO_DOCTYPE)


def hardened_parser() -> etree.XMLParser:
    """A parser that never loads a DTD, an entity or a URL. A fresh one per call: lxml parsers
    are not thread-safe and cost microseconds to build."""
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_blank_text=False,
        collect_ids=False,
    )
    parser.resolvers.add(_RefuseEveryResource())
    return parser


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
    text = decode_document(data)
    if _DECLARATION.search(text):
        raise XMLSecurityError("doctype", _NO_DOCTYPE)
    if "\x00" in text:
        raise XMLSecurityError("malformed", "U+0000 is not an XML character", "XML-1.0")
    try:
        # What libxml2 reads is exactly the text scanned above: UTF-8, no BOM, no declaration.
        root = etree.fromstring(text.encode("utf-8"), parser=hardened_parser())
    except etree.XMLSyntaxError as exc:
        raise XMLSecurityError("malformed", f"not well-formed XML: {exc}", "XML-1.0") from exc
    if root.getroottree().docinfo.internalDTD is not None:  # belt and braces
        raise XMLSecurityError("doctype", _NO_DOCTYPE)
    _check_depth(root, max_depth)
    return root


def _check_depth(root: etree._Element, max_depth: int) -> None:
    if max_depth < 1 or root.xpath(_too_deep(max_depth)):
        raise XMLSecurityError(
            "too-deep", f"elements nest deeper than {max_depth} levels", "SDP-G03"
        )


@functools.lru_cache(maxsize=8)
def _too_deep(max_depth: int) -> str:
    """XPath from the root: is there an element, comment or processing instruction at depth
    ``max_depth + 1`` (the root is at depth 1)? libxml2 walks the levels, a tenth of the time
    a walk in Python took."""
    return "boolean(" + "*/" * (max_depth - 1) + "node()[not(self::text())])"


def to_bytes(element: etree._Element, *, pretty: bool = False) -> bytes:
    """Serialise without an XML declaration (what SAML bindings carry)."""
    return etree.tostring(element, encoding="utf-8", pretty_print=pretty)
