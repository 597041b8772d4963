"""Provisioning dialects: how each IdP turns directory changes into SCIM requests (sans-IO).

``dialect_named(name)`` gives a fresh dialect; ``DIALECTS`` lists them in a fixed order.
"""

from __future__ import annotations

from collections.abc import Callable

from .base import Dialect, Task
from .entra import Entra, EntraCompat
from .okta import Okta
from .ping import Ping

DIALECTS: dict[str, Callable[[], Dialect]] = {
    "rfc": Dialect,
    "entra": Entra,
    "entra-compat": EntraCompat,
    "okta": Okta,
    "ping": Ping,
}


def dialect_named(name: str, *, ping_remove_user_action: str = "disable") -> Dialect:
    if name == "ping":
        return Ping(ping_remove_user_action)
    try:
        return DIALECTS[name]()
    except KeyError:
        raise ValueError(f"unknown dialect {name!r}; choose from {', '.join(DIALECTS)}") from None


__all__ = ["DIALECTS", "Dialect", "Task", "dialect_named"]
