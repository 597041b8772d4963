"""The pytest plugin (entry point ``pytest11``): scenario files become pytest items, and tests
written in Python get worlds as fixtures.

- ``pytest scenarios/`` (or any folder named ``scenarios``, or ``--sso-scenarios``) collects each
  scenario file; each parametrised run is an item that fails with the checks that failed.
- ``sso_world``: a fresh world (mock IdP + reference SP, in-process) for a test's own steps;
  ``mock_idp`` and ``reference_sp`` are its two halves.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.events import CheckFinished, ScenarioSkipped
from harness.results import Outcome
from harness.runner import RunOptions, run_scenario
from harness.scenario.loader import ScenarioError, expand, load_scenario
from harness.scenario.model import Scenario, ScenarioRun, Step
from harness.world import World


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("sso-harness")
    group.addoption(
        "--sso-scenarios",
        action="store_true",
        help="collect scenario files (*.yaml) anywhere, not only under a 'scenarios' folder",
    )
    group.addoption("--sso-seed", type=int, default=0, help="seed of the scenario runs")
    group.addoption(
        "--sso-sp-flaw", action="append", default=[], help="turn on a flaw of the reference SP"
    )


def pytest_collect_file(parent: pytest.Collector, file_path: Path) -> pytest.Collector | None:
    if file_path.suffix != ".yaml":
        return None
    wanted = parent.config.getoption("--sso-scenarios") or "scenarios" in file_path.parts
    if not wanted:
        return None
    return ScenarioFile.from_parent(parent, path=file_path)


class ScenarioFile(pytest.File):
    def collect(self) -> Iterator[pytest.Item]:
        try:
            scenario = load_scenario(self.path)
        except ScenarioError as exc:
            raise self.CollectError(str(exc)) from None
        for scenario_run in expand(self.path.parent.name, self.path, scenario):
            yield ScenarioItem.from_parent(self, name=scenario_run.name, scenario_run=scenario_run)


class ScenarioFailed(Exception):  # noqa: N818 - the outcome's name
    pass


class ScenarioItem(pytest.Item):
    def __init__(self, *, scenario_run: ScenarioRun, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.scenario_run = scenario_run
        for tag in scenario_run.scenario.tags:
            self.user_properties.append(("tag", tag))

    def runtest(self) -> None:
        options = RunOptions(
            seed=self.config.getoption("--sso-seed"),
            sp_flaws=tuple(self.config.getoption("--sso-sp-flaw")),
        )
        events = run_scenario(self.scenario_run, options)
        skipped = [e.reason for e in events if isinstance(e, ScenarioSkipped)]
        results = [e.result for e in events if isinstance(e, CheckFinished)]
        # A scenario this machine or target cannot run (no Chromium, a missing feature) is a
        # pytest skip with the reason, never a pass.
        skipped += [r.message for r in results if r.check == "scenario" and r.outcome == "skip"]
        if skipped:
            pytest.skip("; ".join(skipped))
        bad = [r for r in results if r.outcome in (Outcome.FAIL, Outcome.ERROR)]
        if bad:
            lines = []
            for result in bad:
                where = f" (line {result.line})" if result.line else ""
                lines.append(
                    f"{result.outcome.value.upper()} {result.check}{where}: {result.message}"
                )
                if result.expected or result.observed:
                    lines.append(f"    expected {result.expected}; observed {result.observed}")
                lines.append(f"    rule {result.requirement} ({result.level})")
                if result.traceback:
                    lines.append(result.traceback)
            raise ScenarioFailed("\n".join(lines))

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, ScenarioFailed):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, f"scenario {self.scenario_run.suite}/{self.name}"


def _blank_run(title: str = "a test written in Python") -> ScenarioRun:
    scenario = Scenario(title=title, steps=(Step(kind="provision", value=None),))
    return ScenarioRun(suite="python", path="python.yaml", scenario=scenario)


@pytest.fixture
def sso_world(request: pytest.FixtureRequest) -> Iterator[World]:
    """A fresh world: the mock IdP and the reference SP wired to trust each other, in-process.
    Drive it with ``harness.steps`` (add_user, act, attempt_sign_in, expect) or directly."""
    with World.open(_blank_run(request.node.name), seed=0) as world:
        yield world


@pytest.fixture
def mock_idp(sso_world: World) -> Any:
    """The world's mock IdP (``mock_idp.idp.MockIdP``)."""
    return sso_world.idp


@pytest.fixture
def reference_sp(sso_world: World) -> Any:
    """The world's reference SP (``reference_sp.app.ReferenceSP``)."""
    return sso_world.sp
