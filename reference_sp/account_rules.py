"""The business-account rules for one user, as a judgement: what the SCIM store says of the
user now (``Standing``) against the account's last view of them, and what follows (entitled to
sign in, admin, wanting a seat, and why access is lost when it is). Pure: no database, no
clock; reference_sp.accounts applies the judgement and audits its effects."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from reference_sp.organisation import Organisation


@dataclass(frozen=True)
class Standing:
    """What the SCIM store says of a user now."""

    user_id: str
    user_name: str
    active: bool
    groups_ci: frozenset[str]

    def in_group(self, name: str | None) -> bool:
        return name is not None and name.lower() in self.groups_ci


def scim_active(doc: dict[str, Any]) -> bool:
    value = doc.get("active", True)  # absent: SCIM leaves it to the SP; an absent flag is active
    if isinstance(value, str):
        return value.strip().lower() != "false"
    return value is not False


@dataclass(frozen=True)
class Judgement:
    user_id: str
    user_name: str
    now: Standing | None  # None: the user is deleted
    entitled: bool  # may sign in: active (and a member of the access group, when there is one)
    admin: bool
    wants_seat: bool
    was_entitled: bool
    was_admin: bool
    license: str  # the license as the account last held it: "held", "waiting" or "none"
    license_since: str | None
    lost_because: str  # why access is lost, when it is: deleted, deactivated or unassigned

    @classmethod
    def of(
        cls, organisation: Organisation, user_id: str, prior: Any, now: Standing | None
    ) -> Judgement:
        """``prior`` is the account row (None for a user not seen before)."""
        entitled = (
            now is not None
            and now.active
            and (organisation.access_group is None or now.in_group(organisation.access_group))
        )
        in_license_group = organisation.license_group is None or (
            now is not None and now.in_group(organisation.license_group)
        )
        if now is None:
            lost_because = "user-deleted"
        else:
            lost_because = "user-deactivated" if not now.active else "user-unassigned"
        return cls(
            user_id=user_id,
            user_name=now.user_name if now is not None else str(prior.user_name),
            now=now,
            entitled=entitled,
            admin=entitled and now is not None and now.in_group(organisation.admin_group),
            wants_seat=entitled and organisation.subscription == "per-user" and in_license_group,
            was_entitled=bool(prior.entitled) if prior is not None else False,
            was_admin=bool(prior.admin) if prior is not None else False,
            license=str(prior.license) if prior is not None else "none",
            license_since=prior.license_since if prior is not None else None,
            lost_because=lost_because,
        )

    @property
    def who(self) -> dict[str, str]:
        return {"user_id": self.user_id, "user_name": self.user_name}

    @property
    def admin_cause(self) -> str:
        """Why the admin role changed: the group, or the user's access as a whole."""
        if self.entitled == self.was_entitled:
            return "admin-group"
        return self.lost_because if not self.entitled else "user-activated"

    @property
    def revoke_reason(self) -> str | None:
        """Why the user's devices are revoked, when they are."""
        if not self.entitled:
            return self.lost_because
        if self.license == "held" and not self.wants_seat:
            return "license-revoked"
        return None
