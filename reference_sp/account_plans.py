"""New accounts of a sweep (reference_sp.account_sweep) written from one plan per kind of user.

What the rules do for a user judged for the first time depends only on the user's standing
without their id and name (active, the rules' groups) and on whether a seat is free: which
audit entries, read the clock when, which account row. The first user of each kind goes
through ``Accounts.apply``, recorded on the way; every later one is written from the record
with their own id, name and clock readings: the rows ``Accounts.apply`` writes, without
judging again (a directory loaded behind the SP's back brings 100,000 new accounts at once).
A user with an active device is never planned: their devices are revoked one by one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection

from reference_sp.account_rules import Judgement, Standing
from reference_sp.account_writes import (
    ACCOUNT_COLUMNS,
    AUDIT_COLUMNS,
    HeldWrites,
    Writes,
    detail_text,
)
from reference_sp.accounts import Accounts
from reference_sp.organisation import Organisation
from reference_sp.timeutil import iso

_DATE = None  # a step of a plan: the clock read for the license's date
# NewAccounts._follow makes rows by position, in these orders of the columns.
_ACCOUNT_ORDER = ("user_id", "org_pk", "user_name", "entitled", "admin", "license", "license_since")
_AUDIT_ORDER = ("org_pk", "at", "actor", "action", "user_id", "user_name", "detail")
if (ACCOUNT_COLUMNS, AUDIT_COLUMNS) != (_ACCOUNT_ORDER, _AUDIT_ORDER):
    raise AssertionError("rows are made in another order of columns than the statements'")


@dataclass
class _Plan:
    steps: list[tuple[str, str, str] | None] = field(default_factory=list)  # action, actor, detail
    # The account row recorded, in ACCOUNT_COLUMNS' order: each user's own id, name and (when
    # ``dated``) date read take the place of the first user's.
    account: tuple[Any, ...] | None = None
    dated: bool = False  # the row's license_since is the date read
    takes_seat: bool = False


class _Recorder(Writes):
    """The held writes, kept in order as a plan on the way."""

    def __init__(self, held: HeldWrites) -> None:
        super().__init__(held.conn, held.org_pk, held.clock)
        self.held = held
        self.plan = _Plan()
        self._date: str | None = None

    def audit(self, action: str, **fields: Any) -> None:
        self.held.audit(action, **fields)
        fields.pop("user_id")
        fields.pop("user_name")
        actor = fields.pop("actor", "scim")
        self.plan.steps.append((action, actor, detail_text(fields)))

    def now(self) -> str:
        self._date = self.held.now()
        self.plan.steps.append(_DATE)
        return self._date

    def add_account(self, row: dict[str, Any]) -> None:
        self.held.add_account(row)
        self.plan.account = tuple(row[c] for c in ACCOUNT_COLUMNS)
        self.plan.dated = row["license_since"] is not None and row["license_since"] is self._date

    def seats_held(self) -> int:
        return self.held.seats_held()

    def seat_taken(self) -> None:
        self.held.seat_taken()
        self.plan.takes_seat = True


class NewAccounts:
    """The new accounts of one sweep, through ``held``; ``standing_of`` gives the standing of a
    user from what the sweep read of them (``source``), when a judgement needs it."""

    def __init__(
        self,
        accounts: Accounts,
        conn: Connection,
        organisation: Organisation,
        held: HeldWrites,
        standing_of: Callable[[Any], Standing],
    ) -> None:
        self.accounts = accounts
        self.conn = conn
        self.organisation = organisation
        self.held = held
        self.standing_of = standing_of
        self._plans: dict[tuple[Any, ...], _Plan] = {}

    def add(
        self, kind: tuple[Any, ...], user_id: str, user_name: str, has_devices: bool, source: Any
    ) -> None:
        """Judge the new account of a user of ``kind`` (all that the judgement depends on but
        the user's id and name)."""
        if has_devices:
            judged = Judgement.of(self.organisation, user_id, None, self.standing_of(source))
            self.accounts.apply(self.conn, self.organisation, None, judged, self.held)
            return
        key = (kind, self.held.seats_held() < self.organisation.seats)
        plan = self._plans.get(key)
        if plan is None:
            recorder = _Recorder(self.held)
            judged = Judgement.of(self.organisation, user_id, None, self.standing_of(source))
            self.accounts.apply(self.conn, self.organisation, None, judged, recorder)
            self._plans[key] = recorder.plan
            return
        self._follow(plan, user_id, user_name)

    def _follow(self, plan: _Plan, user_id: str, user_name: str) -> None:
        # Run for every new account but the first of its kind: the rows are made here, straight
        # into the held lists, with no mapping per row.
        held = self.held
        clock, org_pk, entries = held.clock, held.org_pk, held.audit_rows
        date = None
        for step in plan.steps:
            if step is _DATE:
                date = iso(clock())
            else:
                action, actor, detail = step
                entries.append((org_pk, iso(clock()), actor, action, user_id, user_name, detail))
        if plan.account is not None:
            _, org, _, entitled, admin, license_state, since = plan.account
            since = date if plan.dated else since
            held.account_rows.append(
                (user_id, org, user_name, entitled, admin, license_state, since)
            )
        if plan.takes_seat:
            held.seat_taken()
