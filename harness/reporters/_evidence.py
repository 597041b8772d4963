"""Evidence made readable: SAML XML indented, SCIM JSON indented, anything else as text.

Evidence comes from the system under test, so it is untrusted: XML goes through the hardened
parser (never a DTD or entity), and every function here returns plain text that the caller
escapes for its own format (HTML, XML, the terminal).
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from typing import Any, Literal

from lxml import etree

from harness.protocol.refusal import Refusal
from harness.protocol.saml.decode import decode_message
from harness.protocol.xml import XMLSecurityError, parse_xml
from harness.results import LOOKED_AT, leading

Kind = Literal["xml", "json", "text"]

# Keys whose values are SAML messages as a binding carries them (base64, deflated).
_SAML_FIELDS = {"SAMLResponse", "SAMLRequest", "saml_response", "saml_request"}
# XML 1.0 allows tab, newline, carriage return and everything from U+0020 except surrogates and
# U+FFFE/U+FFFF; anything else makes the JUnit/HTML file unreadable by strict parsers.
_NOT_XML_CHAR = re.compile(r"[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# "refused by the {who}: {reason}" as a step writes it when its attempt recorded no refusal or
# no reason (who or reason None). A reader must never be shown the None.
_NONE_REFUSALS = (
    (re.compile(r"refused by the None: None\b"), "not signed in, and no refusal seen"),
    (re.compile(r"refused by the None: "), "refused: "),
    (re.compile(r"refused by the None\b"), "no refusal seen"),
    (re.compile(r"(refused by the \w+): None\b"), r"\1 (no reason given)"),
)


def readable(text: str) -> str:
    """A result's message, expected or observed text, without a stray ``None`` where the
    attempt recorded no refusal or no reason."""
    for pattern, replacement in _NONE_REFUSALS:
        text = pattern.sub(replacement, text)
    return text


def terminal_safe(text: str) -> str:
    """``text`` with control characters (ANSI escapes from a hostile peer) shown as escapes."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


@dataclass(frozen=True)
class Pretty:
    kind: Kind
    text: str


def xml_safe(text: str) -> str:
    """``text`` with the characters XML 1.0 cannot carry shown as escapes instead."""
    return _NOT_XML_CHAR.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def indent_xml(data: str | bytes) -> str | None:
    """The document indented, or None when it is not well-formed (or refused as hostile)."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    try:
        root = parse_xml(raw.strip())
    except XMLSecurityError:
        return None
    shown = copy.deepcopy(root)  # indenting rewrites whitespace: never touch what was signed
    etree.indent(shown, space="  ")
    return etree.tostring(shown, encoding="unicode")


def _json_text(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=False, default=str)


def saml_message(value: str, *, key: str = "") -> Pretty | None:
    """The SAML message a value carries (a form body or URL with SAMLResponse/SAMLRequest, or
    the bare field value), indented; None when it carries none."""
    if key not in _SAML_FIELDS and "SAMLResponse=" not in value and "SAMLRequest=" not in value:
        return None
    try:
        decoded = decode_message(value.strip())
    except Refusal:
        return None
    indented = indent_xml(decoded.xml)
    if indented is None:
        return None
    if decoded.relay_state is not None:  # as an XML comment, so the block stays XML
        relay_state = decoded.relay_state.replace("--", "- -")
        indented = f"<!-- RelayState: {relay_state} -->\n{indented}"
    return Pretty("xml", indented)


def pretty(value: Any, *, key: str = "") -> Pretty:
    """How to show one evidence value."""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if isinstance(value, str):
        stripped = value.strip()
        if stripped.startswith("<"):
            indented = indent_xml(stripped)
            if indented is not None:
                return Pretty("xml", indented)
        elif stripped[:1] in ("{", "["):
            try:
                return Pretty("json", _json_text(json.loads(stripped)))
            except ValueError:
                pass
        return saml_message(stripped, key=key) or Pretty("text", value)
    if isinstance(value, dict | list | tuple):
        return Pretty("json", _json_text(value))
    return Pretty("text", str(value))


def _is_document(key: str, value: Any) -> bool:
    """Worth a block of its own: XML, JSON, or a value carrying a SAML message."""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if not isinstance(value, str):
        return False
    return pretty(value, key=key).kind != "text"


def _http_step(label: str, step: dict[str, Any]) -> list[tuple[str, Pretty]]:
    # One request of a recorded exchange: its plain facts (request line, status, location) in
    # one block, then each message it carried (a SAML form, a SCIM body) indented on its own.
    facts = [f"{k}: {v}" for k, v in step.items() if not _is_document(str(k), v)]
    items = [(label, Pretty("text", "\n".join(facts)))] if facts else []
    for key, value in step.items():
        if _is_document(str(key), value):
            items.append((f"{label} {key}", pretty(value, key=str(key))))
    return items


def _looked_at(fields: Any) -> Pretty:
    """The fields a check judged, one ``name: value`` line each, names aligned."""
    if not isinstance(fields, dict) or not fields:
        return pretty(fields)
    width = max(len(str(name)) for name in fields)
    lines = [f"{str(name) + ':':<{width + 1}} {value}" for name, value in fields.items()]
    return Pretty("text", "\n".join(lines))


def evidence_items(evidence: dict[str, Any]) -> list[tuple[str, Pretty]]:
    """Each evidence entry shown on its own, the fields the check looked at first. A recorded
    HTTP exchange (a list of requests, or one request as a dict) is opened, so the SAML or SCIM
    message inside is indented too."""
    items: list[tuple[str, Pretty]] = []
    for raw_key, value in leading(evidence).items():
        key = str(raw_key)
        if key == LOOKED_AT:
            items.append(("looked at", _looked_at(value)))
            continue
        if isinstance(value, list | tuple) and value and all(isinstance(v, dict) for v in value):
            for number, step in enumerate(value, start=1):
                items += _http_step(f"{key} {number}", step)
        elif isinstance(value, dict) and any(_is_document(str(k), v) for k, v in value.items()):
            items += _http_step(key, value)
        else:
            items.append((key, pretty(value, key=key)))
    return items


def json_default(value: Any) -> Any:
    """For json.dump: evidence may hold bytes, sets or odd objects; a report never fails on them."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    return str(value)
