"""The business-account rules, driven by SCIM provisioning.

Every SCIM write calls :meth:`Accounts.on_scim_change` inside its transaction. For each user
the write may touch, the account's last view of the user (``account_users``) is compared with
what the store now says, and each difference has its effects, audited one entry per effect:

- a user may sign in while active in SCIM (``entitled``); losing that (active=false, DELETE)
  ends their sessions, removes the admin role, returns the license seat (handed to the next
  one waiting) and revokes their device activations;
- admin exactly while entitled and a member of the organisation's admin group (by display
  name, without regard to case);
- a license seat for each entitled user (or each member of the license group when one is
  configured), first come first served; when none is free the user waits in line.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, bindparam, func, select

from reference_sp import access_ending, account_writes, activation_store, fastsql
from reference_sp.account_rules import Judgement, Standing, scim_active
from reference_sp.account_tables import account_users
from reference_sp.account_writes import ACCOUNT_COLUMNS, AccountRow, Writes
from reference_sp.fastsql import Prepared
from reference_sp.organisation import Organisation
from reference_sp.organisation_routing import OrganisationRouting
from reference_sp.scim.service import ScimChange
from reference_sp.tables import memberships, organizations, resources
from reference_sp.timeutil import iso

_GROUP = resources.alias("grp")
Audit = Callable[..., None]  # Accounts.audit with the connection, organisation and user bound

# The statements every SCIM write runs through the listener, prebuilt (see reference_sp.fastsql).
_ACCOUNT = Prepared(
    select(*(account_users.c[name] for name in ACCOUNT_COLUMNS)).where(
        account_users.c.user_id == bindparam("user_id")
    )
)
# The rules' first read in one statement: the user's account (none: NULLs) and whether anyone
# else waits for a seat (when no one does, a seat given back is handed on without reading the
# waiting list: only the rules change the accounts, under the organisation's lock). The seats
# held are not counted here: a count costs as many index entries as seats are held (1.5 ms at
# 50,000), so it is read only when a seat is to be given.
_WAITS = account_users.alias("waits")
_ACCOUNT_AND_WAITING = Prepared(
    select(
        select(_WAITS.c.user_id)
        .where(
            _WAITS.c.org_pk == bindparam("org_pk"),
            _WAITS.c.license == "waiting",
            _WAITS.c.entitled.is_(True),
            _WAITS.c.user_id != bindparam("user_id"),
        )
        .exists(),
        *(account_users.c[name] for name in ACCOUNT_COLUMNS),
    )
    .select_from(
        organizations.outerjoin(account_users, account_users.c.user_id == bindparam("user_id"))
    )
    .where(organizations.c.pk == bindparam("org_pk"))
)
_USER_DOC = Prepared(
    select(resources.c.pk, resources.c.doc).where(
        resources.c.id == bindparam("id"),
        resources.c.org_pk == bindparam("org_pk"),
        resources.c.rtype == "User",
    )
)
_USER_NAMED_ANYWHERE = Prepared(
    select(resources.c.id)
    .where(resources.c.rtype == "User", resources.c.user_name_ci == bindparam("name"))
    .limit(1)
)
_USER_NAMED = Prepared(
    select(resources.c.id)
    .where(
        resources.c.rtype == "User",
        resources.c.user_name_ci == bindparam("name"),
        resources.c.org_pk == bindparam("org_pk"),
    )
    .limit(1)
)
_GROUP_NAMES = Prepared(
    select(_GROUP.c.display_name_ci)
    .select_from(memberships.join(_GROUP, _GROUP.c.pk == memberships.c.group_pk))
    .where(memberships.c.member_pk == bindparam("pk"))
)
_WAITING = Prepared(
    select(account_users.c.user_id, account_users.c.user_name)
    .where(
        account_users.c.org_pk == bindparam("org_pk"),
        account_users.c.license == "waiting",
        account_users.c.entitled.is_(True),
    )
    .order_by(account_users.c.license_since, account_users.c.user_id)
    .limit(bindparam("free"))
)
_LOCKS_HELD = "sso_harness_organisations_locked"  # in Connection.info: (transaction, org_pks)
_LOCK_ORGANISATION = Prepared(
    select(organizations.c.pk)
    .where(organizations.c.pk == bindparam("org_pk"))
    .with_for_update(key_share=True)
)


class _Unknown:
    """A user's standing not known yet: read it from the store."""


