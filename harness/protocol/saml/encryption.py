"""EncryptedAssertion (SAML Core 2.3.4, 6.2) with XML Encryption 1.1, written with the
``cryptography`` primitives: AES-GCM or AES-CBC for the content, RSA-OAEP (MGF1-SHA1, the
``rsa-oaep-mgf1p`` URI every SAML stack knows) or RSA PKCS#1 v1.5 for the key.

Decryption is here too because the reference SP reuses it; every failure raises the same
EncryptionError so a caller cannot become a padding oracle (SP check E02).
"""

from __future__ import annotations

import base64
import binascii
import random
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import padding as symmetric_padding
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from lxml import etree

from ..keys import PrivateKey, certificate_base64
from ..xml import XMLSecurityError, parse_xml
from . import constants as c
from .errors import EncryptionError

BLOCK_ALGORITHMS: dict[str, tuple[str, int]] = {
    "aes128-gcm": (c.ENC_AES128_GCM, 16),
    "aes256-gcm": (c.ENC_AES256_GCM, 32),
    "aes128-cbc": (c.ENC_AES128_CBC, 16),
    "aes256-cbc": (c.ENC_AES256_CBC, 32),
}
KEY_TRANSPORTS: dict[str, str] = {"rsa-oaep": c.KT_RSA_OAEP_MGF1P, "rsa-1_5": c.KT_RSA_1_5}
_BLOCK_BY_URI = {uri: (name, size) for name, (uri, size) in BLOCK_ALGORITHMS.items()}
_TRANSPORT_BY_URI = {uri: name for name, uri in KEY_TRANSPORTS.items()}
_OAEP = padding.OAEP(mgf=padding.MGF1(hashes.SHA1()), algorithm=hashes.SHA1(), label=None)  # noqa: S303


@dataclass(frozen=True)
class EncryptionChoice:
    block: str = "aes256-gcm"
    transport: str = "rsa-oaep"

    def __post_init__(self) -> None:
        if self.block not in BLOCK_ALGORITHMS:
            raise ValueError(f"unknown block algorithm {self.block!r}")
        if self.transport not in KEY_TRANSPORTS:
            raise ValueError(f"unknown key transport {self.transport!r}")


def _xenc(parent: etree._Element, tag: str, namespace: str = c.XENC) -> etree._Element:
    return etree.SubElement(parent, c.q(namespace, tag))


def _rsa_public_key(certificate: x509.Certificate) -> rsa.RSAPublicKey:
    key = certificate.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("assertions are encrypted to RSA keys only")
    return key


def encrypt_octets(
    plaintext: bytes, certificate: x509.Certificate, choice: EncryptionChoice, rng: random.Random
) -> tuple[bytes, bytes]:
    """The CipherValue of ``plaintext`` and of its content key wrapped for ``certificate``.

    The content key and IV come from ``rng`` (reproducible with a seed); RSA padding uses the
    system's randomness inside ``cryptography``, so the wrapped key differs between runs.
    """
    key_size = BLOCK_ALGORITHMS[choice.block][1]
    content_key = rng.randbytes(key_size)
    if choice.block.endswith("gcm"):
        nonce = rng.randbytes(12)
        # XML Encryption 1.1 section 5.2.4: IV || ciphertext || 128-bit tag.
        cipher_value = nonce + AESGCM(content_key).encrypt(nonce, plaintext, None)
    else:
        iv = rng.randbytes(16)
        padder = symmetric_padding.PKCS7(128).padder()
        padded = padder.update(plaintext) + padder.finalize()
        encryptor = Cipher(algorithms.AES(content_key), modes.CBC(iv)).encryptor()
        cipher_value = iv + encryptor.update(padded) + encryptor.finalize()
    public_key = _rsa_public_key(certificate)
    if choice.transport == "rsa-oaep":
        return cipher_value, public_key.encrypt(content_key, _OAEP)
    return cipher_value, public_key.encrypt(content_key, padding.PKCS1v15())


def encrypt_element(
    element: etree._Element,
    certificate: x509.Certificate,
    choice: EncryptionChoice,
    rng: random.Random,
    *,
    wrapper: str = "EncryptedAssertion",
) -> etree._Element:
    """Return ``<saml:{wrapper}>`` holding ``element`` encrypted to ``certificate`` (see
    :func:`encrypt_octets` for where the randomness comes from)."""
    block_uri = BLOCK_ALGORITHMS[choice.block][0]
    cipher_value, wrapped_key = encrypt_octets(
        etree.tostring(element, encoding="utf-8"), certificate, choice, rng
    )
    outer = etree.Element(c.q(c.SAML, wrapper), nsmap={"saml": c.SAML})
    data = etree.SubElement(outer, c.q(c.XENC, "EncryptedData"), nsmap={"xenc": c.XENC, "ds": c.DS})
    data.set("Type", c.ENC_TYPE_ELEMENT)
    _xenc(data, "EncryptionMethod").set("Algorithm", block_uri)
    key_info = etree.SubElement(data, c.q(c.DS, "KeyInfo"))
    encrypted_key = _xenc(key_info, "EncryptedKey")
    method = _xenc(encrypted_key, "EncryptionMethod")
    method.set("Algorithm", KEY_TRANSPORTS[choice.transport])
    if choice.transport == "rsa-oaep":
        etree.SubElement(method, c.q(c.DS, "DigestMethod")).set("Algorithm", c.DIGEST_SHA1)
    recipient_info = etree.SubElement(encrypted_key, c.q(c.DS, "KeyInfo"))
    x509_data = etree.SubElement(recipient_info, c.q(c.DS, "X509Data"))
    etree.SubElement(x509_data, c.q(c.DS, "X509Certificate")).text = certificate_base64(certificate)
    key_cipher = _xenc(encrypted_key, "CipherData")
    _xenc(key_cipher, "CipherValue").text = base64.b64encode(wrapped_key).decode("ascii")
    cipher_data = _xenc(data, "CipherData")
    _xenc(cipher_data, "CipherValue").text = base64.b64encode(cipher_value).decode("ascii")
    return outer


