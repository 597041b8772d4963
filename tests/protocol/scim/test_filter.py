"""SCIM filters: RFC 7644 §3.4.2.2 grammar, printing, resolution and the reference evaluator."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.protocol.scim.errors import ScimError
from harness.protocol.scim.filter import (
    MAX_FILTER_DEPTH,
    MAX_FILTER_LENGTH,
    And,
    AttrPath,
    Compare,
    Filter,
    Not,
    Or,
    Present,
    ValuePath,
    evaluate,
    format_filter,
    parse_filter,
    resolve_filter,
)
from harness.protocol.scim.schema import (
    ENTERPRISE_USER_SCHEMA,
    GROUP_RESOURCE,
    USER_RESOURCE,
    USER_SCHEMA,
)
from tests.protocol.scim.strategies import filters, user_documents

ENT = ENTERPRISE_USER_SCHEMA

# RFC 7644 §3.4.2.2, the examples after table 4 (line breaks joined).
RFC_EXAMPLES = [
    'userName eq "bjensen"',
    'name.familyName co "O\'Malley"',
    'userName sw "J"',
    'urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J"',
    "title pr",
    'meta.lastModified gt "2011-05-13T04:42:34Z"',
    'meta.lastModified ge "2011-05-13T04:42:34Z"',
    'meta.lastModified lt "2011-05-13T04:42:34Z"',
    'meta.lastModified le "2011-05-13T04:42:34Z"',
    'title pr and userType eq "Employee"',
    'title pr or userType eq "Intern"',
    'schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"',
    'userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")',
    'userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")',
    'userType eq "Employee" and (emails.type eq "work")',
    'userType eq "Employee" and emails[type eq "work" and value co "@example.com"]',
    'emails[type eq "work" and value co "@example.com"] or '
    'ims[type eq "xmpp" and value co "@foo.com"]',
]


def p(text: str) -> Filter:
    return parse_filter(text)


def path(attr: str, sub: str | None = None, urn: str | None = None) -> AttrPath:
    return AttrPath(urn, attr, sub)


def invalid(text: str) -> ScimError:
    with pytest.raises(ScimError) as caught:
        parse_filter(text)
    assert caught.value.status == 400
    assert caught.value.scim_type == "invalidFilter"
    return caught.value


# --- parsing ----------------------------------------------------------------------------------


@pytest.mark.parametrize("text", RFC_EXAMPLES)
def test_rfc_examples_parse_resolve_and_round_trip(text: str) -> None:
    parsed = p(text)
    assert p(format_filter(parsed)) == parsed
    resolve_filter(parsed, USER_RESOURCE)


def test_and_binds_tighter_than_or_and_both_associate_left() -> None:
    a, b, c = Present(path("a")), Present(path("b")), Present(path("c"))
    assert p("a pr or b pr and c pr") == Or(a, And(b, c))
    assert p("a pr and b pr or c pr") == Or(And(a, b), c)
    assert p("a pr and b pr and c pr") == And(And(a, b), c)
    assert p("a pr and (b pr or c pr)") == And(a, Or(b, c))
    assert p("((a pr))") == a


def test_keywords_operators_and_literals_ignore_case() -> None:
    assert p('userName EQ "x" AND title Pr OR NOT (active Eq TRUE)') == Or(
        And(Compare(path("userName"), "eq", "x"), Present(path("title"))),
        Not(Compare(path("active"), "eq", True)),
    )


def test_not_with_or_without_space_errata_7319() -> None:
    assert p("not(title pr)") == p("not (title pr)") == Not(Present(path("title")))


def test_value_path_and_ref_sub_attribute() -> None:
    assert p('emails[type eq "work" and value co "@example.com"]') == ValuePath(
        path("emails"),
        And(Compare(path("type"), "eq", "work"), Compare(path("value"), "co", "@example.com")),
    )
    assert p('members[$ref eq "u"]') == ValuePath(path("members"), Compare(path("$ref"), "eq", "u"))
    assert p("members.$ref pr") == Present(path("members", "$ref"))


def test_value_filter_with_grouping_errata_7322() -> None:
    text = 'emails[type eq "work" or (type eq "home" and value ew "@example.com")]'
    assert isinstance(p(text), ValuePath)


def test_entra_value_path_with_sub_attribute_comparison() -> None:
    # Entra looks users up with emails[type eq "work"].value eq "x": the same element.
    assert p('emails[type eq "work"].value eq "a@x"') == ValuePath(
        path("emails"),
        And(Compare(path("type"), "eq", "work"), Compare(path("value"), "eq", "a@x")),
    )


def test_urn_paths_keep_dots_in_the_urn() -> None:
    assert p(f'{ENT}:employeeNumber eq "7"') == Compare(path("employeeNumber", urn=ENT), "eq", "7")
    assert p(f"{ENT}:manager.value pr") == Present(path("manager", "value", ENT))


@pytest.mark.parametrize(
    ("literal", "value"),
    [
        ('"a\\"b\\\\c\\u00e9\\n"', 'a"b\\c\u00e9\n'),
        ('""', ""),
        ("true", True),
        ("False", False),
        ("null", None),
        ("42", 42),
        ("-0", 0),
        ("1.5", 1.5),
        ("2e3", 2000.0),
        ("-1.25E-2", -0.0125),
    ],
)
def test_literals_are_json_values(literal: str, value: object) -> None:
    parsed = p(f"x eq {literal}")
    assert isinstance(parsed, Compare)
    assert parsed.value == value
    assert type(parsed.value) is type(value)


@pytest.mark.parametrize(
    ("text", "column", "words"),
    [
        ("", 1, "empty"),
        ("   ", 1, "empty"),
        ("userName", 9, "operator"),
        ('userName xx "a"', 10, "operator"),
        ("userName eq", 12, "value"),
        ("userName eq bjensen", 13, "value"),
        ("userName eq 'bjensen'", 13, "value"),
        ('userName eq "abc', 13, "unterminated"),
        ('userName eq "a\\qb"', 13, "string"),
        ('userName eq "a\tb"', 13, "string"),
        ("title pr and", 13, "end"),
        ('title pr userName eq "x"', 10, "unexpected"),
        ("(title pr", 10, "')'"),
        ("title pr)", 9, "unexpected"),
        ('not userName eq "x"', 1, "parentheses"),
        ('emails[type eq "work"', 22, "']'"),
        ('emails[value[type eq "x"]]', 13, "nested"),
        ('emails[urn:a:b:type eq "x"]', 8, "sub-attribute"),
        ('emails[name.value eq "x"]', 8, "sub-attribute"),
        ('emails.value[type eq "x"]', 13, "sub-attribute"),
        ('emails[type eq "x"].', 20, "subAttribute"),
        ("x.y.z pr", 1, "attribute path"),
        ("1abc pr", 1, "attribute path"),
        ("urn:x pr", 1, "URN"),
        ("x eq 1e999", 6, "range"),
        ("x eq 01", 6, "value"),
        ("[x pr]", 1, "attribute path"),
    ],
)
def test_syntax_errors_say_where_and_what(text: str, column: int, words: str) -> None:
    error = invalid(text)
    assert f"column {column}:" in error.detail
    assert words.lower() in error.detail.lower()


def test_hostile_input_is_refused_with_invalid_filter() -> None:
    assert "longer than" in invalid("a" * (MAX_FILTER_LENGTH + 1)).detail
    deep = "(" * (MAX_FILTER_DEPTH + 1) + "x pr" + ")" * (MAX_FILTER_DEPTH + 1)
    assert "deeper" in invalid(deep).detail
    assert "deeper" in invalid("not(" * 600 + "x pr" + ")" * 600).detail
    assert "comparisons" in invalid(" and ".join(["x pr"] * 101)).detail
    p("(" * MAX_FILTER_DEPTH + "x pr" + ")" * MAX_FILTER_DEPTH)  # the limit itself is fine
    long_chain = p(" or ".join(["x pr"] * 100))
    assert evaluate(
        resolve_filter(p(" or ".join(["title pr"] * 100)), USER_RESOURCE),
        {"title": "t"},
        USER_RESOURCE,
    )
    assert p(format_filter(long_chain)) == long_chain


@settings(max_examples=300)
@given(st.text(alphabet=' ()[]."\\:$aeqnotrpzu01-eEwsg', max_size=60))
def test_any_text_parses_or_raises_invalid_filter(text: str) -> None:
    try:
        parsed = parse_filter(text)
    except ScimError as error:
        assert error.scim_type == "invalidFilter"
    else:
        assert parse_filter(format_filter(parsed)) == parsed


@settings(max_examples=300)
@given(st.text(max_size=40))
def test_any_unicode_text_parses_or_raises_invalid_filter(text: str) -> None:
    try:
        parse_filter(text)
    except ScimError as error:
        assert error.scim_type == "invalidFilter"


# --- printing ---------------------------------------------------------------------------------

_names = st.one_of(st.from_regex(r"[A-Za-z][A-Za-z0-9_-]{0,6}", fullmatch=True), st.just("$ref"))
_urns = st.one_of(
    st.none(),
    st.sampled_from([USER_SCHEMA, ENT, "urn:x-y:Z.1:a"]),
)
_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(st.characters(exclude_characters="\x00", exclude_categories=("Cs",))),  # no NUL
)
_ops = st.sampled_from(("eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"))


def _any_filters(inner: bool) -> st.SearchStrategy[Filter]:
    """Syntactically valid filters over arbitrary names (not necessarily resolvable)."""
    paths = (
        st.builds(AttrPath, st.none(), _names, st.none())
        if inner
        else st.builds(AttrPath, _urns, _names, st.one_of(st.none(), _names))
    )
    leaves: st.SearchStrategy[Filter] = st.one_of(
        st.builds(Compare, paths, _ops, _values), st.builds(Present, paths)
    )
    if not inner:
        leaves = st.one_of(
            leaves,
            st.builds(ValuePath, st.builds(AttrPath, _urns, _names, st.none()), _any_filters(True)),
        )
    return st.recursive(
        leaves,
        lambda children: st.one_of(
            st.builds(And, children, children),
            st.builds(Or, children, children),
            st.builds(Not, children),
        ),
        max_leaves=8,
    )


@settings(max_examples=400)
@given(_any_filters(False))
def test_format_then_parse_gives_the_same_tree(f: Filter) -> None:
    assert parse_filter(format_filter(f)) == f


@settings(max_examples=200)
@given(filters(USER_RESOURCE))
def test_generated_user_filters_round_trip_and_resolve(f: Filter) -> None:
    assert parse_filter(format_filter(f)) == f
    resolved = resolve_filter(f, USER_RESOURCE)
    assert resolve_filter(resolved, USER_RESOURCE) == resolved  # canonical is a fixed point


@settings(max_examples=100)
@given(filters(GROUP_RESOURCE))
def test_generated_group_filters_resolve(f: Filter) -> None:
    resolve_filter(f, GROUP_RESOURCE)


def test_format_is_canonical() -> None:
    text = 'NOT  ( userName   EQ "x" )  AnD (a pr OR b pr)'
    assert format_filter(p(text)) == 'not (userName eq "x") and (a pr or b pr)'


# --- resolution -------------------------------------------------------------------------------


def r(text: str, rt: Any = USER_RESOURCE) -> Filter:
    return resolve_filter(parse_filter(text), rt)


def test_resolve_canonicalises_names_and_urns() -> None:
    assert r('USERNAME eq "x"') == Compare(path("userName"), "eq", "x")
    assert r(f'{USER_SCHEMA.upper()}:NAME.givenname eq "x"') == Compare(
        path("name", "givenName"), "eq", "x"
    )
    assert r(f'{ENT.lower()}:EMPLOYEENUMBER eq "7"') == Compare(
        path("employeeNumber", urn=ENT), "eq", "7"
    )
    assert r('EMAILS[TYPE eq "work" and Value pr]') == ValuePath(
        path("emails"), And(Compare(path("type"), "eq", "work"), Present(path("value")))
    )
    assert r('members[$REF eq "u"]', GROUP_RESOURCE) == ValuePath(
        path("members"), Compare(path("$ref"), "eq", "u")
    )
    assert r('meta.LASTMODIFIED gt "2011-05-13T06:42:34+02:00"') == Compare(
        path("meta", "lastModified"), "gt", "2011-05-13T04:42:34Z"
    )


def test_complex_multi_valued_comparison_means_its_value() -> None:
    assert r('emails co "example.com"') == Compare(path("emails", "value"), "co", "example.com")
    assert r("emails pr") == Present(path("emails"))
    assert r("name pr") == Present(path("name"))


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ('nickname2 eq "x"', "unknown attribute 'nickname2'"),
        ('name.first eq "x"', "no sub-attribute 'first'"),
        ('employeeNumber eq "7"', "unknown attribute"),  # extension attributes need their URN
        ('urn:example:ext:1.0:User:x eq "7"', "unknown schema"),
        ('emails[kind eq "x"]', "no sub-attribute 'kind'"),
        ('userName[value eq "x"]', "not a complex"),
        ('name eq "x"', "complex"),
        ("active gt true", "only eq, ne and pr"),
        ('active co "t"', "only eq, ne and pr"),
        ('active eq "true"', "true or false"),
        ("userName eq 1", "string"),
        ("userName eq true", "string"),
        ('meta.created co "2011"', "applies only to strings"),
        ('meta.created gt "yesterday"', "xsd:dateTime"),
        ("meta.created gt 5", "string"),
        ("title gt null", "null"),
        ('x509Certificates.value gt "AAAA"', "binary"),
        ('password eq "secret"', "cannot be used"),
    ],
)
def test_resolve_refuses_what_makes_no_sense(text: str, words: str) -> None:
    with pytest.raises(ScimError) as caught:
        r(text)
    assert caught.value.scim_type == "invalidFilter"
    assert words.lower() in caught.value.detail.lower()


# --- evaluation -------------------------------------------------------------------------------

BJENSEN: dict[str, Any] = {
    "schemas": [USER_SCHEMA, ENT],
    "id": "2819c223",
    "externalId": "BJensen-Ext",
    "userName": "bjensen@example.com",
    "name": {"familyName": "O'Malley", "givenName": "Barbara"},
    "displayName": "Babs Jensen",
    "title": "",
    "userType": "Employee",
    "active": True,
    "emails": [
        {"value": "bjensen@example.com", "type": "work", "primary": True},
        {"value": "babs@jensen.org", "type": "home"},
    ],
    "ims": [],
    ENT: {"employeeNumber": "701984", "department": "Tour Operations", "manager": {}},
    "meta": {
        "resourceType": "User",
        "created": "2010-01-23T04:56:22Z",
        "lastModified": "2011-05-13T04:42:34Z",
    },
}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('userName eq "BJENSEN@example.com"', True),  # userName is not caseExact
        ('externalId eq "bjensen-ext"', False),  # externalId is caseExact
        ('externalId eq "BJensen-Ext"', True),
        ('name.familyName co "malley"', True),
        ('userName sw "BJ"', True),
        ('userName ew ".COM"', True),
        ('displayName gt "babs"', True),
        ('displayName lt "babs"', False),
        ('urn:ietf:params:scim:schemas:core:2.0:User:userName sw "b"', True),
        (f'{ENT}:employeeNumber eq "701984"', True),
        (f'{ENT}:department co "tour"', True),
        (f"{ENT}:manager pr", False),  # {} is absent
        ("title pr", False),  # "" is absent
        ("title eq null", True),
        ('title eq ""', False),
        ('title ne "x"', True),  # absent is "not equal" to any value
        ("ims pr", False),  # [] is absent
        ("nickName eq null", True),
        ("nickName ne null", False),
        ("userName ne null", True),
        ('nickName ne "x"', True),
        ('nickName eq "x"', False),
        ('nickName co ""', False),
        ('userName co ""', True),
        ("active eq true", True),
        ("active ne true", False),
        ('emails co "jensen.org"', True),  # any value
        ('emails.type eq "work"', True),
        ('emails.value ne "babs@jensen.org"', True),  # the other element differs
        ('emails[type eq "work" and value co "jensen.org"]', False),  # not the same element
        ('emails[type eq "home" and value co "jensen.org"]', True),
        ('emails[type eq "work"].value eq "BJENSEN@EXAMPLE.COM"', True),
        ('emails[primary eq true and not (type eq "home")]', True),
        ('meta.lastModified gt "2011-05-13T04:42:33Z"', True),
        ('meta.lastModified eq "2011-05-13T06:42:34+02:00"', True),  # the same instant
        ('meta.lastModified ge "2011-05-13T04:42:34.000Z"', True),
        ('meta.lastModified gt "2011-05-13T04:42:34.5Z"', False),
        ('meta.created lt "2011-05-13T04:42:34"', True),  # no zone: UTC
        ('schemas eq "URN:ietf:params:scim:schemas:extension:enterprise:2.0:User"', True),
        ('userType eq "Employee" and not (emails co "example.com" or title pr)', False),
        ('id eq "2819C223"', False),
    ],
)
def test_evaluate(text: str, expected: bool) -> None:
    assert evaluate(parse_filter(text), BJENSEN, USER_RESOURCE) is expected


def test_evaluate_group_members() -> None:
    group = {"displayName": "Admins", "members": [{"value": "u1", "$ref": "../Users/u1"}]}
    assert evaluate(p('members[value eq "u1"]'), group, GROUP_RESOURCE)
    assert evaluate(p('members eq "u1"'), group, GROUP_RESOURCE)
    assert not evaluate(p('members.$ref eq "../users/u1"'), group, GROUP_RESOURCE)
    assert not evaluate(p("members pr"), {"displayName": "x", "members": []}, GROUP_RESOURCE)


def test_evaluate_tolerates_badly_typed_stored_values() -> None:
    odd = {"userName": 5, "active": "yes", "emails": {"value": "a"}, "meta": {"created": "x"}}
    assert not evaluate(p('userName eq "5"'), odd, USER_RESOURCE)
    assert evaluate(p('userName ne "5"'), odd, USER_RESOURCE)
    assert not evaluate(p("active eq true"), odd, USER_RESOURCE)
    assert evaluate(p('emails.value eq "a"'), odd, USER_RESOURCE)
    assert not evaluate(p('meta.created gt "2011-01-01T00:00:00Z"'), odd, USER_RESOURCE)


@settings(max_examples=300)
@given(filters(USER_RESOURCE), user_documents())
def test_not_is_the_complement_and_ne_null_is_pr(f: Filter, doc: dict[str, Any]) -> None:
    assert evaluate(Not(f), doc, USER_RESOURCE) is not evaluate(f, doc, USER_RESOURCE)
    if isinstance(f, Compare) and f.value is None:
        present = evaluate(Present(f.path), doc, USER_RESOURCE)
        assert evaluate(f, doc, USER_RESOURCE) is (present if f.op == "ne" else not present)


def test_lone_surrogates_are_refused_and_never_reach_an_error_detail() -> None:
    assert "surrogate" in invalid('userName eq "\\ud800"').detail
    error = invalid("user\ud800Name eq 1")
    error.detail.encode("utf-8")  # the detail can be sent as UTF-8
    assert "\\ud800" in error.detail


def test_attribute_names_are_ascii() -> None:
    invalid("\u212aey pr")  # KELVIN SIGN folds to "k"; it is still no ALPHA
