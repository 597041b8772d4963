"""Events the runner yields while it runs; reporters are handlers of these (the runner never
prints). A reporter sees the run start, each scenario skipped before it started, each scenario
start and end, each check result, and the run end with the whole report (which holds the
skipped scenarios as results too)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from harness.rerun import AskedOptions
from harness.results import CheckResult, RunReport, scenario_skipped


@dataclass(frozen=True)
class RunStarted:
    seed: int
    target: str
    scenarios: int  # how many scenario runs are planned (after parametrisation)
    options: AskedOptions = field(default_factory=AskedOptions)
    run_id: str = ""
    artifacts: str = ""  # the folder of this run's screenshots and shrunk scenarios


@dataclass(frozen=True)
class ScenarioSkipped:
    """A scenario not started at all (the target lacks a feature it needs, its ``given``
    differs from what the target states): it has no ScenarioStarted or ScenarioFinished."""

    suite: str
    scenario: str
    reason: str

    def result(self) -> CheckResult:
        """How the run report records it: a skipped result of the check ``scenario``."""
        return scenario_skipped(self.suite, self.scenario, self.reason)


@dataclass(frozen=True)
class ScenarioStarted:
    suite: str
    scenario: str


@dataclass(frozen=True)
class CheckFinished:
    result: CheckResult


@dataclass(frozen=True)
class ScenarioFinished:
    suite: str
    scenario: str
    duration_s: float
    screenshots: tuple[str, ...] = ()  # paths of browser screenshots taken in the scenario


@dataclass(frozen=True)
class RunFinished:
    report: RunReport


Event = (
    RunStarted | ScenarioSkipped | ScenarioStarted | CheckFinished | ScenarioFinished | RunFinished
)


class Reporter(Protocol):
    def handle(self, event: Event) -> None: ...
