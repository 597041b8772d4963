import base64
import zlib
from urllib.parse import quote

import pytest

from harness.protocol.keys import KeyPair
from harness.protocol.saml.bindings import (
    decode_post_value,
    decode_redirect_query,
    deflate_and_base64,
    encode_post_value,
    encode_redirect_query,
    inflate_base64,
    post_form_html,
    verify_redirect_signature,
)
from harness.protocol.saml.errors import BindingError, SignatureError

MESSAGE = b"<samlp:AuthnRequest xmlns:samlp='urn:oasis:names:tc:SAML:2.0:protocol'/>"


def test_deflate_round_trip() -> None:
    assert inflate_base64(deflate_and_base64(MESSAGE)) == MESSAGE


def test_deflate_bomb_is_bounded() -> None:
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    bomb = compressor.compress(b"\0" * 20_000_000) + compressor.flush()
    with pytest.raises(BindingError) as info:
        inflate_base64(base64.b64encode(bomb).decode(), max_bytes=1_000_000)
    assert info.value.reason == "too-large"


@pytest.mark.parametrize("value", ["!!!", "aGVsbG8"])
def test_bad_base64(value: str) -> None:
    with pytest.raises(BindingError):
        inflate_base64(value)


@pytest.mark.parametrize("algorithm", ["rsa-sha256", "rsa-sha1", "rsa-sha512"])
def test_signed_redirect_round_trip(idp_key: KeyPair, algorithm: str) -> None:
    query = encode_redirect_query(
        MESSAGE, relay_state="/after login?x=1&y", key_pair=idp_key, algorithm=algorithm
    )
    decoded = decode_redirect_query(query)
    assert decoded.message == MESSAGE
    assert decoded.relay_state == "/after login?x=1&y"
    assert verify_redirect_signature(decoded, [idp_key.certificate], allow_sha1=True)


def test_ecdsa_redirect(ec_key: KeyPair) -> None:
    query = encode_redirect_query(MESSAGE, key_pair=ec_key, algorithm="ecdsa-sha256")
    assert verify_redirect_signature(decode_redirect_query(query), [ec_key.certificate])


def test_signature_covers_raw_encoding(idp_key: KeyPair, attacker_key: KeyPair) -> None:
    query = encode_redirect_query(MESSAGE, relay_state="a", key_pair=idp_key)
    tampered = query.replace("RelayState=a", "RelayState=b")
    with pytest.raises(SignatureError):
        verify_redirect_signature(decode_redirect_query(tampered), [idp_key.certificate])
    with pytest.raises(SignatureError):
        verify_redirect_signature(decode_redirect_query(query), [attacker_key.certificate])


def test_sha1_query_signature_refused_by_default(idp_key: KeyPair) -> None:
    query = encode_redirect_query(MESSAGE, key_pair=idp_key, algorithm="rsa-sha1")
    with pytest.raises(SignatureError) as info:
        verify_redirect_signature(decode_redirect_query(query), [idp_key.certificate])
    assert info.value.rule == "SDP-ALG01"


def test_unsigned_query_and_missing_message() -> None:
    decoded = decode_redirect_query(encode_redirect_query(MESSAGE))
    assert not decoded.is_signed
    with pytest.raises(BindingError):
        decode_redirect_query("RelayState=x")
    both = f"SAMLRequest={quote(deflate_and_base64(MESSAGE))}&SAMLResponse=x"
    with pytest.raises(BindingError):
        decode_redirect_query(both)


def test_post_value_and_form() -> None:
    assert decode_post_value(encode_post_value(MESSAGE)) == MESSAGE
    html = post_form_html(
        "https://sp.test/acs?a=1&b=2", {"SAMLResponse": "abc", "RelayState": '"><x'}
    )
    assert 'action="https://sp.test/acs?a=1&amp;b=2"' in html
    assert "&quot;&gt;&lt;x" in html
    assert "document.forms[0].submit()" in html
