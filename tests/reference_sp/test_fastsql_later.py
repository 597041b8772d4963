"""Statements sent later (reference_sp.fastsql.execute_later): on PostgreSQL they wait on the
connection and go with the next statement or the COMMIT; every database sees them in the order
written, and a rollback drops them with the rest of the transaction."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import bindparam, func, insert, select

from reference_sp import fastsql
from reference_sp.db import Database, make_engine
from reference_sp.tables import metadata, organizations

_NAMED = fastsql.Prepared(
    insert(organizations).values(name=bindparam("name"), scim_token_sha256=bindparam("token"))
)
_COUNT = fastsql.Prepared(select(func.count()).select_from(organizations))


def _urls() -> list[Any]:
    urls: list[Any] = ["sqlite://"]
    pg = os.environ.get("SSO_HARNESS_TEST_PG")
    if pg:
        urls.append(pytest.param(pg, marks=pytest.mark.postgres, id="postgresql"))
    return urls


@pytest.fixture(params=_urls())
def db(request: pytest.FixtureRequest) -> Iterator[Database]:
    database = Database(make_engine(request.param))
    if database.engine.dialect.name == "postgresql":
        metadata.drop_all(database.engine)
        metadata.create_all(database.engine)
    yield database
    database.close()


def _count(db: Database) -> int:
    with db.transaction(write=False) as conn:
        return int(fastsql.fetch_all(conn, _COUNT, {})[0][0])


def test_a_statement_sent_later_is_seen_by_the_next_and_committed(db: Database) -> None:
    with db.transaction() as conn:
        fastsql.execute_later(conn, _NAMED, {"name": "a", "token": "ta"})
        fastsql.execute_many_later(
            conn, _NAMED, [{"name": "b", "token": "tb"}, {"name": "c", "token": "tc"}]
        )
        assert fastsql.fetch_all(conn, _COUNT, {})[0][0] == 3  # sent before this read
        fastsql.execute_later(conn, _NAMED, {"name": "d", "token": "td"})
        # Through SQLAlchemy too: what waits goes first.
        assert conn.execute(select(func.count()).select_from(organizations)).scalar() == 4
        fastsql.execute_later(conn, _NAMED, {"name": "e", "token": "te"})  # with the COMMIT
    assert _count(db) == 5


def test_a_rollback_drops_what_waits(db: Database) -> None:
    with pytest.raises(RuntimeError), db.transaction() as conn:
        fastsql.execute_later(conn, _NAMED, {"name": "a", "token": "ta"})
        raise RuntimeError("the request failed")
    assert _count(db) == 0
    with db.transaction() as conn:  # the next transaction on that connection sends none of it
        fastsql.execute_later(conn, _NAMED, {"name": "b", "token": "tb"})
    assert _count(db) == 1


def test_a_failing_statement_sent_later_fails_its_transaction(db: Database) -> None:
    with pytest.raises(fastsql.IntegrityErrors), db.transaction() as conn:
        fastsql.execute_later(conn, _NAMED, {"name": "a", "token": "ta"})
        fastsql.execute_later(conn, _NAMED, {"name": "a", "token": "ta"})  # the same name
    assert _count(db) == 0
