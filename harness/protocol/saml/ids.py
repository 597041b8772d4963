"""Message IDs and SAML instants, from an injected rng and clock.

SAML Core 1.3.3: time values are UTC with no time zone offset ("Z"); 1.3.4: IDs are unique
with at least 128 bits of randomness and must be valid xs:ID (NCName), hence the leading "_".
"""

from __future__ import annotations

import datetime as dt
import functools
import random

from .errors import SAMLError


def new_id(rng: random.Random) -> str:
    return f"_{rng.getrandbits(160):040x}"


@functools.lru_cache(maxsize=1024)
def format_instant(instant: dt.datetime) -> str:
    # Cached: a response writes seven instants and the same ones recur within a second;
    # strftime was a tenth of the IdP's time per response.
    if instant.tzinfo is None:
        raise ValueError("SAML instants must be timezone-aware")
    utc = instant if instant.tzinfo is dt.UTC else instant.astimezone(dt.UTC)
    return (
        f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d}"
        f"T{utc.hour:02d}:{utc.minute:02d}:{utc.second:02d}Z"
    )


def parse_instant(text: str | None, *, field: str = "instant") -> dt.datetime:
    """Parse an xs:dateTime in UTC; raise SAMLError (SAML-CORE-1.3.3) for anything else."""
    if not text:
        raise SAMLError("bad-instant", f"{field} is missing", "SAML-CORE-1.3.3")
    value = text.strip()
    if value.endswith("Z"):
        value = value[:-1] + "+00:00"
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError as exc:
        raise SAMLError(
            "bad-instant", f"{field} {text!r} is not xs:dateTime", "SAML-CORE-1.3.3"
        ) from exc
    if parsed.tzinfo is None:
        raise SAMLError("bad-instant", f"{field} {text!r} has no time zone", "SAML-CORE-1.3.3")
    if parsed.utcoffset() != dt.timedelta(0):
        raise SAMLError("bad-instant", f"{field} {text!r} is not in UTC", "SAML-CORE-1.3.3")
    return parsed.astimezone(dt.UTC)
