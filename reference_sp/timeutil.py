"""Instants as stored: fixed-width ISO 8601 UTC text, so that they sort and compare as text."""

from __future__ import annotations

from datetime import UTC, datetime


def iso(instant: datetime) -> str:
    # strftime("%Y-%m-%dT%H:%M:%S.%fZ") but faster, and the year always of four digits: a
    # sweep over 100,000 new accounts reads the clock 300,000 times.
    return instant.astimezone(UTC).isoformat(timespec="microseconds")[:-6] + "Z"


def parse_iso(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
