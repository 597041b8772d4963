"""PATCH paths (RFC 7644 §3.5.2 PATH grammar, §3.10 attribute notation)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.protocol.scim.errors import ScimError
from harness.protocol.scim.filter import And, AttrPath, Compare
from harness.protocol.scim.path import PatchPath, parse_path, resolve_patch_path
from harness.protocol.scim.schema import (
    ENTERPRISE_USER_SCHEMA,
    GROUP_RESOURCE,
    USER_RESOURCE,
    USER_SCHEMA,
)

ENT = ENTERPRISE_USER_SCHEMA


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("userName", PatchPath(AttrPath(None, "userName"))),
        ("name.givenName", PatchPath(AttrPath(None, "name", "givenName"))),
        (f"{ENT}:employeeNumber", PatchPath(AttrPath(ENT, "employeeNumber"))),
        (f"{ENT}:manager.value", PatchPath(AttrPath(ENT, "manager", "value"))),
        (
            'members[value eq "2819c223"]',
            PatchPath(
                AttrPath(None, "members"), Compare(AttrPath(None, "value"), "eq", "2819c223")
            ),
        ),
        (
            'emails[type eq "work"].value',
            PatchPath(
                AttrPath(None, "emails"), Compare(AttrPath(None, "type"), "eq", "work"), "value"
            ),
        ),
        (
            'emails[type eq "work" and value ew "example.com"]',
            PatchPath(
                AttrPath(None, "emails"),
                And(
                    Compare(AttrPath(None, "type"), "eq", "work"),
                    Compare(AttrPath(None, "value"), "ew", "example.com"),
                ),
            ),
        ),
    ],
)
def test_parse_rfc_paths(text: str, expected: PatchPath) -> None:
    assert parse_path(text) == expected
    assert parse_path(str(expected)) == expected


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "empty"),
        ("name.", "attribute path"),
        ("a.b.c", "attribute path"),
        ('userName eq "x"', "unexpected"),
        ("emails[", "end"),
        ('emails[type eq "work"]value', "subAttribute"),
        ('emails[type eq "work"].value.x', "subAttribute"),
        ('emails[type eq "work"] .value', "unexpected"),
        ('emails.value[type eq "work"]', "sub-attribute"),
        ("[x]", "attribute name"),
        ('emails[type eq "work"', "']'"),
    ],
)
def test_parse_errors_are_invalid_path(text: str, words: str) -> None:
    with pytest.raises(ScimError) as caught:
        parse_path(text)
    assert caught.value.scim_type == "invalidPath"
    assert "invalid path at column" in caught.value.detail
    assert words in caught.value.detail


def test_resolve_canonicalises() -> None:
    path, resolved = resolve_patch_path(parse_path("NAME.GIVENNAME"), USER_RESOURCE)
    assert path == PatchPath(AttrPath(None, "name", "givenName"))
    assert resolved.target.name == "givenName"
    path, _ = resolve_patch_path(parse_path(f"{USER_SCHEMA}:userName"), USER_RESOURCE)
    assert path == PatchPath(AttrPath(None, "userName"))
    path, _ = resolve_patch_path(parse_path(f"{ENT.upper()}:EmployeeNumber"), USER_RESOURCE)
    assert path == PatchPath(AttrPath(ENT, "employeeNumber"))
    path, _ = resolve_patch_path(parse_path('EMAILS[TYPE eq "work"].VALUE'), USER_RESOURCE)
    assert path == PatchPath(
        AttrPath(None, "emails"), Compare(AttrPath(None, "type"), "eq", "work"), "value"
    )


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("nickname2", "unknown attribute"),
        ("name.first", "no sub-attribute"),
        ("userName.x", "no sub-attribute"),
        (ENT, "is a schema, not an attribute"),  # a bare extension URN is no path
        ('name[givenName eq "x"]', "not multi-valued"),
        ('emails[kind eq "x"]', "no sub-attribute 'kind'"),
        ("emails[primary gt true]", "value filter"),
    ],
)
def test_resolve_errors_are_invalid_path(text: str, words: str) -> None:
    with pytest.raises(ScimError) as caught:
        resolve_patch_path(parse_path(text), USER_RESOURCE)
    assert caught.value.scim_type == "invalidPath"
    assert words in caught.value.detail


def test_group_member_paths() -> None:
    path, resolved = resolve_patch_path(parse_path('members[value eq "u"].$REF'), GROUP_RESOURCE)
    assert path.sub == "$ref"
    assert resolved.attribute.name == "members"


@given(st.text(alphabet=' []."\\:$aeqnmbrsvlu01', max_size=40))
def test_any_text_parses_or_raises_invalid_path(text: str) -> None:
    try:
        parse_path(text)
    except ScimError as error:
        assert error.scim_type == "invalidPath"
