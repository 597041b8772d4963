"""Judging the whole directory at once (reference_sp.account_sweep, at start or after a rules
change) gives exactly what reconciling each user in turn gives: the same accounts, the same
audit entries in the same order at the same instants, the same sessions ended and devices
revoked. The directory holds every kind of user the rules tell apart, some of them changed
behind the SP's back (as a database restored or edited by hand would be)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Connection, delete, insert, select, update

from reference_sp import account_sweep, fastsql
from reference_sp.account_tables import account_users, activations, audit_log, sp_sessions
from reference_sp.organisation import Organisation
from reference_sp.tables import resources
from tests.scim.conftest import ScimClient, database_urls

from .conftest import ADMINS, NOW, World, make_world
from .test_business_rules import activate

LICENSED = "Desktop Users"
STAFF = "Staff"
OTHER_TOKEN = "other-scim-token"


class _UndoError(Exception):
    """Raised to roll back the transaction once its outcome is read."""


@pytest.fixture(scope="module", params=database_urls())
def directory(request: pytest.FixtureRequest) -> Iterator[World]:
    """Three seats; users of every kind; some of them changed behind the SP's back."""
    for world in make_world(request.param, seats=3):
        _populate(world)
        yield world


def _populate(world: World) -> None:
    ids: dict[str, str] = {}

    def add(name: str, *, active: bool = True, groups: tuple[str, ...] = ()) -> None:
        ids[name] = world.provision(f"{name}@acme.test", active=active, groups=groups)["id"]
        world.clock.offset += timedelta(seconds=1)  # the waiting list orders by time

    add("holder", groups=(ADMINS, STAFF, LICENSED))  # a seat, signed in, a device
    world.sign_in("holder@acme.test")
    activate(world)
    add("admin", groups=(ADMINS,))
    add("plain")
    for n in range(4):  # beyond the three seats: waiting
        add(f"waiting{n}", groups=(LICENSED,) if n % 2 else (STAFF,))
    add("inactive", active=False, groups=(ADMINS,))
    add("inactive-with-device", active=False)
    add("entra", groups=(STAFF,))
    add("renamed", groups=(LICENSED,))
    add("deleted-behind", groups=(ADMINS,))
    add("never-judged")
    add("odd-name")
    add("unjudged-admin", groups=(ADMINS, LICENSED))
    world.provision("deleted@acme.test")
    world.delete(
        world.scim.filter("Users", 'userName eq "deleted@acme.test"').json()["Resources"][0]["id"]
    )
    other = world.sp.add_organisation("Other", OTHER_TOKEN, seats=1)
    other_scim = ScimClient(world.http, OTHER_TOKEN)
    for name in ("x@other.test", "y@other.test"):
        other_scim.create_user(name)

    with world.sp.db.transaction() as conn:
        _edit_doc(conn, ids["entra"], active="False")  # Entra ID's string boolean
        _edit_doc(conn, ids["renamed"], userName="Renamed@acme.test")
        _edit_doc(conn, ids["odd-name"], userName=12345)  # not a string: the slow path
        _edit_doc(conn, ids["holder"], active=False)  # signed in, a seat and a device
        conn.execute(delete(resources).where(resources.c.id == ids["deleted-behind"]))
        conn.execute(
            delete(account_users).where(
                account_users.c.user_id.in_([ids["never-judged"], ids["unjudged-admin"]])
            )
        )
        conn.execute(  # a device left active for a user already not entitled
            insert(activations).values(
                id="left-over",
                code="left-over-code",
                org_pk=world.org_pk,
                product="Example Desktop",
                client_version="19",
                device_id="pc",
                status="active",
                user_id=ids["inactive-with-device"],
                user_name="inactive-with-device@acme.test",
                created="2026-03-01T00:00:00.000000Z",
                expires="2026-03-02T00:00:00.000000Z",
            )
        )
    assert other  # the second organisation's accounts must come out untouched


def _edit_doc(conn: Connection, user_id: str, **fields: Any) -> None:
    doc = json.loads(
        conn.execute(select(resources.c.doc).where(resources.c.id == user_id)).scalar_one()
    )
    conn.execute(
        update(resources).where(resources.c.id == user_id).values(doc=json.dumps(doc | fields))
    )


def _ticking() -> Callable[[], datetime]:
    """A clock one microsecond later at each reading: entries made in another order, or with
    another number of readings, show."""
    count = 0

    def now() -> datetime:
        nonlocal count
        count += 1
        return NOW + timedelta(microseconds=count)

    return now


def _outcome(world: World, run: Callable[[Connection], None]) -> dict[str, list[Any]]:
    """What ``run`` leaves in the tables, rolled back afterwards."""
    start = world.sp.accounts.clock
    world.sp.accounts.clock = _ticking()
    found: dict[str, list[Any]] = {}
    try:
        with world.sp.db.transaction() as conn:
            last_seq = conn.execute(
                select(audit_log.c.seq).order_by(audit_log.c.seq.desc())
            ).scalar()
            run(conn)
            found["accounts"] = [
                tuple(r)
                for r in conn.execute(select(account_users).order_by(account_users.c.user_id))
            ]
            found["audit"] = [
                tuple(r)[1:]
                for r in conn.execute(
                    select(audit_log).where(audit_log.c.seq > last_seq).order_by(audit_log.c.seq)
                )
            ]
            found["sessions"] = [
                tuple(r)
                for r in conn.execute(
                    select(
                        sp_sessions.c.token_sha256, sp_sessions.c.ended, sp_sessions.c.ended_reason
                    ).order_by(sp_sessions.c.token_sha256)
                )
            ]
            found["activations"] = [
                tuple(r)
                for r in conn.execute(
                    select(
                        activations.c.id,
                        activations.c.status,
                        activations.c.ended,
                        activations.c.reason,
                    ).order_by(activations.c.id)
                )
            ]
            raise _UndoError
    except _UndoError:
        return found
    finally:
        world.sp.accounts.clock = start


