"""Filtering, sorting, paging and projection (RFC 7644 §3.4.2, §3.4.3)."""

from __future__ import annotations

from typing import Any

import pytest

from harness.protocol.scim.schema import ENTERPRISE_USER_SCHEMA, SEARCH_REQUEST_SCHEMA
from tests.scim.conftest import ScimClient

ENTERPRISE = ENTERPRISE_USER_SCHEMA


@pytest.fixture
def people(scim: ScimClient) -> dict[str, dict[str, Any]]:
    """A small directory with the shapes the RFC's filter examples use."""
    made = {
        "bjensen": scim.create_user(
            "bjensen@example.com",
            name={"givenName": "Barbara", "familyName": "Jensen"},
            title="Tour Guide",
            userType="Employee",
            active=True,
            emails=[
                {"value": "bjensen@example.com", "type": "work", "primary": True},
                {"value": "babs@jensen.org", "type": "home"},
            ],
            **{ENTERPRISE: {"employeeNumber": "701984", "department": "Tour Operations"}},
        ),
        "jsmith": scim.create_user(
            "jsmith@example.org",
            name={"givenName": "John", "familyName": "Smith"},
            userType="Intern",
            active=False,
            emails=[{"value": "jsmith@example.org", "type": "work"}],
            externalId="EXT-1",
        ),
        "mlee": scim.create_user(
            "mlee@example.com",
            name={"givenName": "Mei", "familyName": "Lee"},
            title="Engineer",
            userType="Employee",
            active=True,
        ),
    }
    return made


def names(response: Any) -> set[str]:
    assert response.status_code == 200, response.text
    return {r["userName"] for r in response.json()["Resources"]}


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ('userName eq "BJENSEN@example.com"', {"bjensen@example.com"}),
        ('USERNAME Eq "bjensen@example.com"', {"bjensen@example.com"}),
        ('name.familyName co "ens"', {"bjensen@example.com"}),
        ('userName sw "J"', {"jsmith@example.org"}),
        ('userName ew ".com"', {"bjensen@example.com", "mlee@example.com"}),
        ("title pr", {"bjensen@example.com", "mlee@example.com"}),
        ('title pr and userType eq "Employee"', {"bjensen@example.com", "mlee@example.com"}),
        (
            'title pr or userType eq "Intern"',
            {"bjensen@example.com", "jsmith@example.org", "mlee@example.com"},
        ),
        (
            'userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")',
            {"bjensen@example.com"},
        ),
        (
            'userType ne "Employee" and not (emails co "example.com" '
            'or emails.value co "example.org")',
            set(),
        ),
        ('userType eq "Employee" and (emails.type eq "work")', {"bjensen@example.com"}),
        (
            'userType eq "Employee" and emails[type eq "work" and value co "@example.com"]',
            {"bjensen@example.com"},
        ),
        ('emails[type eq "work" and value co "jensen.org"]', set()),  # same element, not any
        (
            'emails[type eq "home"] or externalId eq "EXT-1"',
            {"bjensen@example.com", "jsmith@example.org"},
        ),
        ('externalId eq "ext-1"', set()),  # externalId is caseExact
        ("active eq false", {"jsmith@example.org"}),
        ('title ne "Engineer"', {"bjensen@example.com", "jsmith@example.org"}),
        (f'{ENTERPRISE}:employeeNumber eq "701984"', {"bjensen@example.com"}),
        (f'{ENTERPRISE}:department sw "tour"', {"bjensen@example.com"}),
        (
            'meta.created gt "2000-01-01T00:00:00Z"',
            {"bjensen@example.com", "jsmith@example.org", "mlee@example.com"},
        ),
        ('meta.lastModified lt "2000-01-01T00:00:00Z"', set()),
        (
            'meta.resourceType eq "User"',
            {"bjensen@example.com", "jsmith@example.org", "mlee@example.com"},
        ),
        (f'schemas eq "{ENTERPRISE}"', {"bjensen@example.com"}),
        ('userName gt "j" and userName lt "m"', {"jsmith@example.org"}),
        ('name.givenName ge "mei"', {"mlee@example.com"}),
    ],
)
def test_filter(
    scim: ScimClient, people: dict[str, Any], expression: str, expected: set[str]
) -> None:
    assert names(scim.filter("Users", expression)) == expected


