"""Events the runner yields while it runs; reporters are handlers of these (the runner never
prints). A reporter sees the run start, each scenario start and end, each check result, and the
run end with the whole report."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from harness.results import CheckResult, RunReport


@dataclass(frozen=True)
class RunStarted:
    seed: int
    target: str
    scenarios: int  # how many scenario runs are planned (after parametrisation)


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


Event = RunStarted | ScenarioStarted | CheckFinished | ScenarioFinished | RunFinished


class Reporter(Protocol):
    def handle(self, event: Event) -> None: ...
