"""What provisioning works on: the directory's desired state, the IdP's memory of what it
sent, and one SCIM request or reply. Plain values, no I/O."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

# The user attributes a dialect maps, in the order their PATCH operations are written.
USER_ATTRIBUTES: tuple[str, ...] = (
    "user_name",
    "given_name",
    "family_name",
    "display_name",
    "email",
    "title",
    "department",
    "employee_number",
    "manager",
)


@dataclass(frozen=True)
class UserState:
    """One user as the IdP wants it at the SP. ``key`` is the IdP's own immutable id;
    ``manager`` is the manager's key (sent as the manager's SCIM id)."""

    key: str
    user_name: str
    external_id: str
    active: bool = True
    given_name: str | None = None
    family_name: str | None = None
    display_name: str | None = None
    email: str | None = None
    title: str | None = None
    department: str | None = None
    employee_number: str | None = None
    manager: str | None = None

    def changed_attributes(self, before: UserState) -> list[str]:
        return [a for a in USER_ATTRIBUTES if getattr(self, a) != getattr(before, a)]

    def with_active(self, active: bool) -> UserState:
        return replace(self, active=active)


@dataclass(frozen=True)
class GroupState:
    """One group as the IdP pushes it; ``members`` are user keys, ``member_groups`` the keys
    of pushed groups nested in it (sent only by dialects whose vendor nests groups)."""

    key: str
    display_name: str
    external_id: str
    members: frozenset[str] = frozenset()
    member_groups: frozenset[str] = frozenset()


@dataclass(frozen=True)
class DesiredState:
    """The assigned part of the directory: what the SP should hold after a cycle.

    ``users`` and ``groups`` are in scope; ``directory_users`` are the keys of every user the
    directory still has (in scope or not), which tells an unassignment from a deletion."""

    users: Mapping[str, UserState]
    groups: Mapping[str, GroupState]
    directory_users: frozenset[str] = frozenset()


@dataclass
class ProvisionedUser:
    """What the IdP remembers having written for one user (Entra calls it the escrow)."""

    scim_id: str
    sent: UserState
    in_scope: bool = True
    disabled_at: dt.datetime | None = None  # when it was soft-deleted (Entra's 30 days)


@dataclass
class ProvisionedGroup:
    scim_id: str
    display_name: str
    members: set[str] = field(default_factory=set)
    member_groups: set[str] = field(default_factory=set)


@dataclass
class ProvisionedState:
    """The IdP's memory of one SP: only writes the SP acknowledged change it, so whatever
    failed stays different from the desired state and the next cycle sends it again."""

    users: dict[str, ProvisionedUser] = field(default_factory=dict)
    groups: dict[str, ProvisionedGroup] = field(default_factory=dict)

    def user_id(self, key: str) -> str | None:
        record = self.users.get(key)
        return record.scim_id if record else None

    def names_by_id(self) -> dict[str, str]:
        """SCIM id -> a readable label (for traces and messages)."""
        names = {r.scim_id: f"user:{r.sent.user_name}" for r in self.users.values()}
        names.update({g.scim_id: f"group:{g.display_name}" for g in self.groups.values()})
        return names


@dataclass(frozen=True)
class ScimRequest:
    """One request, relative to the SCIM base URL: ``path`` like ``/Users/ID``."""

    method: str
    path: str
    query: tuple[tuple[str, str], ...] = ()
    body: Any = None

    def to_json(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "path": self.path,
            "query": [list(pair) for pair in self.query],
            "body": self.body,
        }


@dataclass(frozen=True)
class ScimReply:
    """The SP's answer. ``status`` 0 means no HTTP answer at all (``transport_error`` says why:
    timeout, connection refused); ``body`` is None when empty or not JSON (``garbage`` then)."""

    status: int
    body: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    transport_error: str | None = None
    garbage: bool = False

    @property
    def retry_after(self) -> float | None:
        raw = {k.lower(): v for k, v in self.headers.items()}.get("retry-after")
        if raw is None:
            return None
        try:
            return max(0.0, float(raw))
        except ValueError:
            return None
