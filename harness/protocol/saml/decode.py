"""Recognise a SAML message however it was pasted: XML, base64 (HTTP-POST), DEFLATE+base64
(HTTP-Redirect), a query string or a whole URL carrying SAMLRequest/SAMLResponse, or an HTML
form. Used by ``sso-harness decode`` and the journal; never trusts the input."""

from __future__ import annotations

import base64
import binascii
import html
import re
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from lxml import etree

from ..xml import parse_xml
from .bindings import inflate_base64
from .errors import BindingError

_FORM_FIELD = re.compile(r'name="(SAMLRequest|SAMLResponse)"\s+value="([^"]*)"')


@dataclass(frozen=True)
class DecodedMessage:
    kind: str  # the root element's local name: AuthnRequest, Response, LogoutRequest...
    xml: bytes
    encoding: str  # xml, base64, deflate+base64
    relay_state: str | None = None


def _from_value(value: str) -> tuple[bytes, str]:
    compact = "".join(value.split())
    try:
        raw = base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise BindingError("bad-base64", "neither XML nor base64", "SAML-BIND-3.5.4") from exc
    if raw.lstrip().startswith(b"<"):
        return raw, "base64"
    return inflate_base64(compact), "deflate+base64"


def decode_message(data: bytes | str) -> DecodedMessage:
    """Decode ``data``; raise SAMLError (with a rule) when it is not a SAML message."""
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    text = text.strip()
    relay_state: str | None = None
    if text.startswith("<") and "<form" in text.lower():
        match = _FORM_FIELD.search(text)
        if match is None:
            raise BindingError("no-message", "the HTML has no SAML form field", "SAML-BIND-3.5.4")
        relay = re.search(r'name="RelayState"\s+value="([^"]*)"', text)
        relay_state = html.unescape(relay.group(1)) if relay else None
        xml, encoding = _from_value(html.unescape(match.group(2)))
    elif text.startswith("<"):
        xml, encoding = text.encode("utf-8"), "xml"
    elif "SAMLRequest=" in text or "SAMLResponse=" in text:
        query = urlsplit(text).query if "://" in text else text.lstrip("?")
        params = parse_qs(query, keep_blank_values=True)
        value = (params.get("SAMLRequest") or params.get("SAMLResponse") or [""])[0]
        relay_states = params.get("RelayState")
        relay_state = relay_states[0] if relay_states else None
        xml, encoding = _from_value(value)
    else:
        xml, encoding = _from_value(text)
    root = parse_xml(xml)  # hostile XML: an XMLSecurityError, a Refusal like SAMLError
    return DecodedMessage(etree.QName(root).localname, xml, encoding, relay_state)
