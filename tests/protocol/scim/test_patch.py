"""PATCH (RFC 7644 §3.5.2): the RFC's examples, Entra and Okta request shapes, the error rules
and properties of operation sequences."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.protocol.scim.errors import ScimError
from harness.protocol.scim.patch import PatchResult, apply_patch
from harness.protocol.scim.schema import (
    ENTERPRISE_USER_SCHEMA,
    GROUP_RESOURCE,
    GROUP_SCHEMA,
    PATCH_OP_SCHEMA,
    USER_RESOURCE,
    USER_SCHEMA,
    ResourceType,
)
from tests.protocol.scim.strategies import user_documents

ENT = ENTERPRISE_USER_SCHEMA
BJENSEN_ID = "2819c223-7f76-453a-919d-413861904646"


def body(*operations: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [PATCH_OP_SCHEMA], "Operations": list(operations)}


def patch(
    doc: dict[str, Any], *operations: dict[str, Any], rt: ResourceType = USER_RESOURCE
) -> PatchResult:
    before = copy.deepcopy(doc)
    result = apply_patch(doc, body(*operations), rt)
    assert doc == before  # the input is never mutated
    return result


def refused(
    doc: dict[str, Any],
    *operations: dict[str, Any],
    scim_type: str | tuple[str, ...],
    rt: ResourceType = USER_RESOURCE,
) -> ScimError:
    before = copy.deepcopy(doc)
    with pytest.raises(ScimError) as caught:
        apply_patch(doc, body(*operations), rt)
    assert doc == before
    assert caught.value.status == 400
    expected = (scim_type,) if isinstance(scim_type, str) else scim_type
    assert caught.value.scim_type in expected, caught.value.detail
    return caught.value


def codes(result: PatchResult) -> list[str]:
    return [d.code for d in result.deviations]


def user() -> dict[str, Any]:
    return {
        "schemas": [USER_SCHEMA],
        "id": BJENSEN_ID,
        "userName": "bjensen",
        "name": {"givenName": "Barbara", "familyName": "Jensen"},
        "active": True,
        "emails": [
            {"value": "bjensen@example.com", "type": "work", "primary": True},
            {"value": "babs@jensen.org", "type": "home"},
        ],
        "addresses": [{"type": "work", "streetAddress": "100 Universal City Plaza"}],
        "meta": {"resourceType": "User", "created": "2010-01-23T04:56:22Z"},
    }


def group(*member_ids: str) -> dict[str, Any]:
    doc: dict[str, Any] = {"schemas": [GROUP_SCHEMA], "id": "g1", "displayName": "Tour Guides"}
    if member_ids:
        doc["members"] = [{"value": m, "display": m.upper()} for m in member_ids]
    return doc


# --- the request body -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("request_body", "scim_type"),
    [
        ([], "invalidSyntax"),
        ({"Operations": [{"op": "add", "path": "title", "value": "x"}]}, "invalidSyntax"),
        ({"schemas": ["urn:x"], "Operations": []}, "invalidSyntax"),
        ({"schemas": [PATCH_OP_SCHEMA]}, "invalidSyntax"),
        ({"schemas": [PATCH_OP_SCHEMA], "Operations": {}}, "invalidSyntax"),
        ({"schemas": [PATCH_OP_SCHEMA], "Operations": []}, "invalidValue"),
        ({"schemas": [PATCH_OP_SCHEMA], "Operations": ["add"]}, "invalidSyntax"),
        (
            {"schemas": [PATCH_OP_SCHEMA], "Operations": [{"op": "move", "path": "a"}]},
            "invalidSyntax",
        ),
        (
            {"schemas": [PATCH_OP_SCHEMA], "Operations": [{"op": "add", "path": "title"}]},
            "invalidValue",
        ),
        (
            {"schemas": [PATCH_OP_SCHEMA], "Operations": [{"op": "add", "path": 5, "value": 1}]},
            "invalidPath",
        ),
    ],
)
def test_malformed_bodies(request_body: Any, scim_type: str) -> None:
    with pytest.raises(ScimError) as caught:
        apply_patch(user(), request_body, USER_RESOURCE)
    assert caught.value.scim_type == scim_type


def test_op_ignores_case_and_records_entra_capitals() -> None:
    result = patch(user(), {"op": "Replace", "path": "title", "value": "Boss"})
    assert result.resource["title"] == "Boss"
    assert codes(result) == ["patch-op-not-lowercase"]
    assert result.deviations[0].rule == "RFC7644-3.5.2"
    assert codes(patch(user(), {"op": "replace", "path": "title", "value": "Boss"})) == []


# --- RFC 7644 §3.5.2.1 add --------------------------------------------------------------------


def test_rfc_add_member() -> None:
    member = {
        "display": "Babs Jensen",
        "$ref": f"https://example.com/v2/Users/{BJENSEN_ID}",
        "value": BJENSEN_ID,
    }
    result = patch(group(), {"op": "add", "path": "members", "value": [member]}, rt=GROUP_RESOURCE)
    assert result.resource["members"] == [member]
    assert result.changed


def test_rfc_pathless_add() -> None:
    result = patch(
        user(),
        {
            "op": "add",
            "value": {
                "emails": [
                    {"value": "babs@jensen.org", "type": "home"},
                    {"value": "b@x.org", "type": "other"},
                ],
                "nickname": "Babs",
            },
        },
    )
    assert result.resource["nickName"] == "Babs"
    assert [e["value"] for e in result.resource["emails"]] == [
        "bjensen@example.com",
        "babs@jensen.org",
        "b@x.org",
    ]  # the duplicate is not added again
    assert codes(result) == []


def test_add_to_single_valued_replaces_and_to_complex_merges() -> None:
    result = patch(
        user(),
        {"op": "add", "path": "title", "value": "Tour Guide"},
        {"op": "add", "path": "name", "value": {"middleName": "J", "givenName": "Babs"}},
    )
    assert result.resource["title"] == "Tour Guide"
    assert result.resource["name"] == {
        "givenName": "Babs",
        "familyName": "Jensen",
        "middleName": "J",
    }


def test_duplicate_member_add_is_a_no_op() -> None:
    doc = group("u1")
    result = patch(
        doc, {"op": "add", "path": "members", "value": [{"value": "u1"}]}, rt=GROUP_RESOURCE
    )
    assert not result.changed
    assert result.resource == doc


def test_add_primary_email_clears_the_old_primary() -> None:
    result = patch(
        user(),
        {"op": "add", "path": "emails", "value": [{"value": "new@example.com", "primary": True}]},
    )
    assert [e.get("primary") for e in result.resource["emails"]] == [False, None, True]


def test_two_primaries_at_once_are_refused() -> None:
    refused(
        user(),
        {
            "op": "add",
            "path": "emails",
            "value": [{"value": "a@x", "primary": True}, {"value": "b@x", "primary": True}],
        },
        scim_type="invalidValue",
    )


# --- RFC 7644 §3.5.2.2 remove -----------------------------------------------------------------


def test_rfc_remove_one_member_all_members_and_filtered_emails() -> None:
    doc = group(BJENSEN_ID, "u2")
    one = patch(
        doc, {"op": "remove", "path": f'members[value eq "{BJENSEN_ID}"]'}, rt=GROUP_RESOURCE
    )
    assert one.resource["members"] == [{"value": "u2", "display": "U2"}]
    everyone = patch(doc, {"op": "remove", "path": "members"}, rt=GROUP_RESOURCE)
    assert "members" not in everyone.resource
    emails = patch(
        user(), {"op": "remove", "path": 'emails[type eq "work" and value ew "example.com"]'}
    )
    assert emails.resource["emails"] == [{"value": "babs@jensen.org", "type": "home"}]


def test_rfc_remove_then_add_replaces_membership() -> None:
    result = patch(
        group("u1", "u2"),
        {"op": "remove", "path": "members"},
        {"op": "add", "path": "members", "value": [{"value": "u3"}]},
        rt=GROUP_RESOURCE,
    )
    assert result.resource["members"] == [{"value": "u3"}]


def test_remove_without_path_is_no_target() -> None:
    refused(user(), {"op": "remove"}, scim_type="noTarget")


def test_remove_with_a_filter_matching_nothing_changes_nothing() -> None:
    result = patch(
        group("u1"), {"op": "remove", "path": 'members[value eq "nobody"]'}, rt=GROUP_RESOURCE
    )
    assert not result.changed


def test_remove_last_value_unassigns_the_attribute() -> None:
    result = patch(
        user(),
        {"op": "remove", "path": 'addresses[type eq "work"]'},
        {"op": "remove", "path": "name.givenName"},
        {"op": "remove", "path": "name.familyName"},
    )
    assert "addresses" not in result.resource
    assert "name" not in result.resource


def test_remove_sub_attribute_of_filtered_elements() -> None:
    result = patch(user(), {"op": "remove", "path": 'emails[type eq "work"].primary'})
    assert result.resource["emails"][0] == {"value": "bjensen@example.com", "type": "work"}


# --- RFC 7644 §3.5.2.3 replace ----------------------------------------------------------------


def test_rfc_replace_members() -> None:
    result = patch(
        group("u1"),
        {
            "op": "replace",
            "path": "members",
            "value": [
                {"display": "Babs Jensen", "value": BJENSEN_ID},
                {"display": "James Smith", "value": "08e1d05d"},
            ],
        },
        rt=GROUP_RESOURCE,
    )
    assert [m["value"] for m in result.resource["members"]] == [BJENSEN_ID, "08e1d05d"]


def test_rfc_replace_filtered_element_and_its_sub_attribute() -> None:
    address = {
        "type": "work",
        "streetAddress": "911 Universal City Plaza",
        "locality": "Hollywood",
        "region": "CA",
        "postalCode": "91608",
        "country": "US",
        "formatted": "911 Universal City Plaza\nHollywood, CA 91608 US",
        "primary": True,
    }
    whole = patch(user(), {"op": "replace", "path": 'addresses[type eq "work"]', "value": address})
    assert whole.resource["addresses"] == [address]
    street = patch(
        user(),
        {
            "op": "replace",
            "path": 'addresses[type eq "work"].streetAddress',
            "value": "1010 Broadway Ave",
        },
    )
    assert street.resource["addresses"] == [{"type": "work", "streetAddress": "1010 Broadway Ave"}]


def test_rfc_pathless_replace() -> None:
    emails = [
        {"value": "bjensen@example.com", "type": "work", "primary": True},
        {"value": "babs@jensen.org", "type": "home"},
    ]
    result = patch(user(), {"op": "replace", "value": {"emails": emails, "nickname": "Babs"}})
    assert result.resource["emails"] == emails
    assert result.resource["nickName"] == "Babs"


def test_replace_with_a_filter_matching_nothing_is_no_target() -> None:
    refused(
        user(),
        {"op": "replace", "path": 'emails[type eq "other"].value', "value": "x@y"},
        scim_type="noTarget",
    )
    refused(
        group("u1"),
        {"op": "replace", "path": 'members[value eq "u9"]', "value": {"value": "u9"}},
        scim_type="noTarget",
        rt=GROUP_RESOURCE,
    )


def test_replace_complex_merges_sub_attributes() -> None:
    result = patch(
        user(),
        {"op": "replace", "path": "name", "value": {"givenName": "Babs", "familyName": None}},
    )
    assert result.resource["name"] == {"givenName": "Babs"}


def test_null_and_empty_array_unassign() -> None:
    result = patch(
        user(),
        {"op": "replace", "path": "emails", "value": []},
        {"op": "add", "path": "name", "value": None},
        {"op": "replace", "path": "active", "value": None},
    )
    for key in ("emails", "name", "active"):
        assert key not in result.resource


def test_replace_is_idempotent() -> None:
    op = {"op": "replace", "path": "emails", "value": [{"value": "a@x", "type": "work"}]}
    once = patch(user(), op).resource
    twice = patch(once, op)
    assert twice.resource == once
    assert not twice.changed


# --- add with a value filter that matches nothing (Entra) -------------------------------------


def test_add_filtered_sub_attribute_creates_the_element() -> None:
    doc = user()
    doc["emails"] = [{"value": "babs@jensen.org", "type": "home"}]
    result = patch(doc, {"op": "Add", "path": 'emails[type eq "work"].value', "value": "a@b"})
    assert result.resource["emails"][1] == {"type": "work", "value": "a@b"}
    again = patch(
        result.resource, {"op": "Add", "path": 'emails[type eq "work"].value', "value": "c@d"}
    )
    assert again.resource["emails"][1] == {"type": "work", "value": "c@d"}


def test_add_with_a_filter_that_describes_no_element_is_no_target() -> None:
    refused(
        user(),
        {"op": "add", "path": 'emails[type co "x"].value', "value": "a@b"},
        scim_type="noTarget",
    )


# --- Entra and Okta request shapes ------------------------------------------------------------


def test_entra_user_update_shapes() -> None:
    result = patch(
        user(),
        {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "n@x"},
        {"op": "Replace", "path": "name.familyName", "value": "Smith"},
        {"op": "Add", "path": f"{ENT}:employeeNumber", "value": "701984"},
        {"op": "Replace", "path": "active", "value": "False"},
    )
    doc = result.resource
    assert doc["emails"][0]["value"] == "n@x"
    assert doc["name"]["familyName"] == "Smith"
    assert doc[ENT] == {"employeeNumber": "701984"}
    assert doc["schemas"] == [USER_SCHEMA, ENT]
    assert doc["active"] is False
    assert sorted(set(codes(result))) == ["boolean-as-string", "patch-op-not-lowercase"]


def test_entra_pathless_replace_with_dotted_keys() -> None:
    result = patch(
        user(),
        {
            "op": "replace",
            "value": {
                "name.givenName": "Babs",
                'emails[type eq "work"].value': "w@x",
                f"{ENT}:department": "Tours",
                "active": "True",
            },
        },
    )
    doc = result.resource
    assert doc["name"]["givenName"] == "Babs"
    assert doc["emails"][0]["value"] == "w@x"
    assert doc[ENT] == {"department": "Tours"}
    assert codes(result).count("pathless-dotted-key") == 3
    assert "boolean-as-string" in codes(result)


def test_pathless_extension_object_and_its_removal() -> None:
    added = patch(
        user(), {"op": "add", "value": {ENT: {"employeeNumber": "7", "manager": {"value": "m1"}}}}
    )
    assert added.resource[ENT] == {"employeeNumber": "7", "manager": {"value": "m1"}}
    assert codes(added) == []
    removed = patch(
        added.resource,
        {"op": "remove", "path": f"{ENT}:employeeNumber"},
        {"op": "remove", "path": f"{ENT}:manager"},
    )
    assert ENT not in removed.resource
    assert removed.resource["schemas"] == [USER_SCHEMA]


def test_entra_manager_shapes() -> None:
    as_string = patch(user(), {"op": "Add", "path": f"{ENT}:manager", "value": "m1"})
    assert as_string.resource[ENT]["manager"] == {"value": "m1"}
    assert "complex-as-value-string" in codes(as_string)
    as_array = patch(user(), {"op": "Add", "path": f"{ENT}:manager", "value": [{"value": "m1"}]})
    assert as_array.resource[ENT]["manager"] == {"value": "m1"}
    assert "array-for-single-value" in codes(as_array)


def test_entra_members_add_and_remove_shapes() -> None:
    added = patch(
        group("u1"),
        {"op": "Add", "path": "members", "value": [{"$ref": None, "value": "u2"}, {"value": "u3"}]},
        rt=GROUP_RESOURCE,
    )
    assert [m["value"] for m in added.resource["members"]] == ["u1", "u2", "u3"]
    removed = patch(
        added.resource,
        {"op": "Remove", "path": "members", "value": [{"value": "u1"}, {"value": "u3"}]},
        rt=GROUP_RESOURCE,
    )
    assert removed.resource["members"] == [{"value": "u2"}]
    assert "members-remove-with-value" in codes(removed)
    assert removed.deviations[-1].rule == "RFC7644-3.5.2.2"


def test_okta_shapes() -> None:
    deactivated = patch(user(), {"op": "replace", "value": {"active": False}})
    assert deactivated.resource["active"] is False
    assert codes(deactivated) == []
    doc = group("u1")
    renamed = patch(
        doc,
        {"op": "replace", "value": {"id": "g1", "displayName": "Guides"}},
        {"op": "remove", "path": 'members[value eq "u1"]'},
        {"op": "add", "path": "members", "value": [{"value": "u2", "display": "B"}]},
        rt=GROUP_RESOURCE,
    )
    assert renamed.resource["displayName"] == "Guides"
    assert renamed.resource["members"] == [{"value": "u2", "display": "B"}]


def test_single_value_for_multi_valued_attribute_is_tolerated() -> None:
    result = patch(
        group(), {"op": "add", "path": "members", "value": {"value": "u1"}}, rt=GROUP_RESOURCE
    )
    assert result.resource["members"] == [{"value": "u1"}]
    assert codes(result) == ["single-value-for-multi"]


# --- mutability, required, unknown ------------------------------------------------------------


@pytest.mark.parametrize(
    ("operation", "scim_type"),
    [
        ({"op": "replace", "path": "id", "value": "x"}, "mutability"),
        ({"op": "remove", "path": "meta"}, "mutability"),
        ({"op": "replace", "path": "meta.created", "value": "2011-01-01T00:00:00Z"}, "mutability"),
        ({"op": "add", "path": "groups", "value": [{"value": "g1"}]}, "mutability"),
        ({"op": "replace", "value": {"id": "other"}}, "mutability"),
        ({"op": "add", "path": f"{ENT}:manager.displayName", "value": "Boss"}, "mutability"),
        ({"op": "remove", "path": "userName"}, "mutability"),
        ({"op": "replace", "path": "userName", "value": None}, "mutability"),
        ({"op": "add", "path": "nickname2", "value": "x"}, "invalidPath"),
        ({"op": "add", "value": {"nickname2": "x"}}, "invalidPath"),
        # The extension's URN alone names the whole extension: its value is an object.
        ({"op": "add", "path": ENT, "value": "1"}, "invalidValue"),
        ({"op": "replace", "path": ENT, "value": {"noSuchAttribute": "1"}}, "invalidPath"),
        ({"op": "add", "path": "name.first", "value": "x"}, "invalidPath"),
        ({"op": "add", "path": 'emails[type eq "work"', "value": "x"}, "invalidPath"),
        ({"op": "add", "path": "active", "value": "maybe"}, "invalidValue"),
        ({"op": "add", "path": "emails", "value": [{"value": 5}]}, "invalidValue"),
        ({"op": "add", "path": "name", "value": "Babs"}, "invalidValue"),
        ({"op": "add", "value": "Babs"}, "invalidValue"),
        ({"op": "add", "value": {ENT: "x"}}, "invalidValue"),
        ({"op": "add", "path": "emails", "value": [{"value": "a", "nick": "b"}]}, "invalidValue"),
    ],
)
def test_refusals(operation: dict[str, Any], scim_type: str) -> None:
    refused(user(), operation, scim_type=scim_type)


def test_readonly_value_equal_to_the_current_one_is_ignored_without_path() -> None:
    result = patch(user(), {"op": "replace", "value": {"id": BJENSEN_ID, "title": "x"}})
    assert result.resource["id"] == BJENSEN_ID


def test_group_display_name_is_required_and_member_subs_immutable() -> None:
    refused(
        group(), {"op": "remove", "path": "displayName"}, scim_type="mutability", rt=GROUP_RESOURCE
    )
    refused(
        group("u1"),
        {"op": "replace", "path": 'members[value eq "u1"].display', "value": "X"},
        scim_type="mutability",
        rt=GROUP_RESOURCE,
    )
    # unassigned immutable values may be set once
    doc = {"displayName": "G", "members": [{"value": "u1"}]}
    result = patch(
        doc,
        {"op": "add", "path": 'members[value eq "u1"].display', "value": "U"},
        rt=GROUP_RESOURCE,
    )
    assert result.resource["members"] == [{"value": "u1", "display": "U"}]


def test_password_is_accepted_and_not_kept() -> None:
    result = patch(user(), {"op": "replace", "path": "password", "value": "secret"})
    assert "password" not in result.resource
    assert not result.changed


def test_atomic_a_failing_operation_changes_nothing() -> None:
    error = refused(
        user(),
        {"op": "replace", "path": "title", "value": "x"},
        {"op": "replace", "path": "id", "value": "y"},
        scim_type="mutability",
    )
    assert error.detail.startswith("Operations[1] (replace id):")


# --- properties -------------------------------------------------------------------------------

_ids = st.sampled_from(["u1", "u2", "u3", "u4"])


@given(st.lists(_ids, max_size=4, unique=True), _ids)
def test_add_then_remove_of_a_new_member_leaves_membership_unchanged(
    members: list[str], extra: str
) -> None:
    doc = group(*members)
    result = patch(
        doc,
        {"op": "add", "path": "members", "value": [{"value": extra}]},
        {"op": "remove", "path": f'members[value eq "{extra}"]'},
        rt=GROUP_RESOURCE,
    )
    kept = [m for m in doc.get("members", []) if m["value"] != extra]
    assert result.resource.get("members", []) == kept


@given(st.lists(_ids, max_size=4, unique=True), st.lists(_ids, max_size=4))
def test_adding_members_is_a_set_union_in_order(members: list[str], added: list[str]) -> None:
    result = patch(
        group(*members),
        {"op": "add", "path": "members", "value": [{"value": v} for v in added]},
        rt=GROUP_RESOURCE,
    )
    expected = list(dict.fromkeys(members + added))
    assert [m["value"] for m in result.resource.get("members", [])] == expected


_simple_ops = st.sampled_from(
    [
        {"op": "replace", "path": "title", "value": "T"},
        {"op": "add", "path": "nickName", "value": "N"},
        {"op": "remove", "path": "displayName"},
        {"op": "replace", "path": "active", "value": False},
        {"op": "add", "path": "emails", "value": [{"value": "p@x", "primary": True}]},
        {"op": "replace", "path": 'emails[type eq "work"].value', "value": "w@x"},
        {"op": "add", "path": 'emails[type eq "home"].value', "value": "h@x"},
        {"op": "remove", "path": 'emails[type eq "work"]'},
        {"op": "replace", "path": f"{ENT}:department", "value": "D"},
        {"op": "remove", "path": f"{ENT}:employeeNumber"},
        {"op": "replace", "value": {"name.givenName": "G"}},
    ]
)


@settings(max_examples=150)
@given(user_documents(), st.lists(_simple_ops, min_size=1, max_size=4))
def test_operations_apply_in_order_and_replace_is_idempotent(
    doc: dict[str, Any], operations: list[dict[str, Any]]
) -> None:
    try:
        result = patch(doc, *operations)
    except ScimError as error:
        assert error.scim_type in ("noTarget", "invalidValue")
        return
    stepwise = doc
    for operation in operations:
        stepwise = patch(stepwise, operation).resource
    assert result.resource == stepwise
    assert result.changed is (result.resource != doc)
    emails = result.resource.get("emails", [])
    assert sum(1 for e in emails if e.get("primary") is True) <= 1
    replaces = [o for o in operations if o["op"] == "replace"]
    if replaces:
        try:
            once = patch(result.resource, *replaces).resource
        except ScimError as error:  # a later remove took the replace's target away
            assert error.scim_type == "noTarget"
            return
        twice = patch(once, *replaces)
        assert twice.resource == once
        assert not twice.changed


@settings(max_examples=100)
@given(user_documents(), _simple_ops)
def test_a_failing_operation_anywhere_leaves_the_input_unchanged(
    doc: dict[str, Any], operation: dict[str, Any]
) -> None:
    bad = {"op": "replace", "path": "meta.lastModified", "value": "2020-01-01T00:00:00Z"}
    for operations in ([operation, bad], [bad, operation]):
        refused(doc, *operations, scim_type=("mutability", "noTarget", "invalidValue"))


@settings(max_examples=200)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(alphabet='abc."[]: eqw', max_size=12),
        lambda inner: (
            st.lists(inner, max_size=3)
            | st.dictionaries(
                st.sampled_from(
                    [
                        "op",
                        "path",
                        "value",
                        "Operations",
                        "schemas",
                        "members",
                        "emails",
                        "name.givenName",
                        "active",
                        "type",
                        'emails[type eq "a"].value',
                    ]
                ),
                inner,
                max_size=4,
            )
        ),
        max_leaves=10,
    )
)
def test_hostile_bodies_raise_only_scim_errors(junk: Any) -> None:
    candidates = [junk, body(junk) if isinstance(junk, dict) else junk]
    if isinstance(junk, dict):
        candidates.append(body({"op": "add", **junk}))
        candidates.append(body({"op": "remove", **junk}))
    for candidate in candidates:
        for rt, doc in ((USER_RESOURCE, user()), (GROUP_RESOURCE, group("u1"))):
            try:
                apply_patch(doc, candidate, rt)
            except ScimError as error:
                assert error.status == 400


def test_error_details_are_always_encodable() -> None:
    error = refused(user(), {"op": "add", "path": "x\ud800", "value": 1}, scim_type="invalidPath")
    error.detail.encode("utf-8")
    refused(user(), {"op": "add", "path": "title", "value": "\udfff"}, scim_type="invalidValue")


def test_entra_pathless_filter_key_creates_the_missing_element() -> None:
    doc = user()
    del doc["emails"]
    result = patch(doc, {"op": "replace", "value": {'emails[type eq "work"].value': "w@x"}})
    assert result.resource["emails"] == [{"type": "work", "value": "w@x"}]
    assert codes(result) == ["pathless-dotted-key"]
