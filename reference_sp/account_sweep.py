"""Every user of an organisation judged again at once: at start, for a new organisation or
one whose rules changed (reference_sp.app), with the outcome of reconciling each user in turn.

The rules judge a user by their standing (userName, active, membership of the groups the rules
name) against their account row, and revoke the devices of one who may not sign in. Read user
by user, that is several statements a user. Here a batch of users (in the order of their ids)
takes three: where the batch ends, then one row per user holding all the rules read of them
(userName and active picked out of the stored document by the database's JSON functions:
parsing 100,000 documents in Python takes seconds), then the accounts left without a user.
At most a batch is held in memory.

The verdict on a user depends only on a few values of that row (its key), so it is reached
once per key, not once per user: a user whose account already holds what the judgement says
is left alone; new accounts are written with the batch (reference_sp.account_writes.HeldWrites),
from one plan per kind of user (reference_sp.account_plans); any other user takes the one-user path
(``Accounts.reconcile``: its reads, sessions ended, seats handed on).
"""

from __future__ import annotations

import enum
import functools
import heapq
from collections.abc import Iterator
from typing import Any, NamedTuple

from sqlalchemy import (
    ColumnElement,
    Connection,
    bindparam,
    cast,
    column,
    exists,
    func,
    literal_column,
    select,
    true,
)

from reference_sp import fastsql
from reference_sp.account_plans import NewAccounts
from reference_sp.account_rules import Judgement, Standing
from reference_sp.account_tables import account_users, activations
from reference_sp.account_writes import AccountRow, HeldWrites
from reference_sp.accounts import Accounts
from reference_sp.fastsql import Prepared
from reference_sp.organisation import Organisation
from reference_sp.tables import memberships, resources

BATCH = 5000
_STRING = ("text", "string")  # a JSON string, as SQLite's json_type and PostgreSQL's name it
_WHOLE: ColumnElement[Any] = literal_column("'{}'")  # a JSON value's own path: #>> gives its text

# A batch's row: the user's id, the document's userName and active as (JSON type, value), an
# active device, the account's columns after user_id (all None: no account yet), then one
# flag per group the rules name.
_ID, _NAME_TYPE, _NAME, _ACTIVE_TYPE, _ACTIVE, _DEVICES, _ORG = range(7)
_ACCOUNT = slice(_ORG, _ORG + 6)
_GROUPS = _ORG + 6
_ACCOUNT_NAME, _ENTITLED, _ADMIN, _LICENSE = _ORG + 1, _ORG + 2, _ORG + 3, _ORG + 4


class Verdict(enum.Enum):
    SETTLED = "the account already holds the judgement"
    NEW = "a new account"
    RECONCILE = "the one-user path"


def reconcile_all(
    accounts: Accounts, conn: Connection, organisation: Organisation, batch: int = BATCH
) -> None:
    """Bring every user of the organisation in line: as ``Accounts.reconcile`` for each user in
    the order of their ids, then free seats handed on."""
    accounts.lock(conn, organisation)
    watched = _watched(organisation)
    held = HeldWrites(conn, organisation.org_pk, accounts.clock)
    new_accounts = NewAccounts(
        accounts, conn, organisation, held, functools.partial(_new_standing, watched=watched)
    )
    verdicts: dict[tuple[Any, ...], Verdict] = {}
    for rows in _batches(conn, organisation.org_pk, watched, batch):
        for row in rows:
            key = _key(row, organisation.org_pk)
            verdict = verdicts.get(key)
            if verdict is None:
                verdict = verdicts[key] = _verdict(accounts, organisation, watched, row)
            if verdict is Verdict.SETTLED:
                continue
            if verdict is Verdict.NEW:
                new_accounts.add(key, row[_ID], row[_NAME], row[_DEVICES], row)
                continue
            held.flush()  # the one-user path reads the accounts table
            accounts.reconcile(conn, organisation, row[_ID])
        held.flush()
    accounts.hand_on_seats(conn, organisation)


