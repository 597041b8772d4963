"""Schema migrations: a database made by the release before migrations is upgraded at the SP's
start with its rows kept, a new one gets the whole schema, and one at the head costs no
migration work. On SQLite, and on PostgreSQL where SSO_HARNESS_TEST_PG is set."""

from __future__ import annotations

import hashlib
import importlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, inspect, select, text
from starlette.testclient import TestClient

from harness.protocol.scim.schema import USER_SCHEMA
from reference_sp import account_tables, migrations
from reference_sp.app import ReferenceSP, Settings
from reference_sp.db import make_engine, normalise_url
from reference_sp.tables import metadata

TOKEN = "migration-token"
PG = os.environ.get("SSO_HARNESS_TEST_PG")
needs_pg = pytest.mark.skipif(not PG, reason="SSO_HARNESS_TEST_PG is not set")
baseline = importlib.import_module("reference_sp.migrations.versions.v0001_baseline")
assert account_tables.account_users.metadata is metadata  # every table is in ``metadata``


def _own_schema_url(url: str) -> str:
    """A schema of its own for this test on the shared database, so that dropping and
    creating tables here never meets another test's tables."""
    import psycopg

    schema = f"migrations_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    base = url.split("?", 1)[0]
    return f"{base}?options=-csearch_path%3D{schema}"


def _drop_schema(url: str) -> None:
    import psycopg

    schema = url.rsplit("%3D", 1)[1]
    with psycopg.connect(url.split("?", 1)[0], autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=needs_pg)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'sp.sqlite3'}"
        return
    assert PG is not None
    url = _own_schema_url(PG)
    yield url
    _drop_schema(url)


def _plain_engine(url: str) -> Engine:
    """An engine that creates nothing: the database as another program sees it."""
    return create_engine(normalise_url(url))


def _rows_made_by_the_sp(tmp_path: Path) -> dict[str, list[dict[str, Any]]]:
    """An organisation, a provisioned user (resource, indexed values, account row) and the
    audit entries, as the store writes them."""
    sp = ReferenceSP(Settings(db_url=f"sqlite:///{tmp_path / 'scratch.sqlite3'}"))
    try:
        sp.add_organisation("default", TOKEN)
        with TestClient(sp.app) as http:
            body = {"schemas": [USER_SCHEMA], "userName": "kept@example.com", "active": True}
            headers = {"Authorization": f"Bearer {TOKEN}"}
            created = http.post("/scim/v2/Users", json=body, headers=headers)
            assert created.status_code == 201, created.text
        with sp.db.engine.connect() as conn:
            return {
                name: [dict(row._mapping) for row in conn.execute(select(table))]
                for name, table in metadata.tables.items()
            }
    finally:
        sp.close()


def _make_previous_release_database(url: str, rows: dict[str, list[dict[str, Any]]]) -> None:
    """The tables as the previous release's ``create_all`` made them, no version table, and
    the rows (without the columns that release did not have)."""
    engine = _plain_engine(url)
    try:
        baseline.metadata.create_all(engine)
        with engine.begin() as conn:
            for table in baseline.metadata.sorted_tables:
                kept = [{k: v for k, v in r.items() if k in table.c} for r in rows[table.name]]
                if kept:
                    conn.execute(table.insert(), kept)
                serial = table.autoincrement_column
                if kept and serial is not None and conn.dialect.name == "postgresql":
                    # rows inserted with their keys: the sequence goes on after them, as it
                    # does in a database that made the rows itself
                    conn.execute(
                        text("SELECT setval(pg_get_serial_sequence(:t, :c), :n)"),
                        {"t": table.name, "c": serial.name, "n": max(r[serial.name] for r in kept)},
                    )
    finally:
        engine.dispose()


def _columns(engine: Engine, table: str) -> set[str]:
    return {column["name"] for column in inspect(engine).get_columns(table)}


def test_the_head_constant_names_the_last_revision() -> None:
    config = Config()
    config.set_main_option("script_location", "reference_sp:migrations")
    assert ScriptDirectory.from_config(config).get_heads() == [migrations.HEAD]


def test_the_baseline_is_the_current_schema_without_what_came_after() -> None:
    """The baseline's frozen tables differ from tables.py by what later revisions add."""
    later = {("organizations", "rules_fingerprint")}
    later_indexes = {"ix_activations_pending", "ix_authn_requests_expires"}
    assert set(baseline.metadata.tables) == set(metadata.tables)
    for name, table in metadata.tables.items():
        old = baseline.metadata.tables[name]
        current = {
            (c.name, repr(c.type), c.nullable) for c in table.c if (name, c.name) not in later
        }
        assert {(c.name, repr(c.type), c.nullable) for c in old.c} == current, name
        indexes = {i.name for i in table.indexes} - later_indexes
        assert {i.name for i in old.indexes} == indexes, name


