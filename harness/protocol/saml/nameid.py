"""NameID values per format (SAML Core 8.3): email, persistent (stable and opaque per SP),
transient (new each time), unspecified."""

from __future__ import annotations

import base64
import hashlib
import hmac
import random

from . import constants as c
from .ids import new_id


def persistent_name_id(user_key: str, sp_entity_id: str, secret: bytes) -> str:
    """Core 8.3.7: opaque, stable for this user at this SP, different at every other SP."""
    digest = hmac.new(secret, f"{sp_entity_id}!{user_key}".encode(), hashlib.sha256).digest()
    return base64.b32encode(digest[:20]).decode("ascii").lower()


def name_id_value(
    name_id_format: str,
    *,
    user_name: str,
    email: str | None,
    user_key: str,
    sp_entity_id: str,
    secret: bytes,
    rng: random.Random,
) -> str:
    if name_id_format == c.NAMEID_EMAIL:
        return email or user_name
    if name_id_format == c.NAMEID_PERSISTENT:
        return persistent_name_id(user_key, sp_entity_id, secret)
    if name_id_format == c.NAMEID_TRANSIENT:
        return new_id(rng)
    return user_name
