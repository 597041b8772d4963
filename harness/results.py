"""The one result model every reporter reads (CONTRACT.md "Run report")."""

from __future__ import annotations

import secrets
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any, Literal

from harness.exit_codes import ExitCode
from harness.rerun import AskedOptions, rerun_command

Level = Literal["MUST", "SHOULD", "MAY"]


class Outcome(StrEnum):
    PASS = "pass"  # noqa: S105 - an outcome, not a password
    FAIL = "fail"
    WARN = "warn"  # a SHOULD broken
    SKIP = "skip"
    ERROR = "error"  # the harness or the environment failed, never the system under test


# The evidence key of the fields a check judged, in order (e.g. the Audience of a refused
# response beside the SP's entity ID): every reporter shows it first, ahead of bulky evidence.
LOOKED_AT = "looked_at"
# The evidence keys of a message an IdP under test sent, decoded: the object the IdP suite
# judges, so a pass's compact trace keeps them whole (harness.trace).
IDP_MESSAGE = "idp message"
IDP_ASSERTION = "assertion, decrypted"
KEPT_WHOLE = (IDP_MESSAGE, IDP_ASSERTION)


def leading(evidence: dict[str, Any]) -> dict[str, Any]:
    """``evidence`` with the fields the check looked at first (where it has them)."""
    if LOOKED_AT not in evidence or next(iter(evidence)) == LOOKED_AT:
        return evidence
    return {LOOKED_AT: evidence[LOOKED_AT], **{k: v for k, v in evidence.items() if k != LOOKED_AT}}


@dataclass(frozen=True)
class CheckResult:
    """One check of one scenario: what was expected, what was observed, and the evidence
    (its ``looked_at`` entry, where present, first)."""

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
    path: str | None = None  # the scenario file itself, so a report can quote that line

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["outcome"] = self.outcome.value
        out["evidence"] = leading(out["evidence"])
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


SKIPPED_SCENARIO = "scenario"  # the check id of a scenario skipped before it started


def scenario_skipped(suite: str, scenario: str, reason: str) -> CheckResult:
    """The result recording a scenario skipped before it started (the target lacks what it
    needs): a report counts it as a skip, with the reason, never as a pass."""
    return CheckResult(
        suite=suite,
        scenario=scenario,
        check=SKIPPED_SCENARIO,
        requirement="HARNESS",
        level="MUST",
        outcome=Outcome.SKIP,
        message=reason,
    )


def is_skipped_scenario(result: CheckResult) -> bool:
    return result.check == SKIPPED_SCENARIO and result.outcome is Outcome.SKIP


def new_run_id() -> str:
    """A fresh identifier of one run. Random, never derived from the seed: the seed repeats the
    sequence, while message IDs and user names must be new to a persistent peer every run."""
    return secrets.token_hex(6)


@dataclass(frozen=True)
class RunReport:
    seed: int
    target: str
    started: str  # ISO 8601 UTC
    duration_s: float
    results: list[CheckResult]
    version: int = 1
    options: AskedOptions = field(default_factory=AskedOptions)
    run_id: str = ""  # fresh per run; the engine mints message IDs and user names from it
    artifacts: str = ""  # the folder of this run's screenshots and shrunk scenarios

    @property
    def rerun(self) -> str:
        """The command line that reproduces this run."""
        return rerun_command(self.options, self.seed, self.target)

    @property
    def skipped_scenarios(self) -> list[CheckResult]:
        return [r for r in self.results if is_skipped_scenario(r)]

    @property
    def summary(self) -> Summary:
        return Summary.of(self.results)

    def exit_status(self) -> ExitCode:
        """CONTRACT: 0 all passed (skips and warnings allowed), 1 a check failed, 3 the
        harness errored (an error outranks a failure: the run cannot be trusted)."""
        summary = self.summary
        if summary.errored:
            return ExitCode.HARNESS_ERROR
        if summary.failed:
            return ExitCode.CHECK_FAILED
        return ExitCode.OK

    def to_json(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "seed": self.seed,
            "target": self.target,
            "started": self.started,
            "duration_s": round(self.duration_s, 3),
            "run_id": self.run_id,
            "options": self.options.to_json(),
            "rerun": self.rerun,
            "artifacts": self.artifacts,
            "summary": asdict(self.summary),
            "results": [r.to_json() for r in self.results],
        }