def _one_by_one(world: World, organisation: Organisation) -> Callable[[Connection], None]:
    """The reference: every user of the organisation (and every account of it) reconciled in
    turn, in the order of their ids, then free seats handed on."""

    def run(conn: Connection) -> None:
        accounts = world.sp.accounts
        ids = set(
            conn.execute(
                select(resources.c.id).where(
                    resources.c.org_pk == organisation.org_pk, resources.c.rtype == "User"
                )
            ).scalars()
        )
        ids |= set(
            conn.execute(
                select(account_users.c.user_id).where(account_users.c.org_pk == organisation.org_pk)
            ).scalars()
        )
        for user_id in sorted(ids):
            accounts.reconcile(conn, organisation, user_id)
        accounts.hand_on_seats(conn, organisation)

    return run


RULE_CHANGES: dict[str, dict[str, Any]] = {
    "same rules": {},
    "admin group renamed": {"admin_group": STAFF},
    "fewer seats than holders": {"seats": 1},
    "more seats than holders": {"seats": 8},
    "a license group": {"license_group": LICENSED},
    "an access group": {"access_group": STAFF},
    "per-device subscription": {"subscription": "per-device"},
}
FLAWS = [
    frozenset(),
    frozenset({"keep-license-on-deactivate"}),
    frozenset({"keep-activations-on-deprovision", "keep-sessions-on-deprovision"}),
]


@pytest.mark.parametrize("flaws", FLAWS, ids=lambda f: "+".join(sorted(f)) or "strict")
@pytest.mark.parametrize("change", list(RULE_CHANGES))
def test_judging_all_at_once_is_reconciling_each_in_turn(
    directory: World, change: str, flaws: frozenset[str]
) -> None:
    world = directory
    organisation = _organisation(world, **RULE_CHANGES[change])
    world.sp.accounts.flaws = flaws
    try:
        expected = _outcome(world, _one_by_one(world, organisation))
        assert expected["audit"], "the change has effects to compare"
        for batch in (1, 3, account_sweep.BATCH):
            found = _outcome(
                world,
                lambda conn, b=batch: account_sweep.reconcile_all(
                    world.sp.accounts, conn, organisation, b
                ),
            )
            assert found == expected, f"batches of {batch}"
    finally:
        world.sp.accounts.flaws = world.sp.flaws


def test_a_first_judgement_of_every_account_is_reconciling_each_in_turn(directory: World) -> None:
    """Accounts never judged (a directory loaded behind the SP's back): all new at once."""
    world = directory
    organisation = _organisation(world)

    def forgetting(run: Callable[[Connection], None]) -> Callable[[Connection], None]:
        def forget_then_run(conn: Connection) -> None:
            conn.execute(delete(account_users).where(account_users.c.org_pk == world.org_pk))
            run(conn)

        return forget_then_run

    expected = _outcome(world, forgetting(_one_by_one(world, organisation)))
    for batch in (2, account_sweep.BATCH):
        found = _outcome(
            world,
            forgetting(
                lambda conn, b=batch: account_sweep.reconcile_all(
                    world.sp.accounts, conn, organisation, b
                )
            ),
        )
        assert found == expected, f"batches of {batch}"


@pytest.fixture(scope="module", params=database_urls())
def many_users(request: pytest.FixtureRequest) -> Iterator[World]:
    """More new accounts than one statement of held rows writes (account_writes, fastsql
    .insert_many), of several kinds, most of them waiting for one of three seats."""
    for world in make_world(request.param, seats=3):
        for n in range(2 * fastsql.ROWS_A_STATEMENT + 27):
            groups = (ADMINS,) if n % 5 == 0 else ()
            world.provision(f"user{n}@acme.test", active=n % 7 != 3, groups=groups, at_idp=False)
        yield world


def test_a_first_judgement_of_many_accounts_is_reconciling_each_in_turn(
    many_users: World,
) -> None:
    world = many_users
    organisation = _organisation(world)

    def forget_then(run: Callable[[Connection], None]) -> Callable[[Connection], None]:
        def forget_then_run(conn: Connection) -> None:
            conn.execute(delete(account_users).where(account_users.c.org_pk == world.org_pk))
            run(conn)

        return forget_then_run

    expected = _outcome(world, forget_then(_one_by_one(world, organisation)))
    assert len(expected["audit"]) > 2 * fastsql.ROWS_A_STATEMENT
    for batch in (7, account_sweep.BATCH):
        found = _outcome(
            world,
            forget_then(
                lambda conn, b=batch: account_sweep.reconcile_all(
                    world.sp.accounts, conn, organisation, b
                )
            ),
        )
        assert found == expected, f"batches of {batch}"


def test_a_second_pass_changes_nothing(directory: World) -> None:
    world = directory
    organisation = _organisation(world)
    once = _outcome(world, _one_by_one(world, organisation))

    def twice(conn: Connection) -> None:
        _one_by_one(world, organisation)(conn)
        account_sweep.reconcile_all(world.sp.accounts, conn, organisation)

    assert _outcome(world, twice) == once


def _organisation(world: World, **changes: Any) -> Organisation:
    organisation = world.sp.organisations.get(world.org_pk)
    assert organisation is not None
    return dataclasses.replace(organisation, **changes)
