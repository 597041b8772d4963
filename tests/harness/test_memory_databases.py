"""Worlds reuse in-memory databases: what one scenario's SP wrote is gone for the next."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from harness.memory_databases import lent_database
from harness.provisioning import provision
from harness.scenario.loader import discover
from harness.steps import add_user
from harness.world import World
from reference_sp.tables import metadata

SCENARIO = (
    Path(__file__).parents[2] / "scenarios/sso_login/sp-initiated-sign-in-for-each-preset.yaml"
)


def _rows(world: World) -> int:
    assert world.reference is not None
    with world.reference.db.engine.connect() as conn:
        return sum(
            conn.execute(select(func.count()).select_from(t)).scalar_one()
            for t in metadata.sorted_tables
        )


def test_the_next_world_gets_the_same_database_emptied() -> None:
    run = discover([SCENARIO])[0]
    with World.open(run, seed=0) as first:
        add_user(first, "dana", [], active=True)
        provision(first, "initial", "rfc")
        assert first.reference is not None
        engine = first.reference.db.engine
        assert _rows(first) > 0
    with World.open(run, seed=0) as second:
        assert second.reference is not None
        assert second.reference.db.engine is engine  # lent again, not made anew
        assert _rows(second) == 1  # only the organisation the new world registered


def test_a_database_that_cannot_be_emptied_is_not_lent_again() -> None:
    with lent_database() as engine:
        with engine.begin() as conn:  # a table the rows cannot be deleted from
            conn.exec_driver_sql("DROP TABLE audit_log")
        broken = engine
    with lent_database() as engine:
        assert engine is not broken
