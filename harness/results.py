"""The one result model every reporter reads (CONTRACT.md "Run report")."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any, Literal

Level = Literal["MUST", "SHOULD", "MAY"]


class Outcome(StrEnum):
    PASS = "pass"  # noqa: S105 - an outcome, not a password
    FAIL = "fail"
    WARN = "warn"  # a SHOULD broken
    SKIP = "skip"
    ERROR = "error"  # the harness or the environment failed, never the system under test


@dataclass(frozen=True)
class CheckResult:
    """One check of one scenario: what was expected, what was observed, and the evidence."""

    suite: str
    scenario: str
    check: str
    requirement: str  # e.g. "SAML-PROF-4.1.4.3", "RFC7644-3.5.2", "BIZ-ADMIN-1"
    level: Level
    outcome: Outcome
    message: str
    evidence: dict[str, Any] = field(default_factory=dict)
    duration_s: float = 0.0
    expected: str | None = None
    observed: str | None = None
    traceback: str | None = None  # ERROR only
    line: int | None = None  # the scenario file's line of the step that ran the check

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["outcome"] = self.outcome.value
        return {k: v for k, v in out.items() if v is not None}


@dataclass(frozen=True)
class Summary:
    passed: int = 0
    failed: int = 0
    warned: int = 0
    skipped: int = 0
    errored: int = 0

    @classmethod
    def of(cls, results: list[CheckResult]) -> Summary:
        count = {o: 0 for o in Outcome}
        for result in results:
            count[result.outcome] += 1
        return cls(
            passed=count[Outcome.PASS],
            failed=count[Outcome.FAIL],
            warned=count[Outcome.WARN],
            skipped=count[Outcome.SKIP],
            errored=count[Outcome.ERROR],
        )


@dataclass(frozen=True)
class RunReport:
    seed: int
    target: str
    started: str  # ISO 8601 UTC
    duration_s: float
    results: list[CheckResult]
    version: int = 1

    @property
    def summary(self) -> Summary:
        return Summary.of(self.results)

    def exit_status(self) -> int:
        """CONTRACT: 0 all passed (skips and warnings allowed), 1 a check failed, 3 the
        harness errored (an error outranks a failure: the run cannot be trusted)."""
        summary = self.summary
        if summary.errored:
            return 3
        if summary.failed:
            return 1
        return 0

    def to_json(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "seed": self.seed,
            "target": self.target,
            "started": self.started,
            "duration_s": round(self.duration_s, 3),
            "summary": asdict(self.summary),
            "results": [r.to_json() for r in self.results],
        }