def _key(row: Any, org_pk: int) -> tuple[Any, ...]:
    """All of the row the verdict depends on: not the user's id, name or dates."""
    return (
        row[_NAME_TYPE],
        type(row[_NAME]),
        row[_ACTIVE_TYPE],
        row[_ACTIVE],
        row[_DEVICES],
        row[_ORG] is None,
        row[_ORG] == org_pk,
        row[_NAME] == row[_ACCOUNT_NAME],
        row[_ENTITLED],
        row[_ADMIN],
        row[_LICENSE],
        *row[_GROUPS:],
    )


def _verdict(
    accounts: Accounts, organisation: Organisation, watched: list[str], row: Any
) -> Verdict:
    now = _standing(row, watched)
    if now is None:  # no such user (deleted), or a document only Python reads as it should
        return Verdict.RECONCILE
    if row[_ORG] is None:
        return Verdict.NEW
    prior = AccountRow(row[_ID], *row[_ACCOUNT])
    judged = Judgement.of(organisation, row[_ID], prior, now)
    settled = (  # reconciling would change nothing
        prior.org_pk == organisation.org_pk
        and str(prior.user_name) == judged.user_name
        and bool(prior.entitled) == judged.entitled
        and bool(prior.admin) == judged.admin
        and not accounts.returns_license(judged)
        and not (judged.wants_seat and judged.license == "none")
        and not (row[_DEVICES] and accounts.revokes_devices(judged))
    )
    return Verdict.SETTLED if settled else Verdict.RECONCILE


def _standing(row: Any, watched: list[str]) -> Standing | None:
    """The user's standing as Accounts.standing reads it from the document (of the groups,
    only those the rules name); None when the row cannot give it."""
    name_type, name, active_type, active = row[_NAME_TYPE:_DEVICES]
    if name_type not in _STRING or not isinstance(name, str):
        return None
    if active_type in _STRING:  # as reference_sp.account_rules.scim_active reads it
        is_active = str(active).strip().lower() != "false"
    else:  # absent, null, a number...: active unless it is false
        is_active = active_type != "false" and not (active_type == "boolean" and active == "false")
    groups = frozenset(g for g, member in zip(watched, row[_GROUPS:], strict=True) if member)
    return Standing(row[_ID], name, is_active, groups)


def _new_standing(row: Any, watched: list[str]) -> Standing:
    """The standing of a user whose verdict is NEW: one the row gives."""
    now = _standing(row, watched)
    if now is None:
        raise AssertionError("a new account's verdict comes from its standing")
    return now


def _watched(organisation: Organisation) -> list[str]:
    names = (organisation.admin_group, organisation.license_group, organisation.access_group)
    return sorted({n.lower() for n in names if n})


def _batches(conn: Connection, org_pk: int, watched: list[str], size: int) -> Iterator[list[Any]]:
    """The rows of every SCIM user of the organisation and every account of it, by id, at most
    ``size`` users and ``size`` accounts per batch. The database orders the ids: SCIM ids are
    UUIDs, which every collation orders as Python's ``sorted`` does."""
    after = ""
    while True:
        last = _last_of_batch(conn, after, size)
        statements = _statements(conn.dialect.name, last is not None, len(watched))
        span = {"org_pk": org_pk, "after": after, "last": last}
        span |= {f"group_{n}": name for n, name in enumerate(watched)}
        rows = fastsql.fetch_all(conn, statements.users, span)
        with_user = sum(1 for row in rows if row[_ORG] == org_pk)
        if fastsql.fetch_all(conn, statements.accounts, span)[0][0] > with_user:
            # Accounts whose user is gone: rows of their own, in id order among the rest.
            left = fastsql.fetch_all(conn, statements.accounts_left, span)
            gone = [
                (a[0], None, None, None, None, a[-1], *a[1:-1], *[0] * len(watched)) for a in left
            ]
            rows = list(heapq.merge(rows, gone, key=lambda r: r[_ID]))
        yield rows
        if last is None:
            return
        after = last


# Every statement here walks ids in order (the unique index on resources.id, the primary key of
# account_users). The organisation is compared as ``org_pk + 0``, which no index serves:
# without statistics, SQLite would otherwise take the organisation's index, which holds all
# its users, and read every one of them for each batch.
_USERS_ORG = resources.c.org_pk + 0 == bindparam("org_pk")
_ACCOUNTS_ORG = account_users.c.org_pk + 0 == bindparam("org_pk")


