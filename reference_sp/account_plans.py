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
from reference_sp.account_writes import HeldWrites, Writes, detail_text
from reference_sp.accounts import Accounts
from reference_sp.organisation import Organisation
from reference_sp.timeutil import iso

_DATE = None  # a step of a plan: the clock read for the license's date


@dataclass
class _Plan:
    steps: list[tuple[str, str, str] | None] = field(default_factory=list)  # action, actor, detail
    account: dict[str, Any] | None = None  # the row, its id, name and date to be filled in
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
        self.plan.account = dict(row)
        self.plan.dated = row["license_since"] is not None and row["license_since"] is self._date

    def seats_held(self) -> int:
        return self.held.seats_held()

    def seat_taken(self) -> None:
        self.held.seat_taken()
        self.plan.takes_seat = True


class NewAccounts:
    """The new accounts of one sweep, through ``held``."""

    def __init__(
        self, accounts: Accounts, conn: Connection, organisation: Organisation, held: HeldWrites
    ) -> None:
        self.accounts = accounts
        self.conn = conn
        self.organisation = organisation
        self.held = held
        self._plans: dict[tuple[Any, ...], _Plan] = {}

    def add(
        self,
        kind: tuple[Any, ...],
        user_id: str,
        user_name: str,
        has_devices: bool,
        standing: Callable[[], Standing],
    ) -> None:
        """Judge the new account of a user of ``kind`` (all that the judgement depends on but
        the user's id and name); ``standing`` gives the user's standing, when it is needed."""
        if has_devices:
            now = standing()
            judged = Judgement.of(self.organisation, user_id, None, now)
            self.accounts.apply(self.conn, self.organisation, None, judged, self.held)
            return
        key = (kind, self.held.seats_held() < self.organisation.seats)
        plan = self._plans.get(key)
        if plan is None:
            recorder = _Recorder(self.held)
            judged = Judgement.of(self.organisation, user_id, None, standing())
            self.accounts.apply(self.conn, self.organisation, None, judged, recorder)
            self._plans[key] = recorder.plan
            return
        self._follow(plan, user_id, user_name)

    def _follow(self, plan: _Plan, user_id: str, user_name: str) -> None:
        date = None
        for step in plan.steps:
            if step is _DATE:
                date = iso(self.held.clock())
            else:
                action, actor, detail = step
                self.held.add_entry(action, actor, user_id, user_name, detail)
        if plan.account is not None:
            row = plan.account | {"user_id": user_id, "user_name": user_name}
            if plan.dated:
                row["license_since"] = date
            self.held.add_account(row)
        if plan.takes_seat:
            self.held.seat_taken()
