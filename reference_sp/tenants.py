"""Organisations as the sign-in side sees them: their IdP (metadata, keys loaded once), email
domains, admin group, license subscription. Configured at start (CLI or Python API), kept in
memory; the SCIM side's ``organizations`` row holds the name and the SCIM token.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from harness import component_cli
from harness.protocol.saml.metadata import IdPMetadata

Profile = Literal["generic", "parallels"]
Subscription = Literal["per-user", "per-device"]

ADMIN_GROUPS: dict[str, str] = {
    "generic": "Business Account Admins",
    "parallels": "Parallels Business Account Admins",
}
PRODUCTS: dict[str, str] = {"generic": "Example Desktop", "parallels": "Parallels Desktop"}


class ConfigError(component_cli.ConfigError):
    """The SP's configuration cannot work (one line: the CLI prints it and exits 2)."""


@dataclass(frozen=True)
class Tenant:
    org_pk: int
    name: str
    idp: IdPMetadata | None
    email_domains: tuple[str, ...] = ()
    admin_group: str = ADMIN_GROUPS["generic"]
    license_group: str | None = None  # None: every active user is entitled to a seat
    # None: every active user may sign in; else only members (leaving it is deprovisioning)
    access_group: str | None = None
    subscription: Subscription = "per-user"
    product: str = PRODUCTS["generic"]
    seats: int = 100
    allow_idp_initiated: bool = True
    min_client_major: int = 18
    extra: dict[str, str] = field(default_factory=dict, compare=False)


class Tenants:
    def __init__(self) -> None:
        self._by_pk: dict[int, Tenant] = {}

    def put(self, tenant: Tenant) -> None:
        for other in self._by_pk.values():
            if other.org_pk == tenant.org_pk:
                continue
            if tenant.idp and other.idp and other.idp.entity_id == tenant.idp.entity_id:
                raise ConfigError(
                    f"organisations {other.name!r} and {tenant.name!r} trust the same IdP "
                    f"{tenant.idp.entity_id}: an IdP may serve one organisation only"
                )
            shared = set(other.email_domains) & set(tenant.email_domains)
            if shared:
                raise ConfigError(
                    f"email domain {sorted(shared)[0]!r} belongs to both {other.name!r} and "
                    f"{tenant.name!r}"
                )
        if tenant.seats < 0:
            raise ConfigError(f"seats must be 0 or more, not {tenant.seats}")
        self._by_pk[tenant.org_pk] = tenant

    def get(self, org_pk: int) -> Tenant | None:
        return self._by_pk.get(org_pk)

    def all(self) -> list[Tenant]:
        return list(self._by_pk.values())

    def by_idp(self, entity_id: str) -> Tenant | None:
        return next(
            (t for t in self._by_pk.values() if t.idp and t.idp.entity_id == entity_id), None
        )

    def by_email(self, email: str) -> Tenant | None:
        """The organisation whose email domains include the address's domain; with a single
        organisation that has an IdP and no domains configured, that one."""
        domain = email.rpartition("@")[2].strip().lower()
        for tenant in self._by_pk.values():
            if domain and domain in tenant.email_domains:
                return tenant
        with_idp = [t for t in self._by_pk.values() if t.idp is not None]
        if len(with_idp) == 1 and not with_idp[0].email_domains:
            return with_idp[0]
        return None