# Where a batch ends: counted in the indexes alone, over every organisation's resources and
# accounts (a batch then holds fewer of this organisation's, never more).
def _nth_after(id_column: Any) -> Prepared:
    """The ``offset``-th id after ``after`` (from 0), in the column's index alone."""
    return Prepared(
        select(id_column)
        .where(id_column > bindparam("after"))
        .order_by(id_column)
        .limit(1)
        .offset(bindparam("offset"))
    )


_LAST_RESOURCE = _nth_after(resources.c.id)
_LAST_ACCOUNT = _nth_after(account_users.c.user_id)


def _last_of_batch(conn: Connection, after: str, size: int) -> str | None:
    """The last id of the batch after ``after``: the nearer of the ``size``-th resource and
    the ``size``-th account; None when fewer than that of both are left."""
    span = {"after": after, "offset": size - 1}
    bounds = [
        rows[0][0]
        for rows in (
            fastsql.fetch_all(conn, _LAST_RESOURCE, span),
            fastsql.fetch_all(conn, _LAST_ACCOUNT, span),
        )
        if rows
    ]
    return min(bounds) if bounds else None


class _Statements(NamedTuple):
    users: Prepared
    accounts: Prepared  # how many
    accounts_left: Prepared


@functools.cache
def _statements(dialect: str, bounded: bool, groups: int) -> _Statements:
    """The batch's statements on ``dialect``, up to the batch's last id when ``bounded``, for
    rules that name ``groups`` groups."""

    def within(id_column: Any) -> list[ColumnElement[bool]]:
        conditions = [id_column > bindparam("after")]
        if bounded:
            conditions.append(id_column <= bindparam("last"))
        return conditions

    def has_devices(user_id: Any) -> Any:
        return exists().where(activations.c.user_id == user_id, activations.c.status == "active")

    group = resources.alias("grp")
    in_groups = [
        exists()
        .select_from(memberships.join(group, group.c.pk == memberships.c.group_pk))
        .where(
            memberships.c.member_pk == resources.c.pk,
            group.c.display_name_ci == bindparam(f"group_{n}"),
        )
        for n in range(groups)
    ]
    account = [account_users.c[name] for name in AccountRow._fields[1:]]
    users = (
        _document_fields(dialect, has_devices(resources.c.id), *account, *in_groups)
        .outerjoin(account_users, account_users.c.user_id == resources.c.id)
        .where(_USERS_ORG, resources.c.rtype == "User", *within(resources.c.id))
        .order_by(resources.c.id)
    )
    accounts_left = (
        select(account_users.c.user_id, *account, has_devices(account_users.c.user_id))
        .where(
            _ACCOUNTS_ORG,
            *within(account_users.c.user_id),
            ~exists().where(
                resources.c.id == account_users.c.user_id,
                resources.c.org_pk == bindparam("org_pk"),
                resources.c.rtype == "User",
            ),
        )
        .order_by(account_users.c.user_id)
    )
    accounts = select(func.count()).where(_ACCOUNTS_ORG, *within(account_users.c.user_id))
    return _Statements(Prepared(users), Prepared(accounts), Prepared(accounts_left))


def _document_fields(dialect: str, *more: Any) -> Any:
    """Each user's id, userName and active as (JSON type, value) pairs, then ``more``."""
    doc = resources.c.doc
    if dialect == "postgresql":
        # Imported here: SQLAlchemy's PostgreSQL dialects cost a start on SQLite 0.1 s.
        from sqlalchemy.dialects.postgresql import JSONB

        # The document parsed once per row, its two fields taken from the record.
        fields = (
            func.jsonb_to_record(cast(doc, JSONB))
            .table_valued(column("userName", JSONB), column("active", JSONB))
            .render_derived(name="fields", with_types=True)
        )
        return select(
            resources.c.id,
            func.jsonb_typeof(fields.c.userName),
            fields.c.userName.op("#>>")(_WHOLE),
            func.jsonb_typeof(fields.c.active),
            fields.c.active.op("#>>")(_WHOLE),
            *more,
        ).select_from(resources.join(fields, true()))
    return select(
        resources.c.id,
        func.json_type(doc, "$.userName"),
        func.json_extract(doc, "$.userName"),
        func.json_type(doc, "$.active"),
        func.json_extract(doc, "$.active"),
        *more,
    )