def _assert_at_head_with_the_schema_of_tables_py(engine: Engine) -> None:
    with engine.connect() as conn:
        assert migrations.current_revision(conn) == migrations.HEAD
        differences = compare_metadata(MigrationContext.configure(conn), metadata)
    assert differences == []
    _assert_partial_resource_indexes(engine)


# Alembic's comparison does not look at an index's WHERE: read the definitions themselves.
_PARTIAL_INDEXES = {
    "ix_resources_org_type_external_id": "external_id IS NOT NULL",
    "ix_resources_org_type_display_name": "display_name_ci IS NOT NULL",
}


def _assert_partial_resource_indexes(engine: Engine) -> None:
    """Revision 0004: the two indexes hold only the rows with a value."""
    if engine.dialect.name == "sqlite":
        query = text("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = :name")
    else:
        query = text(
            "SELECT indexdef FROM pg_indexes WHERE indexname = :name"
            " AND schemaname = current_schema()"
        )
    with engine.connect() as conn:
        for name, predicate in _PARTIAL_INDEXES.items():
            definition = conn.execute(query, {"name": name}).scalar_one()
            assert predicate in definition.replace("(", "").replace(")", ""), definition


def test_a_new_database_gets_the_schema_of_tables_py(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        _assert_at_head_with_the_schema_of_tables_py(engine)
    finally:
        engine.dispose()


def test_the_revisions_replayed_on_an_empty_database_build_the_schema_of_tables_py(
    db_url: str,
) -> None:
    """A new SQLite database is created from ``tables.py`` at once; the revisions, replayed one
    by one, must build the same schema, or an upgraded database would differ from a new one."""
    engine = _plain_engine(db_url)
    try:
        migrations.replay(engine)
        _assert_at_head_with_the_schema_of_tables_py(engine)
    finally:
        engine.dispose()


def test_a_previous_release_database_is_upgraded_at_start_and_keeps_its_rows(
    db_url: str, tmp_path: Path
) -> None:
    rows = _rows_made_by_the_sp(tmp_path)
    _make_previous_release_database(db_url, rows)
    plain = _plain_engine(db_url)
    assert "rules_fingerprint" not in _columns(plain, "organizations")
    assert not inspect(plain).has_table(migrations.VERSION_TABLE)

    sp = ReferenceSP(Settings(db_url=db_url))
    try:
        assert "rules_fingerprint" in _columns(plain, "organizations")
        assert "ix_activations_pending" in {
            i["name"] for i in inspect(plain).get_indexes("activations")
        }
        _assert_partial_resource_indexes(plain)
        with plain.connect() as conn:
            assert migrations.current_revision(conn) == migrations.HEAD
            token_sha256 = conn.execute(select(baseline.organizations.c.scim_token_sha256)).scalar()
            audit = conn.execute(select(baseline.audit_log)).all()
        assert token_sha256 == hashlib.sha256(TOKEN.encode()).hexdigest()
        assert len(audit) == len(rows["audit_log"]) > 0
        sp.add_organisation("default", TOKEN)  # the start of ``sso-harness sp`` does so
        with TestClient(sp.app) as http:
            headers = {"Authorization": f"Bearer {TOKEN}"}
            found = http.get(
                "/scim/v2/Users",
                params={"filter": 'userName eq "KEPT@example.com"'},
                headers=headers,
            )
        assert found.status_code == 200, found.text
        assert [u["id"] for u in found.json()["Resources"]] == [r["id"] for r in rows["resources"]]
    finally:
        sp.close()
        plain.dispose()


def test_a_start_at_the_head_does_no_migration_work(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_engine(db_url).dispose()

    def refuse(*_args: Any, **_kwargs: Any) -> None:
        raise AssertionError("migrations ran on a database at the head")

    monkeypatch.setattr("alembic.command.upgrade", refuse)
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            assert migrations.current_revision(conn) == migrations.HEAD
    finally:
        engine.dispose()


def test_a_database_between_the_releases_is_upgraded_too(db_url: str) -> None:
    """Made by a development version: the current tables, already with the new column, and
    no version table. Adopted without adding the column twice."""
    engine = _plain_engine(db_url)
    try:
        metadata.create_all(engine)
        make_engine(db_url).dispose()
        with engine.connect() as conn:
            assert migrations.current_revision(conn) == migrations.HEAD
            assert compare_metadata(MigrationContext.configure(conn), metadata) == []
    finally:
        engine.dispose()
