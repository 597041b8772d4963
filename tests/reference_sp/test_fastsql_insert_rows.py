"""``fastsql.insert_rows``: rows inserted together (one JSON parameter on PostgreSQL) arrive as a
row-by-row INSERT would write them: in order, every value's type kept, nulls, floats JSON cannot
hold, and a string too long for its column refused. On SQLite, and on PostgreSQL where
SSO_HARNESS_TEST_PG is set."""

from __future__ import annotations

import math
import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import (
    Boolean,
    Column,
    Engine,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    select,
)

from reference_sp import fastsql
from reference_sp.db import normalise_url

PG = os.environ.get("SSO_HARNESS_TEST_PG")

metadata = MetaData()
samples = Table(
    f"insert_rows_{uuid.uuid4().hex[:8]}",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("n", Integer),
    Column("x", Float),
    Column("flag", Boolean),
    Column("short", String(5)),
    Column("body", Text),
)
COLUMNS = ["n", "x", "flag", "short", "body"]
SAMPLES = fastsql.InsertRows(samples, COLUMNS)


@pytest.fixture(
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
)
def engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    if request.param == "postgresql":
        if not PG:
            pytest.skip("SSO_HARNESS_TEST_PG is not set")
        made = create_engine(normalise_url(PG))
    else:
        made = create_engine("sqlite://")
    metadata.create_all(made)
    yield made
    metadata.drop_all(made)
    made.dispose()


def _rows(n: int) -> list[dict[str, Any]]:
    return [
        {
            "n": i * 40_000,  # past int2, as psycopg would type an array of them
            "x": None if i % 2 else i / 3,
            "flag": bool(i % 3),
            "short": f"s{i}",
            "body": f'line "{i}"\n\\ é',
        }
        for i in range(n)
    ]


def _stored(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(select(samples).order_by(samples.c.seq)).all()
    return [{k: row._mapping[k] for k in COLUMNS} for row in rows]


@pytest.mark.parametrize("count", [1, 2, 7])
def test_rows_arrive_in_order_with_their_values(engine: Engine, count: int) -> None:
    rows = _rows(count)
    with engine.begin() as conn:
        fastsql.insert_rows(conn, SAMPLES, rows)
        fastsql.insert_rows(conn, SAMPLES, [])
    assert _stored(engine) == rows


def test_floats_json_cannot_hold_are_stored(engine: Engine) -> None:
    rows = _rows(3)
    for row, value in zip(rows, (math.inf, -math.inf, math.nan), strict=True):
        row["x"] = value
    with engine.begin() as conn:
        fastsql.insert_rows(conn, SAMPLES, rows)
    stored = [row["x"] for row in _stored(engine)]
    assert stored[:2] == [math.inf, -math.inf]
    if engine.dialect.name == "postgresql":  # SQLite stores a NaN as NULL
        assert math.isnan(stored[2])


def test_a_string_too_long_for_its_column_is_refused_not_cut(engine: Engine) -> None:
    if engine.dialect.name == "sqlite":
        pytest.skip("SQLite does not enforce a VARCHAR's length")
    rows = _rows(2)
    rows[1]["short"] = "far too long"
    import psycopg

    with pytest.raises(psycopg.DataError, match="too long"), engine.begin() as conn:
        fastsql.insert_rows(conn, SAMPLES, rows)
    assert _stored(engine) == []
