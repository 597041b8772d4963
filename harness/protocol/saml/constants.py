"""SAML 2.0 namespaces and URIs (SAML Core, Bindings, Metadata; XML-DSig; XML-Enc)."""

from __future__ import annotations

from typing import Final

SAMLP: Final = "urn:oasis:names:tc:SAML:2.0:protocol"
SAML: Final = "urn:oasis:names:tc:SAML:2.0:assertion"
MD: Final = "urn:oasis:names:tc:SAML:2.0:metadata"
DS: Final = "http://www.w3.org/2000/09/xmldsig#"
XENC: Final = "http://www.w3.org/2001/04/xmlenc#"
XENC11: Final = "http://www.w3.org/2009/xmlenc11#"
XS: Final = "http://www.w3.org/2001/XMLSchema"
XSI: Final = "http://www.w3.org/2001/XMLSchema-instance"

NSMAP: Final = {
    "samlp": SAMLP,
    "saml": SAML,
    "md": MD,
    "ds": DS,
    "xenc": XENC,
    "xenc11": XENC11,
    "xs": XS,
    "xsi": XSI,
}


def q(namespace: str, local: str) -> str:
    """Clark notation ``{ns}local`` for lxml."""
    return f"{{{namespace}}}{local}"


VERSION: Final = "2.0"

# Bindings (SAML Bindings 3.4, 3.5)
BINDING_HTTP_REDIRECT: Final = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
BINDING_HTTP_POST: Final = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
BINDING_HTTP_ARTIFACT: Final = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Artifact"
BINDING_SOAP: Final = "urn:oasis:names:tc:SAML:2.0:bindings:SOAP"
DEFLATE_ENCODING: Final = "urn:oasis:names:tc:SAML:2.0:bindings:URL-Encoding:DEFLATE"

# NameID formats (SAML Core 8.3)
NAMEID_UNSPECIFIED: Final = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"
NAMEID_EMAIL: Final = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
NAMEID_PERSISTENT: Final = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
NAMEID_TRANSIENT: Final = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient"
NAMEID_ENTITY: Final = "urn:oasis:names:tc:SAML:2.0:nameid-format:entity"
NAMEID_FORMATS: Final = (NAMEID_EMAIL, NAMEID_PERSISTENT, NAMEID_TRANSIENT, NAMEID_UNSPECIFIED)

# Attribute name formats (SAML Core 8.2)
ATTRNAME_BASIC: Final = "urn:oasis:names:tc:SAML:2.0:attrname-format:basic"
ATTRNAME_URI: Final = "urn:oasis:names:tc:SAML:2.0:attrname-format:uri"
ATTRNAME_UNSPECIFIED: Final = "urn:oasis:names:tc:SAML:2.0:attrname-format:unspecified"

# Subject confirmation (SAML Profiles 3.3)
CM_BEARER: Final = "urn:oasis:names:tc:SAML:2.0:cm:bearer"
CM_SENDER_VOUCHES: Final = "urn:oasis:names:tc:SAML:2.0:cm:sender-vouches"

# Authentication context classes (SAML AuthnContext 3.4)
AC_PASSWORD_PROTECTED: Final = "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"  # noqa: S105
AC_PASSWORD: Final = "urn:oasis:names:tc:SAML:2.0:ac:classes:Password"  # noqa: S105
AC_UNSPECIFIED: Final = "urn:oasis:names:tc:SAML:2.0:ac:classes:unspecified"

# Status codes (SAML Core 3.2.2.2)
STATUS_SUCCESS: Final = "urn:oasis:names:tc:SAML:2.0:status:Success"
STATUS_REQUESTER: Final = "urn:oasis:names:tc:SAML:2.0:status:Requester"
STATUS_RESPONDER: Final = "urn:oasis:names:tc:SAML:2.0:status:Responder"
STATUS_VERSION_MISMATCH: Final = "urn:oasis:names:tc:SAML:2.0:status:VersionMismatch"
STATUS_AUTHN_FAILED: Final = "urn:oasis:names:tc:SAML:2.0:status:AuthnFailed"
STATUS_NO_PASSIVE: Final = "urn:oasis:names:tc:SAML:2.0:status:NoPassive"
STATUS_INVALID_NAMEID_POLICY: Final = "urn:oasis:names:tc:SAML:2.0:status:InvalidNameIDPolicy"
STATUS_REQUEST_DENIED: Final = "urn:oasis:names:tc:SAML:2.0:status:RequestDenied"
STATUS_PARTIAL_LOGOUT: Final = "urn:oasis:names:tc:SAML:2.0:status:PartialLogout"

# Logout reasons (SAML Core 3.7.3)
LOGOUT_USER: Final = "urn:oasis:names:tc:SAML:2.0:logout:user"
LOGOUT_ADMIN: Final = "urn:oasis:names:tc:SAML:2.0:logout:admin"

# XML-DSig algorithms
C14N_EXCLUSIVE: Final = "http://www.w3.org/2001/10/xml-exc-c14n#"
TRANSFORM_ENVELOPED: Final = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
SIG_RSA_SHA1: Final = "http://www.w3.org/2000/09/xmldsig#rsa-sha1"
SIG_RSA_SHA256: Final = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
SIG_RSA_SHA512: Final = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512"
SIG_ECDSA_SHA256: Final = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"
SIG_ECDSA_SHA512: Final = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512"
DIGEST_SHA1: Final = "http://www.w3.org/2000/09/xmldsig#sha1"
DIGEST_SHA256: Final = "http://www.w3.org/2001/04/xmlenc#sha256"
DIGEST_SHA512: Final = "http://www.w3.org/2001/04/xmlenc#sha512"
# HMAC "signatures" are keyed with a shared secret: never what an IdP's metadata key makes.
SIG_HMAC_SHA1: Final = "http://www.w3.org/2000/09/xmldsig#hmac-sha1"
SIG_HMAC_SHA256: Final = "http://www.w3.org/2001/04/xmldsig-more#hmac-sha256"
SIG_HMAC_SHA512: Final = "http://www.w3.org/2001/04/xmldsig-more#hmac-sha512"
# xmlsec1's own KeyInfo child carrying an HMAC key (what CVE-2021-21239 let through).
XMLSEC: Final = "http://www.aleksey.com/xmlsec/2002"

# XML-Enc algorithms
ENC_AES128_CBC: Final = "http://www.w3.org/2001/04/xmlenc#aes128-cbc"
ENC_AES256_CBC: Final = "http://www.w3.org/2001/04/xmlenc#aes256-cbc"
ENC_AES128_GCM: Final = "http://www.w3.org/2009/xmlenc11#aes128-gcm"
ENC_AES256_GCM: Final = "http://www.w3.org/2009/xmlenc11#aes256-gcm"
KT_RSA_OAEP_MGF1P: Final = "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p"
KT_RSA_1_5: Final = "http://www.w3.org/2001/04/xmlenc#rsa-1_5"
ENC_TYPE_ELEMENT: Final = "http://www.w3.org/2001/04/xmlenc#Element"
STATUS_NO_AUTHN_CONTEXT: Final = "urn:oasis:names:tc:SAML:2.0:status:NoAuthnContext"
