"""Every user of an organisation judged again at once: at start, for a new organisation or
one whose rules changed (reference_sp.app), with the outcome of reconciling each user in turn.

The rules judge a user by their standing (userName, active, membership of the groups the rules
name) against their account row, and revoke the devices of one who may not sign in. Read user
by user, that is several statements a user. Here each batch of users (in the order of their
ids) takes five: where the batch ends, the users' two fields the rules read (picked out of the
stored documents by the database's JSON functions: parsing 100,000 documents in Python takes
seconds), their memberships of the rules' groups, their account rows, and which of them have
an active device. At most a batch is held in memory.

Judged here, a user whose account already holds what the judgement says is left alone; a new
account takes the rules' own path with its writes held and written with the batch
(reference_sp.account_writes.HeldWrites); any other user takes the one-user path
(``Accounts.reconcile``: its reads, sessions ended, seats handed on).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any, NamedTuple

from sqlalchemy import (
    ColumnElement,
    Connection,
    bindparam,
    cast,
    column,
    func,
    literal_column,
    select,
    true,
)
from sqlalchemy.dialects.postgresql import JSONB

from reference_sp import fastsql
from reference_sp.account_rules import Judgement, Standing
from reference_sp.account_tables import account_users, activations
from reference_sp.account_writes import ACCOUNT_COLUMNS, AccountRow, HeldWrites
from reference_sp.accounts import Accounts
from reference_sp.fastsql import Prepared
from reference_sp.organisation import Organisation
from reference_sp.tables import memberships, resources

BATCH = 5000
_GROUP = resources.alias("grp")
_MEMBER = resources.alias("member")
_STRING = ("text", "string")  # a JSON string, as SQLite's json_type and PostgreSQL's name it
_NO_GROUPS: frozenset[str] = frozenset()
_WHOLE: ColumnElement[Any] = literal_column("'{}'")  # a JSON value's own path: #>> gives its text


class Seen(NamedTuple):
    """A user's standing as the store says it (reference_sp.account_rules.Standing, without
    the id): of the groups, only those the rules name."""

    user_name: str
    active: bool
    groups_ci: frozenset[str]


class Unreadable:
    """A document whose fields the JSON functions cannot give as Python reads them (a userName
    that is not a string): the user takes the one-user path, which reads the whole document."""


UNREADABLE = Unreadable()


class SweptUser(NamedTuple):
    user_id: str
    account: Any  # AccountRow, or None before the user's first judgement
    seen: Seen | Unreadable | None  # None: no such SCIM user (deleted)
    has_devices: bool  # an active device activation


def reconcile_all(
    accounts: Accounts, conn: Connection, organisation: Organisation, batch: int = BATCH
) -> None:
    """Bring every user of the organisation in line: as ``Accounts.reconcile`` for each user in
    the order of their ids, then free seats handed on."""
    accounts.lock(conn, organisation)
    held = HeldWrites(conn, organisation.org_pk, accounts.clock)
    settled: dict[tuple[Any, ...], bool] = {}  # by all that the judgement depends on
    for users in batches(conn, organisation, batch):
        for user in users:
            seen, prior = user.seen, user.account
            if isinstance(seen, Seen) and prior is None:
                now = Standing(user.user_id, *seen)
                judged = Judgement.of(organisation, user.user_id, None, now)
                accounts.apply(conn, organisation, None, judged, held)
                continue
            if isinstance(seen, Seen) and prior is not None:
                key = (
                    seen.active,
                    seen.groups_ci,
                    prior.entitled,
                    prior.admin,
                    prior.license,
                    prior.org_pk == organisation.org_pk,
                    prior.user_name == seen.user_name,
                    user.has_devices,
                )
                known = settled.get(key)
                if known is None:
                    now = Standing(user.user_id, *seen)
                    judged = Judgement.of(organisation, user.user_id, prior, now)
                    known = settled[key] = _settled(
                        accounts, organisation, judged, prior, user.has_devices
                    )
                if known:
                    continue
            held.flush()  # the one-user path reads the accounts table
            accounts.reconcile(conn, organisation, user.user_id)
        held.flush()
    accounts.hand_on_seats(conn, organisation)


def _settled(
    accounts: Accounts,
    organisation: Organisation,
    judged: Judgement,
    prior: Any,
    has_devices: bool,
) -> bool:
    """Whether reconciling the user would change nothing: their account already holds what the
    judgement says (organisation, name, access, admin role, license) and no device of theirs
    is left to revoke."""
    return (
        judged.now is not None
        and prior.org_pk == organisation.org_pk
        and str(prior.user_name) == judged.user_name
        and bool(prior.entitled) == judged.entitled
        and bool(prior.admin) == judged.admin
        and not accounts.returns_license(judged)
        and not (judged.wants_seat and judged.license == "none")
        and not (has_devices and accounts.revokes_devices(judged))
    )


def batches(
    conn: Connection, organisation: Organisation, size: int = BATCH
) -> Iterator[list[SweptUser]]:
    """Every SCIM user of the organisation and every account of it, by id, ``size`` of each
    at most per batch."""
    org_pk = organisation.org_pk
    names = (organisation.admin_group, organisation.license_group, organisation.access_group)
    watched = sorted({n.lower() for n in names if n})
    after = ""
    while True:
        last = _last_of_batch(conn, org_pk, after, size)
        statements = _statements(conn.dialect.name, last is not None)
        span = {"org_pk": org_pk, "after": after, "last": last}
        users = {row[0]: row for row in fastsql.fetch_all(conn, statements.users, span)}
        groups: dict[str, set[str]] = {}
        if watched:
            for user_id, name in fastsql.fetch_all(
                conn, statements.groups, span | {"watched": watched}
            ):
                groups.setdefault(user_id, set()).add(name)
        accounts = {
            row[0]: AccountRow(*row)
            for row in fastsql.fetch_all(conn, statements.accounts, span)
            if row[1] == org_pk or row[0] in users  # as each user's own reconciliation reads it
        }
        devices = {
            user_id
            for user_id, status in fastsql.fetch_all(conn, statements.devices, span)
            if status == "active"
        }
        yield [
            SweptUser(
                user_id,
                accounts.get(user_id),
                _seen(users.get(user_id), groups.get(user_id)),
                user_id in devices,
            )
            for user_id in sorted(users.keys() | accounts.keys())
        ]
        if last is None:
            return
        after = last


def _seen(row: Any, groups: set[str] | None) -> Seen | Unreadable | None:
    """The standing from the picked fields, as reference_sp.account_rules.scim_active and
    Accounts.standing read the document."""
    if row is None:
        return None
    _, name_type, name, active_type, active_value = row
    if name_type not in _STRING or not isinstance(name, str):
        return UNREADABLE
    if active_type in _STRING:
        active = str(active_value).strip().lower() != "false"
    else:  # absent, null, a number...: active unless it is false
        active = active_type != "false" and not (
            active_type == "boolean" and active_value == "false"
        )
    return Seen(name, active, frozenset(groups) if groups else _NO_GROUPS)


# Every statement here walks ids in order (the unique index on resources.id, the primary key of
# account_users). The organisation is compared as ``org_pk + 0``, which no index serves:
# without statistics, SQLite would otherwise take the organisation's index, which holds all
# its users, and read every one of them for each batch.
_USERS_ORG = resources.c.org_pk + 0 == bindparam("org_pk")
_MEMBERS_ORG = _MEMBER.c.org_pk + 0 == bindparam("org_pk")
_ACCOUNTS_ORG = account_users.c.org_pk + 0 == bindparam("org_pk")

_LAST_USER = Prepared(
    select(resources.c.id)
    .where(
        _USERS_ORG,
        resources.c.rtype == "User",
        resources.c.id > bindparam("after"),
    )
    .order_by(resources.c.id)
    .limit(1)
    .offset(bindparam("offset"))
)
_LAST_ACCOUNT = Prepared(
    select(account_users.c.user_id)
    .where(
        _ACCOUNTS_ORG,
        account_users.c.user_id > bindparam("after"),
    )
    .order_by(account_users.c.user_id)
    .limit(1)
    .offset(bindparam("offset"))
)


def _last_of_batch(conn: Connection, org_pk: int, after: str, size: int) -> str | None:
    """The last id of the batch after ``after``: the nearer of the ``size``-th user and the
    ``size``-th account; None when fewer than that of both are left."""
    span = {"org_pk": org_pk, "after": after, "offset": size - 1}
    bounds = [
        rows[0][0]
        for rows in (
            fastsql.fetch_all(conn, _LAST_USER, span),
            fastsql.fetch_all(conn, _LAST_ACCOUNT, span),
        )
        if rows
    ]
    return min(bounds) if bounds else None


class _Statements(NamedTuple):
    users: Prepared
    groups: Prepared
    accounts: Prepared
    devices: Prepared


@functools.cache
def _statements(dialect: str, bounded: bool) -> _Statements:
    """The batch's statements on ``dialect``, up to the batch's last id when ``bounded``."""

    def within(id_column: Any) -> list[ColumnElement[bool]]:
        conditions = [id_column > bindparam("after")]
        if bounded:
            conditions.append(id_column <= bindparam("last"))
        return conditions

    return _Statements(
        users=Prepared(
            _users(dialect).where(
                _USERS_ORG,
                resources.c.rtype == "User",
                *within(resources.c.id),
            )
        ),
        groups=Prepared(
            select(_MEMBER.c.id, _GROUP.c.display_name_ci)
            .select_from(
                memberships.join(_GROUP, _GROUP.c.pk == memberships.c.group_pk).join(
                    _MEMBER, _MEMBER.c.pk == memberships.c.member_pk
                )
            )
            .where(
                _MEMBERS_ORG,
                _MEMBER.c.rtype == "User",
                *within(_MEMBER.c.id),
                _GROUP.c.display_name_ci.in_(bindparam("watched", expanding=True)),
            )
        ),
        accounts=Prepared(
            select(*(account_users.c[name] for name in ACCOUNT_COLUMNS)).where(
                *within(account_users.c.user_id)
            )
        ),
        # The status is compared in Python: SQLite would take the index on it, every active one.
        devices=Prepared(
            select(activations.c.user_id, activations.c.status).where(
                *within(activations.c.user_id)
            )
        ),
    )


def _users(dialect: str) -> Any:
    """Each user's id, then userName and active as (JSON type, value) pairs."""
    doc = resources.c.doc
    if dialect == "postgresql":
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
        ).select_from(resources.join(fields, true()))
    return select(
        resources.c.id,
        func.json_type(doc, "$.userName"),
        func.json_extract(doc, "$.userName"),
        func.json_type(doc, "$.active"),
        func.json_extract(doc, "$.active"),
    )
