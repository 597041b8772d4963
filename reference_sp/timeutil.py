"""Instants as stored: fixed-width ISO 8601 UTC text, so that they sort and compare as text."""

from __future__ import annotations

from datetime import UTC, datetime

# The last second formatted and its text up to the fraction, one tuple (replaced whole, so
# that threads read a consistent pair): readings come in bursts within a second (a sweep over
# 100,000 new accounts reads the clock 300,000 times), and ``isoformat`` costs twice what
# formatting the fraction alone does.
_last_second: tuple[tuple[int, ...], str] = ((), "")


def iso(instant: datetime) -> str:
    """``strftime("%Y-%m-%dT%H:%M:%S.%fZ")`` of the instant in UTC, the year always of four
    digits."""
    global _last_second  # noqa: PLW0603  (a one-entry cache)
    utc = instant.astimezone(UTC)
    second = (utc.year, utc.month, utc.day, utc.hour, utc.minute, utc.second)
    cached, text = _last_second
    if second != cached:
        text = utc.replace(microsecond=0).isoformat()[:-6] + "."
        _last_second = (second, text)
    return f"{text}{utc.microsecond:06d}Z"


def parse_iso(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
