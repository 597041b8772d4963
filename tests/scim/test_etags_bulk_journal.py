"""ETags (RFC 7644 §3.14), Bulk (§3.7) and the request journal."""

from __future__ import annotations

from typing import Any

from harness.protocol.scim.schema import (
    BULK_REQUEST_SCHEMA,
    GROUP_SCHEMA,
    USER_SCHEMA,
)
from reference_sp.scim import journal as journal_module
from tests.scim.conftest import ScimClient


def test_etag_header_equals_meta_version_and_moves_on_change(scim: ScimClient) -> None:
    user = scim.create_user("dana")
    fetched = scim.get(f"/Users/{user['id']}")
    assert fetched.headers["etag"] == fetched.json()["meta"]["version"] == user["meta"]["version"]
    changed = scim.patch(f"/Users/{user['id']}", [{"op": "add", "path": "title", "value": "x"}])
    assert changed.headers["etag"] != user["meta"]["version"]


def test_if_none_match_answers_304_while_unchanged(scim: ScimClient) -> None:
    user = scim.create_user("dana")
    path, tag = f"/Users/{user['id']}", user["meta"]["version"]
    unchanged = scim.get(path, headers={"If-None-Match": tag})
    assert unchanged.status_code == 304
    assert unchanged.content == b""
    scim.patch(path, [{"op": "add", "path": "title", "value": "x"}])
    assert scim.get(path, headers={"If-None-Match": tag}).status_code == 200


def test_if_match_guards_writes_with_412(scim: ScimClient) -> None:
    user = scim.create_user("dana")
    path, stale = f"/Users/{user['id']}", user["meta"]["version"]
    fresh = scim.patch(path, [{"op": "add", "path": "title", "value": "x"}]).headers["etag"]
    body = {"schemas": [USER_SCHEMA], "userName": "dana"}
    assert scim.put(path, body, headers={"If-Match": stale}).status_code == 412
    lost = scim.patch(
        path, [{"op": "add", "path": "title", "value": "y"}], headers={"If-Match": stale}
    )
    assert lost.status_code == 412
    assert lost.json()["status"] == "412"
    assert scim.delete(path, headers={"If-Match": stale}).status_code == 412
    assert scim.get(path).json()["title"] == "x"
    assert scim.put(path, body, headers={"If-Match": fresh}).status_code == 200
    assert scim.delete(path, headers={"If-Match": "*"}).status_code == 204


def test_membership_changes_move_the_group_version(scim: ScimClient) -> None:
    a = scim.create_user("a")["id"]
    group = scim.create_group("Team", (a,))
    scim.delete(f"/Users/{a}")
    assert scim.get(f"/Groups/{group['id']}").json()["meta"]["version"] != group["meta"]["version"]


def bulk(scim: ScimClient, operations: list[dict[str, Any]], **extra: Any) -> Any:
    return scim.post("/Bulk", {"schemas": [BULK_REQUEST_SCHEMA], "Operations": operations, **extra})


def test_bulk_with_bulk_id_references_in_any_order(scim: ScimClient) -> None:
    response = bulk(
        scim,
        [
            {
                "method": "POST",
                "path": "/Groups",
                "bulkId": "admins",
                "data": {
                    "schemas": [GROUP_SCHEMA],
                    "displayName": "Admins",
                    "members": [{"type": "User", "value": "bulkId:dana"}],
                },
            },
            {
                "method": "POST",
                "path": "/Users",
                "bulkId": "dana",
                "data": {"schemas": [USER_SCHEMA], "userName": "dana"},
            },
        ],
    )
    assert response.status_code == 200
    results = response.json()["Operations"]
    assert [r["status"] for r in results] == ["201", "201"]
    assert all(r["location"] and r["version"] for r in results)
    user_id = results[1]["location"].rsplit("/", 1)[1]
    group = scim.get(results[0]["location"].split("/scim/v2")[1]).json()
    assert group["members"][0]["value"] == user_id


def test_bulk_operations_fail_independently_and_fail_on_errors_stops(scim: ScimClient) -> None:
    ok = {
        "method": "POST",
        "path": "/Users",
        "bulkId": "a",
        "data": {"schemas": [USER_SCHEMA], "userName": "a"},
    }
    dup = {
        "method": "POST",
        "path": "/Users",
        "bulkId": "b",
        "data": {"schemas": [USER_SCHEMA], "userName": "A"},
    }
    late = {
        "method": "POST",
        "path": "/Users",
        "bulkId": "c",
        "data": {"schemas": [USER_SCHEMA], "userName": "c"},
    }
    results = bulk(scim, [ok, dup, late], failOnErrors=1).json()["Operations"]
    assert [r["status"] for r in results] == ["201", "409"]
    assert results[1]["response"]["scimType"] == "uniqueness"
    assert scim.get("/Users").json()["totalResults"] == 1