UNKNOWN = _Unknown()


class Accounts:
    def __init__(
        self,
        organisations: OrganisationRouting,
        clock: Callable[[], datetime],
        flaws: frozenset[str],
    ) -> None:
        self.organisations = organisations
        self.clock = clock
        self.flaws = flaws

    # ------------------------------------------------------------------------------ audit

    def audit(
        self,
        conn: Connection,
        org_pk: int,
        action: str,
        *,
        actor: str = "scim",
        user_id: str | None = None,
        user_name: str | None = None,
        **detail: Any,
    ) -> None:
        entry = account_writes.audit_entry(
            self.clock, org_pk, action, actor=actor, user_id=user_id, user_name=user_name, **detail
        )
        account_writes.write_audit(conn, entry)

    # --------------------------------------------------------------------------- standing

    def standing(self, conn: Connection, org_pk: int, user_id: str) -> Standing | None:
        row = fastsql.fetch_one(conn, _USER_DOC, {"id": user_id, "org_pk": org_pk})
        if row is None:
            return None
        pk, doc_text = row
        doc = json.loads(doc_text)
        groups = [g for (g,) in fastsql.fetch_all(conn, _GROUP_NAMES, {"pk": pk})]
        return Standing(
            user_id,
            str(doc.get("userName", "")),
            scim_active(doc),
            frozenset(g or "" for g in groups),
        )

    def find_user(self, conn: Connection, org_pk: int, user_name: str) -> str | None:
        """The SCIM id of the organisation's user whose userName is ``user_name`` (any case)."""
        if "match-users-across-organisations" in self.flaws:
            row = fastsql.fetch_one(conn, _USER_NAMED_ANYWHERE, {"name": user_name.lower()})
        else:
            row = fastsql.fetch_one(
                conn, _USER_NAMED, {"name": user_name.lower(), "org_pk": org_pk}
            )
        return str(row[0]) if row is not None else None

    def account(self, conn: Connection, user_id: str) -> Any:
        row = fastsql.fetch_one(conn, _ACCOUNT, {"user_id": user_id})
        return AccountRow(*row) if row is not None else None

    # ------------------------------------------------------------------------- listeners

    def on_scim_change(self, conn: Connection, change: ScimChange) -> None:
        organisation = self.organisations.get(change.org_pk)
        if organisation is None:
            return
        if change.resource_type == "User":
            self.lock(conn, organisation)
            self.reconcile(conn, organisation, change.resource_id, _standing_after(change))
            return
        watched = {
            n.lower()
            for n in (
                organisation.admin_group,
                organisation.license_group,
                organisation.access_group,
            )
            if n
        }
        names = {
            str(r.doc.get("displayName", "")).lower()
            for r in (change.before, change.after)
            if r is not None
        }
        if not names & watched:
            return
        users: set[str] = set()
        for stored in (change.before, change.after):
            if stored is not None and stored.members:
                users.update(m.id for m in stored.members if m.type == "User")
        self.lock(conn, organisation)
        for user_id in sorted(users):
            self.reconcile(conn, organisation, user_id)

    def lock(self, conn: Connection, organisation: Organisation) -> None:
        """Serialise the organisation's account changes: seats are counted, then assigned, so two
        concurrent provisioning requests must not both take the last seat (PostgreSQL; SQLite
        transactions are serialised already)."""
        self.lock_organisation(conn, organisation.org_pk)

    @staticmethod
    def lock_organisation(conn: Connection, org_pk: int) -> None:
        """Lock the organisation's row until the transaction ends (PostgreSQL).

        FOR NO KEY UPDATE, not FOR UPDATE: every row inserted with a foreign key to the
        organisation takes a KEY SHARE lock on it, which FOR UPDATE conflicts with, so two
        creators that had each inserted their user then deadlocked asking for FOR UPDATE. NO KEY
        UPDATE conflicts only with itself (and with UPDATE and DELETE of the row): writers queue
        on it, inserts never block it. SCIM writes take it first thing (ScimEndpoints
        .before_write), so writers also meet every other row lock in the same order."""
        if conn.dialect.name == "sqlite":
            return
        if _first_lock(conn, org_pk):  # the SCIM write's hook takes it, the rules ask again
            fastsql.fetch_all(conn, _LOCK_ORGANISATION, {"org_pk": org_pk})

    # ------------------------------------------------------------------------- the rules

    def reconcile(
        self,
        conn: Connection,
        organisation: Organisation,
        user_id: str,
        known: Standing | _Unknown | None = UNKNOWN,
    ) -> None:
        """Bring the user's account in line with what the store says of them now (``known``:
        that standing, when the caller has just written it; else it is read)."""
        prior, others_waiting = _account_and_waiting(conn, organisation.org_pk, user_id)
        now = (
            self.standing(conn, organisation.org_pk, user_id)
            if isinstance(known, _Unknown)
            else known
        )
        if prior is None and now is None:
            return
        judged = Judgement.of(organisation, user_id, prior, now)
        writes = Writes(conn, organisation.org_pk, self.clock, others_waiting=others_waiting)
        self.apply(conn, organisation, prior, judged, writes)

    def apply(
        self,
        conn: Connection,
        organisation: Organisation,
        prior: Any,
        judged: Judgement,
        writes: Writes,
    ) -> None:
        """Give the judgement its effects: sessions ended, audit entries, the license settled,
        the account written."""
        audit = functools.partial(writes.audit, **judged.who)
        revoked = None  # the devices revoked already, with the sessions (PostgreSQL)
        if judged.was_entitled and not judged.entitled:
            revoked = self._end_sessions(conn, judged, audit)
        _audit_access(organisation, prior, judged, audit)
        license_state, license_since = self._settle_license(
            conn, organisation, judged, audit, writes, revoked
        )
        values = {
            "org_pk": organisation.org_pk,
            "user_name": judged.user_name,
            "entitled": judged.entitled,
            "admin": judged.admin,
            "license": license_state,
            "license_since": license_since,
        }
        if judged.now is None and license_state == "none":
            writes.delete_account(judged.user_id)
        elif prior is None:
            writes.add_account({"user_id": judged.user_id, **values})
        else:
            writes.update_account(judged.user_id, values)
        if prior is not None and str(prior.license) == "held" and license_state != "held":
            writes.seat_returned()
            self.hand_on_seats(conn, organisation, writes)
        writes.done()

    def _end_sessions(
        self, conn: Connection, judged: Judgement, audit: Audit
    ) -> list[tuple[str, str]] | None:
        """End the user's sessions; on PostgreSQL revoke their devices in the same statement
        and return them (id, device id), audited later in the rules' order; else None."""
        if "keep-sessions-on-deprovision" in self.flaws:
            return None
        revoke_reason = judged.revoke_reason if self.revokes_devices(judged) else None
        ended, revoked = access_ending.end_access(
            conn, judged.user_id, iso(self.clock()), judged.lost_because, revoke_reason
        )
        if ended:
            audit("sessions-ended", count=ended, reason=judged.lost_because)
        return revoked

    def returns_license(self, judged: Judgement) -> bool:
        """Whether the user gives back their seat or leaves the waiting list."""
        keeps_license = (  # the flaw keeps a deactivated user's seat
            "keep-license-on-deactivate" in self.flaws
            and judged.now is not None
            and not judged.now.active
            and judged.license == "held"
        )
        return judged.license in ("held", "waiting") and not judged.wants_seat and not keeps_license

    def revokes_devices(self, judged: Judgement) -> bool:
        return (
            judged.revoke_reason is not None and "keep-activations-on-deprovision" not in self.flaws
        )

    def _settle_license(
        self,
        conn: Connection,
        organisation: Organisation,
        judged: Judgement,
        audit: Audit,
        writes: Writes,
        revoked: list[tuple[str, str]] | None = None,
    ) -> tuple[str, str | None]:
        """Return, revoke or assign: the license state and its date after the change
        (``revoked``: the devices revoked already, to audit only)."""
        license_state, license_since = judged.license, judged.license_since
        revoke_reason = judged.revoke_reason
        if self.returns_license(judged):
            returned = "license-returned" if license_state == "held" else "license-wait-cancelled"
            audit(returned, reason=revoke_reason or judged.lost_because)
            license_state, license_since = "none", None
        if revoke_reason is not None and self.revokes_devices(judged):
            done = revoked is not None
            devices = revoked if done else activation_store.active_of(conn, judged.user_id)
            for activation_id, device in devices or ():
                if not done:
                    activation_store.revoke(conn, activation_id, iso(self.clock()), revoke_reason)
                audit(
                    "activation-revoked",
                    activation=activation_id,
                    device=device,
                    reason=revoke_reason,
                )
        if judged.wants_seat and license_state == "none":
            license_since = writes.now()
            if writes.seats_held() < organisation.seats:
                license_state = "held"
                writes.seat_taken()
                audit("license-assigned", product=organisation.product)
            else:
                license_state = "waiting"
                audit("license-waiting", seats=organisation.seats)
        return license_state, license_since

    # --------------------------------------------------------------------------- licenses

    @staticmethod
    def seats_held(conn: Connection, org_pk: int) -> int:
        return account_writes.seats_held(conn, org_pk)

    def hand_on_seats(
        self, conn: Connection, organisation: Organisation, writes: Writes | None = None
    ) -> None:
        """Give free seats to those waiting, longest wait first; audited through ``writes``
        (written when the caller is done with them) when given."""
        own = writes is None
        writes = writes or Writes(conn, organisation.org_pk, self.clock)
        free = organisation.seats - writes.seats_held() if writes.others_may_wait() else 0
        waiting = (
            fastsql.fetch_all(conn, _WAITING, {"org_pk": organisation.org_pk, "free": free})
            if free > 0
            else []
        )
        for user_id, user_name in waiting:
            since = iso(self.clock())
            # Audited first: the entry rides with the seat's write (PostgreSQL), in its order.
            writes.audit(
                "license-assigned",
                user_id=user_id,
                user_name=user_name,
                product=organisation.product,
                from_waiting_list=True,
            )
            writes.give_seat(user_id, since)
        if own:
            writes.done()

    def waiting_position(self, conn: Connection, org_pk: int, user_id: str) -> int | None:
        row = self.account(conn, user_id)
        if row is None or row.license != "waiting":
            return None
        ahead = conn.execute(
            select(func.count())
            .select_from(account_users)
            .where(
                account_users.c.org_pk == org_pk,
                account_users.c.license == "waiting",
                (account_users.c.license_since < row.license_since)
                | and_(
                    account_users.c.license_since == row.license_since,
                    account_users.c.user_id < user_id,
                ),
            )
        ).scalar_one()
        return int(ahead) + 1


