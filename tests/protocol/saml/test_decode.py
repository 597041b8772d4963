import pytest

from harness.protocol.refusal import Refusal
from harness.protocol.saml.bindings import (
    encode_post_value,
    encode_redirect_query,
    post_form_html,
)
from harness.protocol.saml.decode import decode_message

XML = b'<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_1"/>'


@pytest.mark.parametrize(
    ("data", "encoding", "relay_state"),
    [
        (XML, "xml", None),
        (encode_post_value(XML), "base64", None),
        (
            encode_redirect_query(XML, parameter="SAMLResponse", relay_state="/r"),
            "deflate+base64",
            "/r",
        ),
        (
            "https://sp.test/acs?" + encode_redirect_query(XML, parameter="SAMLResponse"),
            "deflate+base64",
            None,
        ),
        (
            post_form_html(
                "https://sp.test/acs", {"SAMLResponse": encode_post_value(XML), "RelayState": "a&b"}
            ),
            "base64",
            "a&b",
        ),
    ],
)
def test_every_shape(data: str | bytes, encoding: str, relay_state: str | None) -> None:
    decoded = decode_message(data)
    assert (decoded.kind, decoded.xml, decoded.encoding, decoded.relay_state) == (
        "Response",
        XML,
        encoding,
        relay_state,
    )


@pytest.mark.parametrize("data", ["", "not base64!", "<!DOCTYPE x><x/>", "SAMLRequest=%%%"])
def test_garbage_is_a_refusal(data: str) -> None:
    with pytest.raises(Refusal):
        decode_message(data)
