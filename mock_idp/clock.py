"""The IdP's clock: real time, shifted by an offset, or frozen (tests and the control API)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable


def system_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Clock:
    def __init__(self, source: Callable[[], dt.datetime] = system_now) -> None:
        self._source = source
        self.offset = dt.timedelta(0)
        self.frozen_at: dt.datetime | None = None

    def now(self) -> dt.datetime:
        base = self.frozen_at if self.frozen_at is not None else self._source()
        return (base + self.offset).replace(microsecond=0)

    def move_on(self, seconds: float) -> None:
        """Time passes that much faster: what a test would otherwise wait for."""
        self.offset += dt.timedelta(seconds=seconds)

    def freeze(self, at: dt.datetime | None = None) -> None:
        self.frozen_at = at if at is not None else self._source()

    def unfreeze(self) -> None:
        self.frozen_at = None

    def reset(self) -> None:
        self.offset = dt.timedelta(0)
        self.frozen_at = None

    def to_json(self) -> dict[str, object]:
        return {
            "now": self.now().isoformat().replace("+00:00", "Z"),
            "offset_seconds": int(self.offset.total_seconds()),
            "frozen": self.frozen_at is not None,
        }
