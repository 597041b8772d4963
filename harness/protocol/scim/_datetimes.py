"""xsd:dateTime values (RFC 7643 §2.3.5) parsed as instants and printed in one canonical form.

Canonical form: UTC with a "Z", seconds precision, and a fraction only when it is non-zero, with
trailing zeros dropped ("2011-05-13T04:42:34Z", "2011-05-13T04:42:34.5Z"). Strings in this form do
NOT sort as instants when fractions are mixed, so compare parsed values, never the strings.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

# xsd:dateTime; a missing zone is read as UTC (xsd allows it, and an SP must pick one reading).
_DATETIME = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?"
    r"(?:([Zz])|([+-])(\d{2}):?(\d{2}))?"
)


def parse_datetime(text: str) -> datetime | None:
    """The instant ``text`` names, as an aware UTC datetime; None if it is not an xsd:dateTime."""
    match = _DATETIME.fullmatch(text)
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, _, sign, off_h, off_m = match.groups()
    micro = int((fraction or "0")[:6].ljust(6, "0"))  # .NET sends 7 digits; keep microseconds
    try:
        zone: timezone = UTC
        if sign is not None:
            offset = timedelta(hours=int(off_h), minutes=int(off_m))
            if offset >= timedelta(hours=24):
                return None
            zone = timezone(-offset if sign == "-" else offset)
        value = datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second), micro, zone
        )
        return value.astimezone(UTC)
    except (ValueError, OverflowError):  # month 13, second 61, year 1 with +05:00, ...
        return None


def format_datetime(value: datetime) -> str:
    """The canonical UTC spelling of an aware datetime (see the module docstring)."""
    value = value.astimezone(UTC)
    text = (
        f"{value.year:04d}-{value.month:02d}-{value.day:02d}"
        f"T{value.hour:02d}:{value.minute:02d}:{value.second:02d}"
    )
    if value.microsecond:
        text += "." + f"{value.microsecond:06d}".rstrip("0")
    return text + "Z"