def _audit_access(organisation: Organisation, prior: Any, judged: Judgement, audit: Audit) -> None:
    """Audit what changed of the user's access and admin role."""
    now = judged.now
    if prior is None and now is not None:
        audit("user-provisioned", active=now.active)
    elif judged.was_entitled != judged.entitled and now is not None:
        gained = "user-activated" if organisation.access_group is None else "user-assigned"
        audit(gained if judged.entitled else judged.lost_because)
    elif now is None:
        audit("user-deleted")
    if judged.admin != judged.was_admin:
        audit("admin-granted" if judged.admin else "admin-revoked", cause=judged.admin_cause)


def _account_and_waiting(conn: Connection, org_pk: int, user_id: str) -> tuple[Any, bool | None]:
    """The user's account (None for none) and whether another user waits for a seat (None when
    the organisation's row is gone: then the waiting list is read when asked for, as before)."""
    row = fastsql.fetch_one(conn, _ACCOUNT_AND_WAITING, {"org_pk": org_pk, "user_id": user_id})
    if row is None:
        found = fastsql.fetch_one(conn, _ACCOUNT, {"user_id": user_id})
        return (AccountRow(*found) if found is not None else None), None
    account = AccountRow(*row[1:]) if row[1] is not None else None
    return account, bool(row[0])


def _standing_after(change: ScimChange) -> Standing | _Unknown | None:
    """The user's standing as the change just wrote it, when the change carries all of it
    (the document and the user's groups); a deleted user has none."""
    if change.kind == "deleted":
        return None
    after = change.after
    if after is None or after.groups is None:
        return UNKNOWN
    return Standing(
        after.id,
        str(after.doc.get("userName", "")),
        scim_active(after.doc),
        frozenset((g.display or "").lower() for g in after.groups),
    )


def _first_lock(conn: Connection, org_pk: int) -> bool:
    """Whether the organisation's lock is asked for the first time in this transaction."""
    transaction = conn.get_transaction()
    held = conn.info.get(_LOCKS_HELD)
    if held is None or held[0] is not transaction:
        held = conn.info[_LOCKS_HELD] = (transaction, set[int]())
    first = org_pk not in held[1]
    held[1].add(org_pk)
    return first
