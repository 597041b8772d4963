"""HTTP-Redirect (SAML Bindings 3.4) and HTTP-POST (3.5) encodings, sans-IO.

Redirect: raw DEFLATE, base64, URL-encoded; a signature covers the URL-encoded octets
``SAMLRequest=..&RelayState=..&SigAlg=..`` exactly as sent (3.4.4.1), so the receiver verifies
against the raw query string, never a re-encoding of decoded values.
"""

from __future__ import annotations

import base64
import binascii
import html
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import quote, unquote_plus

from cryptography import x509

from ..keys import KeyPair
from ._crypto import sign_octets, verify_octets
from .errors import BindingError, SignatureError
from .signing import SIGNATURE_METHODS

MAX_MESSAGE_BYTES = 1_000_000
SAML_PARAMETERS = ("SAMLRequest", "SAMLResponse")

_NAME_BY_URI = {uri: name for name, uri in SIGNATURE_METHODS.items()}


@dataclass(frozen=True)
class RedirectMessage:
    """A decoded HTTP-Redirect message; ``signed_octets`` is what the signature covers."""

    parameter: str
    message: bytes
    relay_state: str | None
    sig_alg: str | None
    signature: bytes | None
    signed_octets: bytes | None

    @property
    def is_signed(self) -> bool:
        return self.signature is not None


# ------------------------------------------------------------------------------ DEFLATE


def deflate_and_base64(message: bytes) -> str:
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    return base64.b64encode(compressor.compress(message) + compressor.flush()).decode("ascii")


def inflate_base64(value: str, *, max_bytes: int = MAX_MESSAGE_BYTES) -> bytes:
    raw = _b64decode(value, "SAML-BIND-3.4.4.1")
    decompressor = zlib.decompressobj(-15)
    try:
        # max_length bounds memory: a DEFLATE bomb stops here instead of filling RAM.
        inflated = decompressor.decompress(raw, max_bytes + 1)
    except zlib.error as exc:
        raise BindingError(
            "bad-deflate", f"not raw DEFLATE data: {exc}", "SAML-BIND-3.4.4.1"
        ) from exc
    if len(inflated) > max_bytes or decompressor.unconsumed_tail:
        raise BindingError(
            "too-large", f"inflated message exceeds {max_bytes} bytes", "SAML-BIND-3.4.4.1"
        )
    return inflated


def _b64decode(value: str, rule: str = "SAML-BIND-3.5.4") -> bytes:
    compact = "".join(value.split())
    try:
        return base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise BindingError("bad-base64", "message is not valid base64", rule) from exc


# ------------------------------------------------------------------------- Redirect binding


def _quote(value: str) -> str:
    return quote(value, safe="")


def encode_redirect_query(
    message: bytes,
    *,
    parameter: str = "SAMLRequest",
    relay_state: str | None = None,
    key_pair: KeyPair | None = None,
    algorithm: str = "rsa-sha256",
) -> str:
    """The query string (without "?") carrying ``message``; signed when a key is given."""
    if parameter not in SAML_PARAMETERS:
        raise ValueError(f"parameter must be one of {SAML_PARAMETERS}")
    parts = [f"{parameter}={_quote(deflate_and_base64(message))}"]
    if relay_state is not None:
        parts.append(f"RelayState={_quote(relay_state)}")
    if key_pair is not None:
        parts.append(f"SigAlg={_quote(SIGNATURE_METHODS[algorithm])}")
        signature = sign_octets("&".join(parts).encode("ascii"), key_pair, algorithm)
        parts.append(f"Signature={_quote(base64.b64encode(signature).decode('ascii'))}")
    return "&".join(parts)


def redirect_url(location: str, query: str) -> str:
    return f"{location}{'&' if '?' in location else '?'}{query}"


def _raw_pairs(raw_query: str) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for piece in raw_query.split("&"):
        if not piece:
            continue
        name, _, value = piece.partition("=")
        pairs.append((unquote_plus(name), value))
    return pairs


