"""What a provisioning cycle reports: per user and per group, and why a cycle stopped."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any


def _iso(moment: dt.datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class SubjectResult:
    """One user or group after a cycle. ``status``: provisioned, failed or skipped; ``action``
    what was done (created, updated, unchanged, disabled, deleted); ``change`` the directory
    change that caused it; ``error`` the SP's SCIM error when it failed."""

    kind: str  # user or group
    name: str
    status: str
    action: str = ""
    change: str = ""
    error: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": self.name,
            "status": self.status,
            "action": self.action,
            "change": self.change,
            "error": self.error,
        }


@dataclass
class CycleReport:
    cycle: int
    dialect: str
    kind: str  # initial or incremental
    target: str
    started: dt.datetime
    finished: dt.datetime | None = None
    aborted: str | None = None  # a one-line reason the whole cycle stopped (token, URL)
    results: list[SubjectResult] = field(default_factory=list)
    requests: int = 0
    first_journal_seq: int = 0

    @property
    def ok(self) -> bool:
        return self.aborted is None and not self.failed()

    def failed(self) -> list[SubjectResult]:
        return [r for r in self.results if r.status == "failed"]

    def users(self) -> dict[str, SubjectResult]:
        return {r.name: r for r in self.results if r.kind == "user"}

    def groups(self) -> dict[str, SubjectResult]:
        return {r.name: r for r in self.results if r.kind == "group"}

    def summary(self) -> dict[str, int]:
        counts = {"provisioned": 0, "failed": 0, "skipped": 0}
        for result in self.results:
            counts[result.status] = counts.get(result.status, 0) + 1
        return counts

    def to_json(self) -> dict[str, Any]:
        return {
            "cycle": self.cycle,
            "dialect": self.dialect,
            "kind": self.kind,
            "target": self.target,
            "started": _iso(self.started),
            "finished": _iso(self.finished) if self.finished else None,
            "ok": self.ok,
            "aborted": self.aborted,
            "requests": self.requests,
            "summary": self.summary(),
            "results": [r.to_json() for r in self.results],
            "journal_since": self.first_journal_seq,
        }


@dataclass(frozen=True)
class ConnectionResult:
    ok: bool
    message: str
    dialect: str
    target: str

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "message": self.message,
            "dialect": self.dialect,
            "target": self.target,
        }
