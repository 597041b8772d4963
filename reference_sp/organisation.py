"""An organisation as the sign-in side sees it: its IdP (metadata, keys loaded once), email
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
class Organisation:
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
