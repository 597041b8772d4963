"""Raw signatures over octets for XML-DSig SignatureValue and the Redirect binding's query
signature: RSA PKCS#1 v1.5, and ECDSA encoded as r || s (RFC 4051), not DER."""

from __future__ import annotations

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from ..keys import KeyPair

_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "rsa-sha1": hashes.SHA1,
    "rsa-sha256": hashes.SHA256,
    "rsa-sha512": hashes.SHA512,
    "ecdsa-sha256": hashes.SHA256,
    "ecdsa-sha512": hashes.SHA512,
}


def sign_octets(octets: bytes, key_pair: KeyPair, algorithm: str) -> bytes:
    hash_type = _HASHES[algorithm]
    key = key_pair.private_key
    if isinstance(key, rsa.RSAPrivateKey):
        if not algorithm.startswith("rsa"):
            raise ValueError(f"{algorithm} needs an EC key")
        return key.sign(octets, padding.PKCS1v15(), hash_type())
    if not algorithm.startswith("ecdsa"):
        raise ValueError(f"{algorithm} needs an RSA key")
    # XML-DSig (RFC 4051) carries ECDSA signatures as r || s, not DER.
    r, s = decode_dss_signature(key.sign(octets, ec.ECDSA(hash_type())))
    size = (key.curve.key_size + 7) // 8
    return r.to_bytes(size, "big") + s.to_bytes(size, "big")


def verify_octets(
    octets: bytes, signature: bytes, certificate: x509.Certificate, algorithm: str
) -> bool:
    hash_type = _HASHES[algorithm]
    public_key = certificate.public_key()
    try:
        if isinstance(public_key, rsa.RSAPublicKey) and algorithm.startswith("rsa"):
            public_key.verify(signature, octets, padding.PKCS1v15(), hash_type())
            return True
        if isinstance(public_key, ec.EllipticCurvePublicKey) and algorithm.startswith("ecdsa"):
            size = (public_key.curve.key_size + 7) // 8
            if len(signature) != 2 * size:
                return False
            der = encode_dss_signature(
                int.from_bytes(signature[:size], "big"), int.from_bytes(signature[size:], "big")
            )
            public_key.verify(der, octets, ec.ECDSA(hash_type()))
            return True
    except InvalidSignature:
        return False
    return False
