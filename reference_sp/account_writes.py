"""Where the business rules write: audit entries, new account rows and the count of seats held.

One user's reconciliation (a SCIM write, a sign-in) writes each at once (``Writes``). A pass over
the whole directory (``Accounts.reconcile_all``) holds them instead (``HeldWrites``) and writes a
batch of users in two statements, counting the seats it gives meanwhile: the rules never read
back an audit entry or another user's new account, and whoever reads the accounts table as a
whole (the waiting list, a user's own reconciliation) asks for ``flush`` first. Held rows are
tuples in the columns' order (``AUDIT_COLUMNS``, ``ACCOUNT_COLUMNS``), which SQLite's driver
takes as they are: a first start at 100k users holds 300,000 of them.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Connection, bindparam, delete, func, insert, select, update

from reference_sp import fastsql
from reference_sp.account_tables import account_users, audit_log
from reference_sp.fastsql import Prepared
from reference_sp.timeutil import iso


class AccountRow(NamedTuple):
    """A row of account_users: the account's last view of a user."""

    user_id: str
    org_pk: int
    user_name: str
    entitled: bool
    admin: bool
    license: str  # "held", "waiting" or "none"
    license_since: str | None


ACCOUNT_COLUMNS = AccountRow._fields

AUDIT_COLUMNS = ("org_pk", "at", "actor", "action", "user_id", "user_name", "detail")
_AUDIT = fastsql.InsertRows(audit_log, AUDIT_COLUMNS, "audit_")
_INSERT_ACCOUNT = fastsql.InsertRows(account_users, ACCOUNT_COLUMNS)
_UPDATE_ACCOUNT = (
    update(account_users)
    .where(account_users.c.user_id == bindparam("b_user_id"))
    .values(
        org_pk=bindparam("b_org_pk"),
        user_name=bindparam("b_user_name"),
        entitled=bindparam("b_entitled"),
        admin=bindparam("b_admin"),
        license=bindparam("b_license"),
        license_since=bindparam("b_license_since"),
    )
)
_DELETE_ACCOUNT = delete(account_users).where(account_users.c.user_id == bindparam("b_user_id"))
# PostgreSQL: the account's write carries the audit entries made before it, as a data-modifying
# CTE (one round trip for both); SQLite has no round trips to save.
_WITH_AUDIT = _AUDIT.many_statement.cte("audit_")


class _AccountWrite:
    """One way to write an account: alone, or with the audit entries (PostgreSQL)."""

    def __init__(self, statement: Any, columns: list[str] | None = None) -> None:
        self.alone = Prepared(statement, columns)
        self.with_audit = Prepared(statement.add_cte(_WITH_AUDIT), columns)


_ACCOUNT_INSERTED = _AccountWrite(insert(account_users), list(ACCOUNT_COLUMNS))
_ACCOUNT_UPDATED = _AccountWrite(_UPDATE_ACCOUNT)
_ACCOUNT_DELETED = _AccountWrite(_DELETE_ACCOUNT)
_SEAT_GIVEN = _AccountWrite(
    update(account_users)
    .where(account_users.c.user_id == bindparam("b_user_id"))
    .values(license="held", license_since=bindparam("b_since"))
)
_SEATS_HELD = Prepared(
    select(func.count())
    .select_from(account_users)
    .where(account_users.c.org_pk == bindparam("org_pk"), account_users.c.license == "held")
)


def audit_entry(
    clock: Callable[[], datetime],
    org_pk: int,
    action: str,
    *,
    actor: str = "scim",
    user_id: str | None = None,
    user_name: str | None = None,
    **detail: Any,
) -> dict[str, Any]:
    """The audit log's row for an entry made now."""
    return _entry(org_pk, iso(clock()), actor, action, user_id, user_name, detail_text(detail))


def _entry(
    org_pk: int,
    at: str,
    actor: str,
    action: str,
    user_id: str | None,
    user_name: str | None,
    detail: str,
) -> dict[str, Any]:
    return {
        "org_pk": org_pk,
        "at": at,
        "actor": actor,
        "action": action,
        "user_id": user_id,
        "user_name": user_name,
        "detail": detail,
    }


def write_audit(conn: Connection, entry: dict[str, Any]) -> None:
    fastsql.insert_rows(conn, _AUDIT, [entry])


def write_audits(conn: Connection, entries: list[dict[str, Any]]) -> None:
    """Write ``entries`` in their order, in one round trip."""
    fastsql.insert_rows(conn, _AUDIT, entries)


def seats_held(conn: Connection, org_pk: int) -> int:
    return int(fastsql.fetch_all(conn, _SEATS_HELD, {"org_pk": org_pk})[0][0])