def decode_redirect_query(raw_query: str, *, max_bytes: int = MAX_MESSAGE_BYTES) -> RedirectMessage:
    """Decode an HTTP-Redirect query string as received (still URL-encoded)."""
    if len(raw_query) > 4 * max_bytes:
        raise BindingError("too-large", "query string too long", "SAML-BIND-3.4.4.1")
    raw: dict[str, str] = {}
    for name, value in _raw_pairs(raw_query):
        if name in raw and name in (*SAML_PARAMETERS, "RelayState", "SigAlg", "Signature"):
            raise BindingError("duplicate-parameter", f"{name} appears twice", "SAML-BIND-3.4.4.1")
        raw[name] = value
    present = [p for p in SAML_PARAMETERS if p in raw]
    if len(present) != 1:
        raise BindingError(
            "no-message",
            "exactly one of SAMLRequest or SAMLResponse is required",
            "SAML-BIND-3.4.4.1",
        )
    parameter = present[0]
    encoding = raw.get("SAMLEncoding")
    if encoding is not None and unquote_plus(encoding) != (
        "urn:oasis:names:tc:SAML:2.0:bindings:URL-Encoding:DEFLATE"
    ):
        raise BindingError("bad-encoding", "unsupported SAMLEncoding", "SAML-BIND-3.4.4")
    message = inflate_base64(unquote_plus(raw[parameter]), max_bytes=max_bytes)
    relay_state = unquote_plus(raw["RelayState"]) if "RelayState" in raw else None
    sig_alg = unquote_plus(raw["SigAlg"]) if "SigAlg" in raw else None
    signature: bytes | None = None
    signed_octets: bytes | None = None
    if "Signature" in raw:
        if sig_alg is None:
            raise BindingError("no-sigalg", "Signature without SigAlg", "SAML-BIND-3.4.4.1")
        signature = _b64decode(unquote_plus(raw["Signature"]), "SAML-BIND-3.4.4.1")
        octet_parts = [f"{parameter}={raw[parameter]}"]
        if "RelayState" in raw:
            octet_parts.append(f"RelayState={raw['RelayState']}")
        octet_parts.append(f"SigAlg={raw['SigAlg']}")
        signed_octets = "&".join(octet_parts).encode("ascii", "replace")
    return RedirectMessage(parameter, message, relay_state, sig_alg, signature, signed_octets)


def verify_redirect_signature(
    message: RedirectMessage,
    trusted: Sequence[x509.Certificate],
    *,
    allow_sha1: bool = False,
) -> x509.Certificate:
    """The trusted certificate that verifies the query signature, else SignatureError."""
    if message.signature is None or message.signed_octets is None or message.sig_alg is None:
        raise SignatureError("unsigned", "the message carries no Signature", "SAML-BIND-3.4.4.1")
    algorithm = _NAME_BY_URI.get(message.sig_alg)
    if algorithm is None:
        raise SignatureError(
            "unsupported-algorithm",
            f"SigAlg {message.sig_alg} is not supported",
            "SAML-BIND-3.4.4.1",
        )
    if algorithm == "rsa-sha1" and not allow_sha1:
        raise SignatureError("weak-algorithm", "SHA-1 query signature", "SDP-ALG01")
    for certificate in trusted:
        if verify_octets(message.signed_octets, message.signature, certificate, algorithm):
            return certificate
    raise SignatureError(
        "bad-signature", "query signature does not verify with any trusted key", "SAML-BIND-3.4.4.1"
    )


# ----------------------------------------------------------------------------- POST binding


def encode_post_value(message: bytes) -> str:
    return base64.b64encode(message).decode("ascii")


def decode_post_value(value: str, *, max_bytes: int = MAX_MESSAGE_BYTES) -> bytes:
    if len(value) > (max_bytes * 4) // 3 + 4:
        raise BindingError("too-large", f"message exceeds {max_bytes} bytes", "SAML-BIND-3.5.4")
    return _b64decode(value)


def post_form_html(action: str, fields: Mapping[str, str], *, title: str = "Continue") -> str:
    """The auto-submitting form of Bindings 3.5.4, with a button for browsers without script."""
    inputs = "\n".join(
        f'    <input type="hidden" name="{html.escape(name)}" value="{html.escape(value)}"/>'
        for name, value in fields.items()
    )
    return (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>'
        f"{html.escape(title)}</title></head>\n"
        '<body onload="document.forms[0].submit()">\n'
        f'  <form method="post" action="{html.escape(action)}">\n{inputs}\n'
        '    <noscript><button type="submit">Continue</button></noscript>\n'
        "  </form>\n</body></html>\n"
    )
