"""The browser screenshots of a run, by scenario, collected from the events by the reporters
that attach them (JUnit, HTML).

Only files named by this run's events, with their start time kept: a folder shared with an
earlier run must never lend its pictures to this run's report.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from harness.events import Event, RunStarted, ScenarioFinished

# (suite, scenario) -> the PNG files its browser steps wrote, absolute
ScreenshotsByScenario = Mapping[tuple[str, str], Sequence[str]]


class ScreenshotCollector:
    def __init__(self) -> None:
        self.by_scenario: dict[tuple[str, str], list[str]] = {}
        self.started: float | None = None  # epoch seconds, for the files' age

    def collect(self, event: Event) -> None:
        if isinstance(event, RunStarted):
            self.started = time.time()
        elif isinstance(event, ScenarioFinished) and event.screenshots:
            # A scenario run twice under one name (it should not be) adds up rather than hides.
            self.by_scenario.setdefault((event.suite, event.scenario), []).extend(
                str(Path(path).resolve()) for path in event.screenshots
            )