def test_filter_matching_nothing_is_200_with_zero_results(scim: ScimClient, people: Any) -> None:
    # The connection test Entra ID runs: a random GUID that matches nobody.
    response = scim.filter("Users", 'userName eq "0f7d44ba-7a6e-4c43-9a57-2b6d8f4d2a11"')
    assert response.status_code == 200
    assert response.json() == {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
        "totalResults": 0,
        "startIndex": 1,
        "itemsPerPage": 0,
        "Resources": [],
    }


def test_group_filters(scim: ScimClient, people: dict[str, Any]) -> None:
    admins = scim.create_group("Business Account Admins", (people["bjensen"]["id"],))
    scim.create_group("Everyone", tuple(p["id"] for p in people.values()))

    def displays(expression: str) -> set[str]:
        response = scim.filter("Groups", expression, excludedAttributes="members")
        assert response.status_code == 200, response.text
        return {g["displayName"] for g in response.json()["Resources"]}

    assert displays('displayName eq "business account admins"') == {"Business Account Admins"}
    bjensen, mlee = people["bjensen"]["id"], people["mlee"]["id"]
    assert displays(f'members[value eq "{bjensen}"]') == {"Business Account Admins", "Everyone"}
    assert displays(f'members.value eq "{mlee}"') == {"Everyone"}
    assert displays(f'members[value eq "{mlee}"] and displayName sw "Bus"') == set()
    assert displays(f'externalId pr or id eq "{admins["id"]}"') == {"Business Account Admins"}
    assert names(scim.filter("Users", f'groups.value eq "{admins["id"]}"')) == {
        "bjensen@example.com"
    }
    assert names(scim.filter("Users", 'groups[display eq "everyone"]')) == {
        "bjensen@example.com",
        "jsmith@example.org",
        "mlee@example.com",
    }


@pytest.mark.parametrize(
    "expression",
    [
        "userName eq",
        'userName eq "unterminated',
        'nosuchattribute eq "x"',
        'name.nosuch eq "x"',
        "active gt true",
        'meta.created co "2020"',
        'emails[type eq "work"',
        'password eq "secret"',
        "(" * 200 + 'userName eq "x"' + ")" * 200,
    ],
)
def test_invalid_filters_are_400_invalid_filter(
    scim: ScimClient, people: Any, expression: str
) -> None:
    response = scim.filter("Users", expression)
    assert response.status_code == 400
    assert response.json()["scimType"] == "invalidFilter"
    assert response.json()["detail"]


def test_pagination_is_one_based_and_stable(scim: ScimClient) -> None:
    for i in range(7):
        scim.create_user(f"user{i}")
    seen = []
    for start in (1, 4, 7):
        page = scim.get("/Users", params={"startIndex": start, "count": 3}).json()
        assert page["totalResults"] == 7
        assert page["startIndex"] == start
        seen += [r["userName"] for r in page["Resources"]]
    assert seen == [f"user{i}" for i in range(7)]
    assert scim.get("/Users", params={"startIndex": 8}).json()["Resources"] == []


def test_start_index_below_one_means_one_and_count_zero_counts_only(scim: ScimClient) -> None:
    for i in range(3):
        scim.create_user(f"user{i}")
    page = scim.get("/Users", params={"startIndex": -5, "count": 1}).json()
    assert page["startIndex"] == 1
    assert [r["userName"] for r in page["Resources"]] == ["user0"]
    counted = scim.get("/Users", params={"count": 0}).json()
    assert counted["totalResults"] == 3
    assert counted["Resources"] == []
    assert scim.get("/Users", params={"count": -1}).json()["itemsPerPage"] == 0


@pytest.mark.parametrize("params", [{"count": "ten"}, {"startIndex": "1.5"}, {"sortOrder": "up"}])
def test_bad_paging_parameters_are_400(scim: ScimClient, params: dict[str, str]) -> None:
    response = scim.get("/Users", params=params)
    assert response.status_code == 400
    assert response.json()["scimType"] == "invalidValue"


