"""What hostile SCIM requests cost the reference SP, in-process (no HTTP, no network).

- a Bulk request of N operations where each references the next by ``bulkId`` (so the last must
  run first): the cost of resolving the dependencies;
- a 99-term filter ``title ne "..." and ...`` (within the 100-term and 4,096-character limits)
  on a directory of M users seeded straight into the store, and a 99-term ``emails.value co``
  chain that stays expensive: the case of the search time limit (``--timeout``).

    python benchmarks/hostile_requests.py [--bulk 100,1000] [--users 25000] [--db URL]

This is a measurement, not a test: nothing here passes or fails.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from starlette.testclient import TestClient

from harness.protocol.scim.schema import (
    BULK_REQUEST_SCHEMA,
    ENTERPRISE_USER_SCHEMA,
    USER_RESOURCE,
    USER_SCHEMA,
)
from reference_sp.app import ReferenceSP, Settings
from reference_sp.scim.store import ScimStore
from reference_sp.tables import metadata

TOKEN = "bench-token"
HEADERS = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/scim+json"}


def chained_bulk(count: int) -> dict[str, Any]:
    """``count`` user creations, operation i naming operation i+1's user as its manager."""
    operations = []
    for i in range(count):
        data: dict[str, Any] = {
            "schemas": [USER_SCHEMA, ENTERPRISE_USER_SCHEMA],
            "userName": f"chained{i:05d}@example.com",
        }
        if i + 1 < count:
            data[ENTERPRISE_USER_SCHEMA] = {"manager": {"value": f"bulkId:u{i + 1}"}}
        operations.append({"method": "POST", "path": "/Users", "bulkId": f"u{i}", "data": data})
    return {"schemas": [BULK_REQUEST_SCHEMA], "Operations": operations}


def ne_filter(terms: int = 99) -> str:
    return " and ".join(f'title ne "title {i:03d}"' for i in range(terms))


def co_filter(terms: int = 99) -> str:
    """Still a subquery per term and row (a multi-valued attribute): the time limit's case."""
    return " or ".join(f'emails.value co "zz{i:02d}"' for i in range(terms))


def fresh_sp(db_url: str, timeout: float | None = None) -> ReferenceSP:
    sp = ReferenceSP(Settings(db_url=db_url, scim_search_timeout=timeout))
    if sp.db.engine.dialect.name == "postgresql":
        metadata.drop_all(sp.db.engine)
        metadata.create_all(sp.db.engine)
    sp.add_organisation("default", TOKEN)
    return sp


def time_bulk(db_url: str, count: int) -> None:
    sp = fresh_sp(db_url)
    body = json.dumps(chained_bulk(count)).encode()
    with TestClient(sp.app) as http:
        started = time.perf_counter()
        response = http.post("/scim/v2/Bulk", content=body, headers=HEADERS)
        elapsed = time.perf_counter() - started
    statuses = [op["status"] for op in response.json().get("Operations", [])]
    created = statuses.count("201")
    print(
        f"chained Bulk {count:>5} ops ({len(body) / 1000:.0f} KB): {elapsed:8.2f} s, "
        f"HTTP {response.status_code}, {created} created"
    )
    sp.close()


def time_filter(db_url: str, users: int, timeout: float | None) -> None:
    sp = fresh_sp(db_url, timeout)
    store = ScimStore()
    org = sp.orgs_by_name("default")
    with sp.db.transaction() as conn:
        for i in range(users):
            doc: dict[str, Any] = {
                "schemas": [USER_SCHEMA],
                "userName": f"seed{i:06d}@example.com",
                "emails": [{"value": f"seed{i:06d}@example.com"}],
            }
            if i % 2:
                doc["title"] = f"title {i % 150:03d}"
            store.create(conn, org, USER_RESOURCE, doc)
    if sp.db.engine.dialect.name == "postgresql":
        # As autovacuum would soon after: without statistics the planner takes 25k rows for
        # one and picks nested loops (the time limit then stops the filter at 2 s).
        with sp.db.engine.begin() as conn:  # statistics are transactional: committed
            conn.exec_driver_sql("ANALYZE")
    with TestClient(sp.app) as http:
        for name, text, attempt in (
            ("99-term ne filter", ne_filter(), 1),
            ("99-term ne filter", ne_filter(), 2),
            ("99-term co filter", co_filter(), 1),
        ):
            started = time.perf_counter()
            response = http.get(
                "/scim/v2/Users", params={"filter": text, "count": "10"}, headers=HEADERS
            )
            elapsed = time.perf_counter() - started
            body = response.json()
            outcome = body.get("totalResults", body.get("scimType", body.get("detail")))
            print(
                f"{name} ({len(text)} chars) at {users} users, run {attempt}: "
                f"{elapsed:8.2f} s, HTTP {response.status_code}, {outcome}"
            )
    sp.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bulk", default="100,200,1000", help="operation counts, comma-separated")
    parser.add_argument("--users", type=int, default=25_000, help="directory size for the filter")
    parser.add_argument("--db", default="sqlite://", help="database URL (default: in memory)")
    parser.add_argument("--skip-filter", action="store_true")
    parser.add_argument(
        "--timeout", type=float, default=None, help="the search time limit (default: none)"
    )
    args = parser.parse_args()
    for count in (int(c) for c in args.bulk.split(",") if c):
        time_bulk(args.db, count)
    if not args.skip_filter:
        time_filter(args.db, args.users, args.timeout)


if __name__ == "__main__":
    main()
