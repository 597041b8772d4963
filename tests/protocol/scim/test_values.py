"""Attribute values checked and normalised against their definitions (RFC 7643 §2.3-2.5)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.protocol.scim.deviations import Deviation
from harness.protocol.scim.errors import ScimError
from harness.protocol.scim.schema import GROUP_RESOURCE, USER_RESOURCE, Attribute
from harness.protocol.scim.values import coerce


def attr(name: str) -> Attribute:
    resolved = USER_RESOURCE.resolve(name) or GROUP_RESOURCE.resolve(name)
    assert resolved is not None
    return resolved.attribute


def ok(attribute: Attribute, value: Any) -> tuple[Any, list[Deviation]]:
    deviations: list[Deviation] = []
    return coerce(attribute, value, attribute.name, deviations), deviations


def bad(attribute: Attribute, value: Any, words: str) -> None:
    with pytest.raises(ScimError) as caught:
        coerce(attribute, value, attribute.name, [])
    assert caught.value.status == 400
    assert caught.value.scim_type == "invalidValue"
    assert words in caught.value.detail


INTEGER = Attribute("count", type="integer")
DECIMAL = Attribute("ratio", type="decimal")
DATETIME = Attribute("when", type="dateTime")
BINARY = Attribute("blob", type="binary")


def test_null_and_empty_mean_unassigned() -> None:
    assert ok(attr("title"), None) == (None, [])
    assert ok(attr("emails"), []) == (None, [])
    assert ok(attr("name"), {"givenName": None}) == (None, [])
    assert ok(attr("emails"), [{"value": None}]) == (None, [])


def test_strings_and_references() -> None:
    assert ok(attr("title"), "") == ("", [])
    assert ok(attr("profileUrl"), "https://x") == ("https://x", [])
    bad(attr("title"), 5, "title must be a string, not a number")
    bad(attr("title"), ["a"], "not an array")


def test_booleans_and_entra_strings() -> None:
    assert ok(attr("active"), False) == (False, [])
    for text, expected in (("True", True), ("False", False), ("true", True), ("false", False)):
        value, deviations = ok(attr("active"), text)
        assert value is expected
        assert [d.code for d in deviations] == ["boolean-as-string"]
        assert deviations[0].rule == "RFC7643-2.3.2"
    bad(attr("active"), "yes", "true or false")
    bad(attr("active"), 1, "true or false")


def test_numbers() -> None:
    assert ok(INTEGER, 3) == (3, [])
    assert ok(INTEGER, 3.0) == (3, [])
    bad(INTEGER, 3.5, "integer")
    bad(INTEGER, True, "integer, not a boolean")
    bad(INTEGER, "3", "integer, not a string")
    assert ok(DECIMAL, 2) == (2.0, [])
    bad(DECIMAL, False, "number")


def test_datetimes_normalise_to_utc() -> None:
    assert ok(DATETIME, "2011-05-13T06:42:34+02:00")[0] == "2011-05-13T04:42:34Z"
    assert ok(DATETIME, "2011-05-13T04:42:34.5000000Z")[0] == "2011-05-13T04:42:34.5Z"
    assert ok(DATETIME, "2011-05-13T04:42:34")[0] == "2011-05-13T04:42:34Z"
    for text in ("2011-05-13", "yesterday", "2011-13-01T00:00:00Z", "2011-05-13T04:42:34+25:00"):
        bad(DATETIME, text, "xsd:dateTime")


def test_binary_is_base64() -> None:
    assert ok(BINARY, "TUlJ\nRA==") == ("TUlJ\nRA==", [])
    bad(BINARY, "not base64!", "base64")


def test_complex_values_are_canonicalised() -> None:
    assert ok(attr("name"), {"GIVENNAME": "Babs", "familyName": None}) == (
        {"givenName": "Babs"},
        [],
    )
    bad(attr("name"), {"nick": "x"}, "name has no sub-attribute 'nick'")
    bad(attr("name"), {"givenName": "a", "GivenName": "b"}, "given twice")
    bad(attr("name"), "Babs", "JSON object")


def test_multi_valued_needs_a_list_and_one_primary() -> None:
    emails = [{"value": "a@x", "primary": True}, {"value": "b@x", "primary": "False"}]
    value, deviations = ok(attr("emails"), emails)
    assert value == [{"value": "a@x", "primary": True}, {"value": "b@x", "primary": False}]
    assert [d.code for d in deviations] == ["boolean-as-string"]
    bad(attr("emails"), {"value": "a@x"}, "multi-valued")
    bad(attr("emails"), [None], "emails[0] is null")
    bad(attr("emails"), [{"value": 1}], "emails[0].value must be a string")
    bad(
        attr("emails"),
        [{"value": "a", "primary": True}, {"value": "b", "primary": True}],
        "2 values marked primary",
    )


def test_entra_member_with_null_ref() -> None:
    members = [{"$ref": None, "value": "u1"}]
    assert ok(attr("members"), members) == ([{"value": "u1"}], [])


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
        lambda inner: (
            st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
        ),
        max_leaves=8,
    )
)
def test_any_json_is_coerced_or_refused_with_invalid_value(value: Any) -> None:
    for name in ("userName", "active", "emails", "name", "members", "x509Certificates"):
        for attribute in (attr(name), INTEGER, DECIMAL, DATETIME):
            try:
                coerce(attribute, value, attribute.name, [])
            except ScimError as error:
                assert error.scim_type == "invalidValue"


def test_lone_surrogates_are_refused() -> None:
    bad(attr("title"), "a\ud800", "surrogate")