def test_sort_by_and_sort_order(scim: ScimClient, people: Any) -> None:
    def order(**params: str) -> list[str]:
        page = scim.get("/Users", params=params).json()
        return [r["userName"] for r in page["Resources"]]

    assert order(sortBy="name.givenName") == [
        "bjensen@example.com",
        "jsmith@example.org",
        "mlee@example.com",
    ]
    assert order(sortBy="name.familyName", sortOrder="descending") == [
        "jsmith@example.org",
        "mlee@example.com",
        "bjensen@example.com",
    ]
    # users without a title sort last in both directions
    assert order(sortBy="title")[-1] == "jsmith@example.org"
    assert order(sortBy="title", sortOrder="descending")[-1] == "jsmith@example.org"
    assert order(sortBy="emails") == [
        "bjensen@example.com",
        "jsmith@example.org",
        "mlee@example.com",
    ]
    assert scim.get("/Users", params={"sortBy": "nosuch"}).status_code == 400


def test_attributes_and_excluded_attributes(scim: ScimClient, people: Any) -> None:
    user_id = people["bjensen"]["id"]
    only = scim.get(f"/Users/{user_id}", params={"attributes": "userName,name.givenName"}).json()
    assert only == {
        "schemas": only["schemas"],
        "id": user_id,  # returned "always"
        "userName": "bjensen@example.com",
        "name": {"givenName": "Barbara"},
    }
    without = scim.get(
        f"/Users/{user_id}", params={"excludedAttributes": f"emails,{ENTERPRISE}:department,id"}
    ).json()
    assert "emails" not in without
    assert without["id"] == user_id  # cannot be excluded
    assert without[ENTERPRISE] == {"employeeNumber": "701984"}
    extension = scim.get(f"/Users/{user_id}", params={"attributes": ENTERPRISE}).json()
    assert extension[ENTERPRISE]["department"] == "Tour Operations"
    assert "userName" not in extension


def test_post_search_per_type_and_at_the_root(scim: ScimClient, people: Any) -> None:
    scim.create_group("Tour Operations")
    body = {
        "schemas": [SEARCH_REQUEST_SCHEMA],
        "filter": 'userName sw "b"',
        "attributes": ["userName"],
        "startIndex": 1,
        "count": 10,
    }
    response = scim.post("/Users/.search", body)
    assert response.status_code == 200
    assert response.json()["Resources"][0] == {
        "schemas": response.json()["Resources"][0]["schemas"],
        "id": people["bjensen"]["id"],
        "userName": "bjensen@example.com",
    }
    root = scim.post(
        "/.search", {"schemas": [SEARCH_REQUEST_SCHEMA], "filter": "meta.resourceType pr"}
    ).json()
    assert root["totalResults"] == 4
    kinds = [r["meta"]["resourceType"] for r in root["Resources"]]
    assert sorted(kinds) == ["Group", "User", "User", "User"]
    only_users = scim.post(
        "/.search", {"schemas": [SEARCH_REQUEST_SCHEMA], "filter": 'userName sw "m"'}
    ).json()
    assert only_users["totalResults"] == 1
    assert scim.post("/.search", {"filter": "x"}).status_code == 400  # schemas missing


def test_planners_of_one_process_share_their_plans() -> None:
    # Each harness world builds a new SP: its planner must not build and compile again what
    # an earlier one did; a planner matching userName case-sensitively (a flaw) plans its own.
    from harness.protocol.scim.schema import resource_type_named
    from reference_sp.scim.query import QueryPlanner

    users = resource_type_named("User")
    assert users is not None
    first, values = QueryPlanner("sqlite").plan(users, 'userName eq "a@example.com"', None, False)
    again, other = QueryPlanner("sqlite").plan(users, 'userName eq "b@example.com"', None, False)
    exact, _ = QueryPlanner("sqlite", user_name_kind="exact").plan(
        users, 'userName eq "a@example.com"', None, False
    )
    assert again is first and values != other
    assert exact is not first
