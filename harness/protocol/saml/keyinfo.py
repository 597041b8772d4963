"""The certificates a SAML message carries itself, in ds:KeyInfo.

Anyone can put a certificate there, so it proves a signature's integrity, never who signed:
``sso-harness decode`` checks against it when no trusted certificate is given, and the reference
SP's ``trust-keyinfo-cert`` flaw trusts it (Core 5.4.5 forbids that).
"""

from __future__ import annotations

from cryptography import x509

from ..keys import KeyLoadError, load_certificate
from ..xml import XMLSecurityError, parse_xml
from . import constants as c


def keyinfo_certificates(data: bytes) -> list[x509.Certificate]:
    """Every X509Certificate in the message that loads; none when the XML is refused."""
    try:
        root = parse_xml(data)
    except XMLSecurityError:
        return []
    found: list[x509.Certificate] = []
    for element in root.iter(c.q(c.DS, "X509Certificate")):
        try:
            found.append(load_certificate(element.text or ""))
        except KeyLoadError:
            continue
    return found
