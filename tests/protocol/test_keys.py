import datetime as dt
import random
from pathlib import Path

import pytest

from harness.protocol.keys import (
    KeyLoadError,
    certificate_base64,
    fingerprint,
    generate_key_pair,
    load_certificate,
    load_key_pair,
    same_certificate,
)

KEYS = Path(__file__).parent.parent / "samples" / "saml" / "keys"
NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def test_loads_sample_pair_and_round_trips_certificate_forms() -> None:
    pair = load_key_pair((KEYS / "idp.key").read_bytes(), (KEYS / "idp.crt").read_bytes())
    assert pair.key_type == "rsa"
    b64 = certificate_base64(pair.certificate)
    assert same_certificate(load_certificate(b64), pair.certificate)
    assert same_certificate(load_certificate(pair.certificate_pem()), pair.certificate)


def test_refuses_mismatched_pair() -> None:
    with pytest.raises(KeyLoadError, match="does not belong"):
        load_key_pair((KEYS / "idp.key").read_bytes(), (KEYS / "sp.crt").read_bytes())


def test_refuses_garbage() -> None:
    with pytest.raises(KeyLoadError):
        load_certificate("not a certificate")


@pytest.mark.parametrize("key_type", ["rsa", "ec"])
def test_generates_self_signed_pairs(key_type: str) -> None:
    pair = generate_key_pair("idp.test", now=NOW, key_type=key_type, rng=random.Random(1))  # type: ignore[arg-type]
    assert pair.key_type == key_type
    assert pair.certificate.not_valid_before_utc < NOW < pair.certificate.not_valid_after_utc
    reloaded = load_key_pair(pair.private_key_pem(), pair.certificate_pem())
    assert same_certificate(reloaded.certificate, pair.certificate)


def test_fingerprint_format() -> None:
    cert = load_certificate((KEYS / "idp.crt").read_bytes())
    value = fingerprint(cert)
    assert len(value.split(":")) == 32
    assert value == value.upper()
    assert len(fingerprint(cert, "sha1").split(":")) == 20


def test_a_broken_rsa_key_from_elsewhere_is_refused_and_only_our_own_skips_the_check() -> None:
    """A key whose CRT parameter is wrong signs wrongly and can leak its factors: refused when
    loaded from a user's file; the keys the tool generated itself load without OpenSSL's check."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    pair = load_key_pair((KEYS / "idp.key").read_bytes(), (KEYS / "idp.crt").read_bytes())
    assert isinstance(pair.private_key, rsa.RSAPrivateKey)
    numbers = pair.private_key.private_numbers()
    broken = rsa.RSAPrivateNumbers(
        numbers.p,
        numbers.q,
        numbers.d,
        numbers.dmp1 + 2,
        numbers.dmq1,
        numbers.iqmp,
        numbers.public_numbers,
    ).private_key(unsafe_skip_rsa_key_validation=True)
    pem = broken.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    certificate = (KEYS / "idp.crt").read_bytes()
    with pytest.raises(KeyLoadError, match="cannot load private key"):
        load_key_pair(pem, certificate)
    assert load_key_pair(pem, certificate, generated_here=True).certificate == pair.certificate