class Writes:
    """The writes of one user's reconciliation: the account at once, the audit entries at the
    end (``done``), together (one round trip on PostgreSQL instead of one each)."""

    def __init__(
        self,
        conn: Connection,
        org_pk: int,
        clock: Callable[[], datetime],
        others_waiting: bool | None = None,
    ) -> None:
        self.conn = conn
        self.org_pk = org_pk
        self.clock = clock
        self.entries: list[dict[str, Any]] = []
        # The seats held, once counted by a pass that keeps the count (``HeldWrites``): kept up
        # to date with the changes it makes, the only ones to the accounts while it runs. One
        # user's rules count them from the table when a seat is to be given.
        self._seats: int | None = None
        # Whether a user other than this one waits for a seat, when read with the account: the
        # others' accounts do not change while this user's rules run.
        self._others_waiting = others_waiting

    def audit(self, action: str, **fields: Any) -> None:
        self.entries.append(audit_entry(self.clock, self.org_pk, action, **fields))

    def done(self) -> None:
        """The user's reconciliation is over: write the audit entries."""
        write_audits(self.conn, self.entries)
        self.entries.clear()

    def add_account(self, row: dict[str, Any]) -> None:
        self._write_account(_ACCOUNT_INSERTED, row)

    def update_account(self, user_id: str, values: dict[str, Any]) -> None:
        params = {f"b_{k}": v for k, v in values.items()}
        self._write_account(_ACCOUNT_UPDATED, {"b_user_id": user_id, **params})

    def delete_account(self, user_id: str) -> None:
        self._write_account(_ACCOUNT_DELETED, {"b_user_id": user_id})

    def give_seat(self, user_id: str, since: str) -> None:
        """A waiting user's seat: with the audit entries made so far (PostgreSQL), its own
        ``license-assigned`` included when made before."""
        self._write_account(_SEAT_GIVEN, {"b_user_id": user_id, "b_since": since})

    def _write_account(self, write: _AccountWrite, params: dict[str, Any]) -> None:
        """The account's write, with the audit entries made so far on PostgreSQL."""
        if self.entries and self.conn.dialect.name == "postgresql":
            fastsql.execute(self.conn, write.with_audit, params | _AUDIT.many_params(self.entries))
            self.entries.clear()
        else:
            fastsql.execute(self.conn, write.alone, params)

    def now(self) -> str:
        """The time now, as stored."""
        return iso(self.clock())

    def seats_held(self) -> int:
        if self._seats is not None:
            return self._seats
        return seats_held(self.conn, self.org_pk)

    def others_may_wait(self) -> bool:
        """False only when known that no other user waits for a seat."""
        return self._others_waiting is not False

    def seat_taken(self) -> None:
        """A seat was just given (unless counted here, the count reads it from the table)."""
        if self._seats is not None:
            self._seats += 1

    def seat_returned(self) -> None:
        """The user's seat was just given back."""
        if self._seats is not None:
            self._seats -= 1


class HeldWrites(Writes):
    """The same writes held until ``flush``; the seats held counted here once read."""

    def __init__(self, conn: Connection, org_pk: int, clock: Callable[[], datetime]) -> None:
        super().__init__(conn, org_pk, clock)
        self.audit_rows: list[tuple[Any, ...]] = []  # in AUDIT_COLUMNS' order
        self.account_rows: list[tuple[Any, ...]] = []  # in ACCOUNT_COLUMNS' order

    def audit(self, action: str, **fields: Any) -> None:
        entry = audit_entry(self.clock, self.org_pk, action, **fields)
        self.audit_rows.append(tuple(entry[c] for c in AUDIT_COLUMNS))

    def done(self) -> None:
        """Held until ``flush``."""

    def add_account(self, row: dict[str, Any]) -> None:
        self.account_rows.append(tuple(row[c] for c in ACCOUNT_COLUMNS))

    def seats_held(self) -> int:
        if self._seats is None:
            self._seats = super().seats_held()
        return self._seats

    def seat_taken(self) -> None:
        self._seats = self.seats_held() + 1

    def flush(self) -> None:
        """Write what is held. The accounts table may change behind the count after this (the
        caller reconciles a user the usual way): it is read again when next asked for."""
        fastsql.insert_many(self.conn, _INSERT_ACCOUNT, self.account_rows)
        fastsql.insert_many(self.conn, _AUDIT, self.audit_rows)
        self.account_rows.clear()
        self.audit_rows.clear()
        self._seats = None


def detail_text(detail: dict[str, Any]) -> str:
    """The entry's detail as JSON. A pass over the directory writes the same few details (the
    product, the seats, active) over and over: those of plain values are made once."""
    try:
        return _plain_detail_text(tuple((k, type(v), v) for k, v in detail.items()))
    except TypeError:  # a value that cannot be a key (a list): made each time
        return json.dumps(detail, sort_keys=True)


@functools.lru_cache(maxsize=256)
def _plain_detail_text(items: tuple[tuple[str, type, Any], ...]) -> str:
    # The type is part of the key: True and 1 are equal keys but different JSON.
    return json.dumps({k: v for k, _, v in items}, sort_keys=True)
