import pytest

from harness.protocol.xml import XMLSecurityError, parse_xml, to_bytes


def test_parses_plain_xml_with_comments_and_cdata() -> None:
    root = parse_xml(b"<a><!-- note --><b><![CDATA[x<y]]></b></a>")
    assert root.find("b").text == "x<y"


@pytest.mark.parametrize(
    "payload",
    [
        b'<!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><a>&x;</a>',
        b'<!DOCTYPE a SYSTEM "http://127.0.0.1:9/evil.dtd"><a/>',
        b'<?xml version="1.0"?>\n<!doctype a><a/>',
        b'<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]><a>&lol2;</a>',
    ],
)
def test_refuses_any_document_type_declaration(payload: bytes) -> None:
    with pytest.raises(XMLSecurityError) as info:
        parse_xml(payload)
    assert info.value.reason == "doctype"
    assert info.value.rule == "SDP-G03"


def test_refuses_doctype_hidden_in_utf16() -> None:
    payload = '<!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>'.encode("utf-16")
    with pytest.raises(XMLSecurityError) as info:
        parse_xml(payload)
    assert info.value.reason == "doctype"


def test_refuses_oversized_input() -> None:
    with pytest.raises(XMLSecurityError) as info:
        parse_xml(b"<a>" + b"x" * 2000 + b"</a>", max_bytes=1000)
    assert info.value.reason == "too-large"


def test_refuses_deep_nesting() -> None:
    payload = b"<a>" * 100 + b"</a>" * 100
    with pytest.raises(XMLSecurityError) as info:
        parse_xml(payload, max_depth=64)
    assert info.value.reason == "too-deep"


@pytest.mark.parametrize("payload", [b"", b"<a>", b"not xml", b"<a></b>"])
def test_malformed_input_is_a_typed_error(payload: bytes) -> None:
    with pytest.raises(XMLSecurityError) as info:
        parse_xml(payload)
    assert info.value.reason == "malformed"


def test_undeclared_entity_reference_is_malformed_not_resolved() -> None:
    with pytest.raises(XMLSecurityError):
        parse_xml(b"<a>&xxe;</a>")


def test_to_bytes_has_no_declaration() -> None:
    assert to_bytes(parse_xml(b"<a/>")) == b"<a/>"
