"""Keys and certificates, loaded once as objects.

Parsing a PEM RSA key costs tens of milliseconds and a signature about one, so callers load a
:class:`KeyPair` at start-up and hand the objects around; nothing here is meant per request.
"""

from __future__ import annotations

import base64
import datetime as dt
import random
from dataclasses import dataclass
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey
KeyType = Literal["rsa", "ec"]


class KeyLoadError(ValueError):
    """A key or certificate could not be loaded; the message says why."""


@dataclass(frozen=True)
class KeyPair:
    """A private key with its certificate, both as loaded objects."""

    private_key: PrivateKey
    certificate: x509.Certificate

    @property
    def key_type(self) -> KeyType:
        return "ec" if isinstance(self.private_key, ec.EllipticCurvePrivateKey) else "rsa"

    def private_key_pem(self) -> bytes:
        return self.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    def certificate_pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)


def generate_key_pair(
    common_name: str,
    *,
    now: dt.datetime,
    key_type: KeyType = "rsa",
    rsa_bits: int = 2048,
    valid_days: int = 3650,
    rng: random.Random | None = None,
) -> KeyPair:
    """A new self-signed key pair (RSA or EC P-256), valid from ``now`` for ``valid_days``."""
    private_key: PrivateKey
    if key_type == "rsa":
        private_key = rsa.generate_private_key(public_exponent=65537, key_size=rsa_bits)
    else:
        private_key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    serial = (rng or random.Random()).getrandbits(64) | 1
    not_before = now.replace(microsecond=0) - dt.timedelta(days=1)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private_key.public_key())
        .serial_number(serial)
        .not_valid_before(not_before)
        .not_valid_after(not_before + dt.timedelta(days=valid_days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(private_key, hashes.SHA256())
    )
    return KeyPair(private_key, certificate)


def load_private_key(
    pem: bytes, password: bytes | None = None, *, generated_here: bool = False
) -> PrivateKey:
    """``generated_here``: a key this tool generated and keeps in its data directory, checked
    when it was made; OpenSSL's check of an RSA key costs 30 ms a load, which a run paid five
    times. A key from anywhere else is checked (a broken one can leak itself in signatures)."""
    try:
        key = serialization.load_pem_private_key(
            pem, password=password, unsafe_skip_rsa_key_validation=generated_here
        )
    except (ValueError, TypeError) as exc:
        raise KeyLoadError(f"cannot load private key: {exc}") from exc
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise KeyLoadError(f"unsupported private key type {type(key).__name__}; use RSA or EC")
    return key


def load_certificate(data: bytes | str) -> x509.Certificate:
    """A certificate from PEM, DER, or the bare base64 found in SAML metadata and KeyInfo."""
    raw = data.encode("ascii") if isinstance(data, str) else data
    try:
        if b"-----BEGIN" in raw:
            return x509.load_pem_x509_certificate(raw)
        if raw[:1] == b"\x30":
            return x509.load_der_x509_certificate(raw)
        return x509.load_der_x509_certificate(
            base64.b64decode(b"".join(raw.split()), validate=True)
        )
    except (ValueError, TypeError) as exc:
        raise KeyLoadError(f"cannot load certificate: {exc}") from exc


def load_key_pair(
    key_pem: bytes,
    cert_pem: bytes,
    password: bytes | None = None,
    *,
    generated_here: bool = False,
) -> KeyPair:
    private_key = load_private_key(key_pem, password, generated_here=generated_here)
    certificate = load_certificate(cert_pem)
    if public_key_der(private_key.public_key()) != public_key_der(certificate.public_key()):
        raise KeyLoadError("the certificate does not belong to the private key")
    return KeyPair(private_key, certificate)


def public_key_der(key: object) -> bytes:
    if not isinstance(key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey):
        raise KeyLoadError(f"unsupported public key type {type(key).__name__}")
    return key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def certificate_base64(certificate: x509.Certificate) -> str:
    """The DER certificate in base64, as ds:X509Certificate carries it."""
    return base64.b64encode(certificate.public_bytes(serialization.Encoding.DER)).decode("ascii")


def fingerprint(
    certificate: x509.Certificate, algorithm: Literal["sha256", "sha1"] = "sha256"
) -> str:
    """Colon-separated upper-case hex, the way IdP admin consoles show it."""
    digest = certificate.fingerprint(hashes.SHA256() if algorithm == "sha256" else hashes.SHA1())  # noqa: S303
    return ":".join(f"{byte:02X}" for byte in digest)


def same_certificate(a: x509.Certificate, b: x509.Certificate) -> bool:
    return a.public_bytes(serialization.Encoding.DER) == b.public_bytes(serialization.Encoding.DER)
