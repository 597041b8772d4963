"""Instants as stored: fixed-width ISO 8601 UTC text, so that they sort and compare as text."""

from __future__ import annotations

from datetime import UTC, datetime


def iso(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_iso(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