def test_bulk_unresolvable_and_circular_references_are_409(scim: ScimClient) -> None:
    results = bulk(
        scim,
        [
            {
                "method": "POST",
                "path": "/Groups",
                "bulkId": "g1",
                "data": {
                    "schemas": [GROUP_SCHEMA],
                    "displayName": "1",
                    "members": [{"value": "bulkId:g2"}],
                },
            },
            {
                "method": "POST",
                "path": "/Groups",
                "bulkId": "g2",
                "data": {
                    "schemas": [GROUP_SCHEMA],
                    "displayName": "2",
                    "members": [{"value": "bulkId:g1"}],
                },
            },
            {"method": "PATCH", "path": "/Users/bulkId:nobody", "data": {}},
        ],
    ).json()["Operations"]
    assert sorted(r["status"] for r in results) == ["409", "409", "409"]
    assert scim.get("/Groups").json()["totalResults"] == 0


def test_bulk_limits_are_413(scim: ScimClient) -> None:
    op = {"method": "DELETE", "path": "/Users/x"}
    assert bulk(scim, [op] * 1001).status_code == 413
    assert bulk(scim, []).status_code == 400


def test_bulk_put_patch_delete(scim: ScimClient) -> None:
    user = scim.create_user("dana")
    path = f"/Users/{user['id']}"
    results = bulk(
        scim,
        [
            {
                "method": "PUT",
                "path": path,
                "data": {"schemas": [USER_SCHEMA], "userName": "dana", "title": "a"},
            },
            {
                "method": "PATCH",
                "path": path,
                "data": {
                    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                    "Operations": [{"op": "replace", "path": "title", "value": "b"}],
                },
            },
            {"method": "DELETE", "path": path, "version": 'W/"999"'},
            {"method": "DELETE", "path": path},
        ],
    ).json()["Operations"]
    assert [r["status"] for r in results] == ["200", "200", "412", "204"]
    assert scim.get(path).status_code == 404


def test_journal_keeps_requests_responses_and_redacts_the_token(
    scim: ScimClient, reference_sp: Any
) -> None:
    scim.create_user("dana")
    scim.get("/Users/missing")
    scim.http.get("/scim/v2/Users", headers={"Authorization": "Bearer wrong"})
    entries = reference_sp.scim_journal(1)
    assert [(e.method, e.status) for e in entries] == [("POST", 201), ("GET", 404)]
    assert entries[0].request_headers["authorization"] == "Bearer [redacted]"
    assert '"userName":"dana"' in entries[0].response_body.replace(" ", "")
    assert entries[1].to_json()["status"] == 404


def test_reads_write_nothing_and_the_journal_keeps_every_request_in_order(
    scim: ScimClient, reference_sp: Any
) -> None:
    """A read's entry waits in memory (a read takes no write transaction) and is written before
    the next write's, or before the journal is read: the order is the order of the requests."""
    scim.get("/Users")
    assert reference_sp.journal.held() == 1
    scim.create_user("dana")
    assert reference_sp.journal.held() == 0
    scim.filter("Users", 'userName eq "dana"')
    scim.get("/Users/missing")
    entries = reference_sp.scim_journal(1)
    assert [(e.method, e.status) for e in entries] == [
        ("GET", 200),
        ("POST", 201),
        ("GET", 200),
        ("GET", 404),
    ]
    assert [e.seq for e in entries] == sorted(e.seq for e in entries)


def test_journal_is_bounded(scim: ScimClient, reference_sp: Any, monkeypatch: Any) -> None:
    monkeypatch.setattr(journal_module, "PRUNE_EVERY", 5)
    reference_sp.journal.limit = 10
    for _ in range(40):
        scim.get("/Users")
    entries = reference_sp.scim_journal(1)
    assert 10 <= len(entries) <= 15
    assert entries[-1].seq - entries[0].seq == len(entries) - 1


def test_journal_over_http_for_the_token_holder_only(scim: ScimClient, reference_sp: Any) -> None:
    reference_sp.add_organisation("other", "other-token")
    scim.create_user("dana")
    scim.create_user("eli")
    mine = scim.http.get("/api/scim/journal", headers={"Authorization": "Bearer test-token"})
    assert mine.status_code == 200
    entries = mine.json()["entries"]
    assert [e["status"] for e in entries] == [201, 201]
    after = scim.http.get(
        "/api/scim/journal",
        params={"after": entries[0]["seq"]},
        headers={"Authorization": "Bearer test-token"},
    ).json()["entries"]
    assert [e["seq"] for e in after] == [entries[1]["seq"]]
    theirs = scim.http.get("/api/scim/journal", headers={"Authorization": "Bearer other-token"})
    assert theirs.json()["entries"] == []
    assert scim.http.get("/api/scim/journal").status_code == 401
    bad = scim.http.get(
        "/api/scim/journal", params={"after": "x"}, headers={"Authorization": "Bearer test-token"}
    )
    assert bad.status_code == 400
