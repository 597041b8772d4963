"""A one-comparison filter's shape known from its text (``reference_sp.scim.filter_shapes``):
for any sequence of filters, each gives the shape and literals, or the refusal, that parsing it
in full gives; the full parse is skipped once a path and operator are known, never for a
dateTime attribute, whose strings are checked."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from harness.protocol.scim import errors
from harness.protocol.scim.schema import ResourceType, resource_type_named
from reference_sp.scim.filter_shapes import KnownShapes
from reference_sp.scim.query import _parsed_shape


def _type(name: str) -> ResourceType:
    found = resource_type_named(name)
    assert found is not None
    return found


USERS, GROUPS = _type("User"), _type("Group")

PATHS = [
    "userName",
    "USERNAME",
    "externalId",
    "displayName",
    "title",
    "emails.value",
    "emails",
    "name.givenName",
    "meta.lastModified",
    "active",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
    "members.value",
    "nosuch",
    "user-Name",
]
OPS = ["eq", "EQ", "Eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le", "pr", "xx"]
SPACES = st.text(alphabet=" \t\r\n\u00a0", min_size=0, max_size=2)
STRINGS = st.one_of(
    st.text(max_size=12),
    st.text(alphabet=" \tab\u00e9", max_size=4),
    st.sampled_from(["", "shape", "other", "2020-01-01T00:00:00Z", 'a"b', "a\\nb", "é€😀"]),
)


@st.composite
def filters(draw: st.DrawFn, path: str, op: str) -> str:
    before, middle, after, end = (draw(SPACES) for _ in range(4))
    string = draw(STRINGS)
    quoted = draw(st.sampled_from([f'"{string}"', f'"{string}"', f'"{string}', string, "12"]))
    return f"{before}{path}{middle or ' '}{op}{after or ' '}{quoted}{end}"


@st.composite
def sequences(draw: st.DrawFn) -> list[tuple[str, ResourceType]]:
    """Filters on two paths and operators at most, so that most meet a known shape."""
    pairs = draw(
        st.lists(st.tuples(st.sampled_from(PATHS), st.sampled_from(OPS)), min_size=1, max_size=2)
    )
    rt = draw(st.sampled_from([USERS, GROUPS]))
    picks = draw(st.lists(st.sampled_from(pairs), min_size=1, max_size=8))
    return [(draw(filters(path, op)), rt) for path, op in picks]


def _full(text: str, rt: ResourceType) -> tuple[Any, ...]:
    values: list[Any] = []
    try:
        return ("shape", _parsed_shape(text, rt, values), values)
    except errors.ScimError as exc:
        return ("refused", exc.status, exc.scim_type, str(exc))


def _known(shapes: KnownShapes, text: str, rt: ResourceType) -> tuple[Any, ...]:
    values: list[Any] = []
    try:
        return ("shape", shapes.shape(text, rt, _parsed_shape, values), values)
    except errors.ScimError as exc:
        return ("refused", exc.status, exc.scim_type, str(exc))


@settings(max_examples=300, deadline=None)
@given(sequences())
@example([('userName eq "x"', USERS), ('userName eq "a\\nb"', USERS)])  # an escape
@example([('userName eq "x"', USERS), ('userName\u00a0eq "y"', USERS)])  # not the parser's space
@example([('title co "x"', USERS), ('title co " y "', USERS)])  # spaces kept
def test_every_filter_gets_what_the_full_parse_gives(sequence: list[tuple[str, Any]]) -> None:
    shapes = KnownShapes()
    for text, rt in sequence:
        assert _known(shapes, text, rt) == _full(text, rt), text


def _counting() -> tuple[list[str], Any]:
    parsed: list[str] = []

    def parametrise(text: str, rt: ResourceType, values: list[Any]) -> Any:
        parsed.append(text)
        return _parsed_shape(text, rt, values)

    return parsed, parametrise


def test_a_known_path_and_operator_are_not_parsed_again() -> None:
    shapes = KnownShapes()
    parsed, parametrise = _counting()
    for name in ("a@example.com", "b@example.com", "c@example.com"):
        values: list[Any] = []
        shapes.shape(f'userName eq "{name}"', USERS, parametrise, values)
        assert values == [name]
    # The first parsed, and checked with another string; the rest known.
    assert parsed == ['userName eq "a@example.com"', 'userName eq "shape"']


def test_a_datetime_attribute_is_parsed_every_time() -> None:
    shapes = KnownShapes()
    values: list[Any] = []
    shapes.shape('meta.lastModified gt "2020-01-01T00:00:00Z"', USERS, _parsed_shape, values)
    with pytest.raises(errors.ScimError, match="xsd:dateTime"):
        shapes.shape('meta.lastModified gt "yesterday"', USERS, _parsed_shape, [])


def test_a_filter_too_long_is_refused_though_its_shape_is_known() -> None:
    shapes = KnownShapes()
    shapes.shape('userName eq "a@example.com"', USERS, _parsed_shape, [])
    with pytest.raises(errors.ScimError, match="longer than 4096"):
        shapes.shape(f'userName eq "{"x" * 5000}"', USERS, _parsed_shape, [])