@dataclass(frozen=True)
class Decrypted:
    element: etree._Element
    block_algorithm: str
    key_transport: str


def _fail(detail: str) -> EncryptionError:
    # One message for every cause: distinguishing padding from MAC errors builds an oracle.
    error = EncryptionError(
        "decryption-failed", "the encrypted element could not be decrypted", "SDP-SP10"
    )
    error.cause = detail
    return error


def _text(element: etree._Element | None) -> bytes:
    if element is None or not element.text:
        raise _fail("missing cipher value")
    try:
        return base64.b64decode("".join(element.text.split()), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise _fail("bad base64") from exc


def decrypt_element(
    encrypted: etree._Element,
    private_keys: Sequence[PrivateKey],
    *,
    allowed_blocks: Sequence[str] = tuple(BLOCK_ALGORITHMS),
    allowed_transports: Sequence[str] = tuple(KEY_TRANSPORTS),
) -> Decrypted:
    """Decrypt ``<saml:EncryptedAssertion>`` (or EncryptedID...) with any of ``private_keys``.

    The plaintext is parsed with the hardened parser.
    """
    data = encrypted.find(c.q(c.XENC, "EncryptedData"))
    if data is None:
        raise EncryptionError("no-encrypted-data", "no xenc:EncryptedData", "SAML-CORE-2.3.4")
    method = data.find(c.q(c.XENC, "EncryptionMethod"))
    block = _BLOCK_BY_URI.get(method.get("Algorithm", "") if method is not None else "")
    if block is None or block[0] not in allowed_blocks:
        raise EncryptionError(
            "refused-algorithm", "content encryption algorithm refused", "SDP-ALG01"
        )
    encrypted_key = data.find(f"{c.q(c.DS, 'KeyInfo')}/{c.q(c.XENC, 'EncryptedKey')}")
    if encrypted_key is None:
        # Some IdPs put EncryptedKey next to EncryptedData (SAML Core 6.2 allows both).
        encrypted_key = encrypted.find(c.q(c.XENC, "EncryptedKey"))
    if encrypted_key is None:
        raise EncryptionError("no-encrypted-key", "no xenc:EncryptedKey", "SAML-CORE-6.2")
    key_method = encrypted_key.find(c.q(c.XENC, "EncryptionMethod"))
    transport = _TRANSPORT_BY_URI.get(
        key_method.get("Algorithm", "") if key_method is not None else ""
    )
    if transport is None or transport not in allowed_transports:
        raise EncryptionError("refused-algorithm", "key transport algorithm refused", "IIP-ALG08")
    wrapped = _text(encrypted_key.find(f"{c.q(c.XENC, 'CipherData')}/{c.q(c.XENC, 'CipherValue')}"))
    cipher_value = _text(data.find(f"{c.q(c.XENC, 'CipherData')}/{c.q(c.XENC, 'CipherValue')}"))
    block_name, key_size = block
    plaintext: bytes | None = None
    for private_key in private_keys:
        if not isinstance(private_key, rsa.RSAPrivateKey):
            continue
        try:
            if transport == "rsa-oaep":
                content_key = private_key.decrypt(wrapped, _OAEP)
            else:
                content_key = private_key.decrypt(wrapped, padding.PKCS1v15())
            if len(content_key) != key_size:
                continue
            plaintext = _decrypt_content(block_name, content_key, cipher_value)
            break
        except ValueError:
            continue
    if plaintext is None:
        raise _fail("no key decrypted it")
    try:
        element = parse_xml(plaintext)
    except XMLSecurityError as exc:
        # The same refusal as a bad padding or key: telling "decrypted to garbage" apart from
        # "did not decrypt" is the oracle of Jager and Somorovsky's attack on XML Encryption.
        raise _fail(f"decrypted to what is not XML ({exc.reason})") from exc
    return Decrypted(element, block_name, transport)


def _decrypt_content(block: str, key: bytes, cipher_value: bytes) -> bytes:
    if block.endswith("gcm"):
        if len(cipher_value) < 12 + 16:
            raise ValueError("short")
        try:
            return AESGCM(key).decrypt(cipher_value[:12], cipher_value[12:], None)
        except Exception as exc:  # cryptography raises InvalidTag, not a ValueError
            raise ValueError("tag") from exc
    if len(cipher_value) < 32 or len(cipher_value) % 16:
        raise ValueError("length")
    decryptor = Cipher(algorithms.AES(key), modes.CBC(cipher_value[:16])).decryptor()
    padded = decryptor.update(cipher_value[16:]) + decryptor.finalize()
    # XML Encryption padding: only the last byte (the pad length) is defined.
    pad = padded[-1]
    if not 1 <= pad <= 16:
        raise ValueError("padding")
    return padded[:-pad]
