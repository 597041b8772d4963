"""Typed failures of the SAML core: a reason code, the requirement broken, and who is at fault."""

from __future__ import annotations

from ..refusal import Refusal


class SAMLError(Refusal, ValueError):
    """A peer's message broke a rule.

    ``reason`` is a stable machine code (``bad-signature``, ``unknown-acs``...), ``rule`` the
    requirement id (``SAML-CORE-3.2.2``, ``SAML-BIND-3.4.4.1``...) so error pages and journals
    can say exactly which clause the message broke.
    """


class SignatureError(SAMLError):
    """A signature is missing, invalid, made with an untrusted key or a refused algorithm."""


class BindingError(SAMLError):
    """A binding's encoding (base64, DEFLATE, query signature, form) is broken."""


class MetadataError(SAMLError):
    """Metadata could not be understood."""


class EncryptionError(SAMLError):
    """An EncryptedAssertion could not be decrypted (one reason for every cause: no oracle)."""

    # What went wrong, for the SP's own logs: never told to the sender (it would be an oracle).
    cause: str = ""
