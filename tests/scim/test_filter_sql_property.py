"""The SQL compilation of filters means exactly what the reference evaluator means.

For generated directories and generated filters (the whole grammar: every operator, and/or/not,
value paths, case rules, dateTimes, extension attributes), the users the SQL query returns are
the users ``harness.protocol.scim.filter.evaluate`` accepts.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, find, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select, update

from harness.protocol.scim.filter import (
    And,
    AttrPath,
    Compare,
    Filter,
    Not,
    Or,
    Present,
    evaluate,
    format_filter,
    resolve_filter,
)
from harness.protocol.scim.schema import USER_RESOURCE
from reference_sp.db import Database, make_engine
from reference_sp.organisation_store import OrganisationStore
from reference_sp.scim.index import sortable_datetime
from reference_sp.scim.query import FilterCompiler
from reference_sp.scim.store import ScimStore
from reference_sp.tables import attribute_values, memberships, resources
from tests.protocol.scim.strategies import filters, user_documents
from tests.scim.conftest import database_urls


@pytest.fixture(params=database_urls())
def database(request: pytest.FixtureRequest) -> Iterator[Database]:
    db = Database(make_engine(request.param))
    yield db
    db.close()


directories = st.lists(user_documents(), max_size=6, unique_by=lambda d: d["userName"].lower())


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(users=directories, f=filters(USER_RESOURCE))
def test_sql_and_reference_evaluation_agree(
    database: Database, users: list[dict[str, Any]], f: Filter
) -> None:
    ids = iter(d["id"] for d in users)
    store = ScimStore(new_id=lambda: next(ids))
    with database.transaction() as conn:
        for table in (memberships, attribute_values, resources):
            conn.execute(delete(table))
        org = OrganisationStore().ensure(conn, "property", "token")
        for doc in users:
            stored = {k: v for k, v in doc.items() if k not in ("id", "meta")}
            created = store.create(conn, org, USER_RESOURCE, stored)
            conn.execute(
                update(resources)
                .where(resources.c.pk == created.pk)
                .values(
                    created=sortable_datetime(doc["meta"]["created"]),
                    last_modified=sortable_datetime(doc["meta"]["lastModified"]),
                )
            )
        where = FilterCompiler(USER_RESOURCE, database.engine.dialect.name).compile(
            resolve_filter(f, USER_RESOURCE)
        )
        found = {
            row.id
            for row in conn.execute(select(resources.c.id).where(resources.c.org_pk == org, where))
        }
    expected = {d["id"] for d in users if evaluate(f, d, USER_RESOURCE)}
    assert found == expected, format_filter(f)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    pairs=st.lists(
        st.tuples(user_documents(), user_documents()),
        max_size=5,
        unique_by=lambda pair: pair[0]["userName"].lower(),
    ),
    f=filters(USER_RESOURCE),
)
def test_the_index_follows_replaced_documents(
    database: Database, pairs: list[tuple[dict[str, Any], dict[str, Any]]], f: Filter
) -> None:
    """Replacing a document rewrites only the changed attributes' rows; filters still see
    exactly the new documents."""
    store = ScimStore()
    afters = []
    with database.transaction() as conn:
        for table in (memberships, attribute_values, resources):
            conn.execute(delete(table))
        org = OrganisationStore().ensure(conn, "property", "token")
        for before, after in pairs:
            stored = store.create(conn, org, USER_RESOURCE, _stored_form(before))
            new_doc = _stored_form(after) | {"userName": before["userName"]}
            store.replace(conn, org, USER_RESOURCE, stored, new_doc)
            afters.append(after | {"id": stored.id, "userName": before["userName"]})
        where = FilterCompiler(USER_RESOURCE, database.engine.dialect.name).compile(
            resolve_filter(_without_meta(f), USER_RESOURCE)
        )
        found = {
            row.id
            for row in conn.execute(select(resources.c.id).where(resources.c.org_pk == org, where))
        }
    expected = {d["id"] for d in afters if evaluate(_without_meta(f), d, USER_RESOURCE)}
    assert found == expected, format_filter(f)


def _stored_form(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k not in ("id", "meta")}


def _without_meta(f: Filter) -> Filter:
    """The filter with meta comparisons made trivially true: replaced documents keep the
    server's own timestamps, which the generated documents do not know."""
    if isinstance(f, And | Or):
        return type(f)(_without_meta(f.left), _without_meta(f.right))
    if isinstance(f, Not):
        return Not(_without_meta(f.inner))
    path = getattr(f, "path", None)
    if isinstance(path, AttrPath) and path.attr.lower() == "meta":
        return Present(AttrPath(None, "userName"))
    return f


def test_the_generated_filters_do_match_something() -> None:
    """Guard against a vacuous property: the generators do produce filters that select some
    users of a directory and not others."""

    def selective(example: tuple[list[dict[str, Any]], Filter]) -> bool:
        users, f = example
        matched = sum(evaluate(f, d, USER_RESOURCE) for d in users)
        return 0 < matched < len(users) and not isinstance(f, Present | Compare)

    found = find(
        st.tuples(directories, filters(USER_RESOURCE)),
        selective,
        settings=settings(max_examples=2000, database=None),
    )
    assert found is not None
