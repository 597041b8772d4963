"""Stored instants: ``iso`` formats as strftime would, whichever second it formatted last."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone

from reference_sp.timeutil import iso, parse_iso


def _strftime(instant: datetime) -> str:
    return f"{instant.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%S.%f')}Z"


def test_iso_is_strftime_in_utc_across_seconds_and_zones() -> None:
    rng = random.Random(7)
    start = datetime(1000, 1, 2, tzinfo=UTC)
    span = (datetime(9998, 1, 1, tzinfo=UTC) - start) // timedelta(microseconds=1)
    for _ in range(5000):
        instant = start + timedelta(microseconds=rng.randrange(span))
        zone = timezone(timedelta(minutes=rng.randrange(-720, 721, 15)))
        # The same second in another zone, the next microseconds (a second's last one
        # included), a whole second: each must show its own second, not the one cached.
        for seen in (
            instant,
            instant.astimezone(zone),
            instant + timedelta(microseconds=1),
            instant.replace(microsecond=999_999),
            instant.replace(microsecond=999_999) + timedelta(microseconds=1),
            instant.replace(microsecond=0),
            instant.replace(tzinfo=None),  # naive: local time, as astimezone reads it
        ):
            assert iso(seen) == _strftime(seen), seen
            assert parse_iso(iso(seen)) == seen.astimezone(UTC)
