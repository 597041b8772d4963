"""``sso-harness run``'s report options: the rerun command reproduces what was asked, a report
path in a missing folder is refused before the run, and each run keeps its own artifacts."""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path

import pytest

from harness import runner
from harness.cli import main
from harness.commands.run_cmd import add_arguments, artifacts_dir
from harness.events import (
    Event,
    RunFinished,
    RunStarted,
    ScenarioFinished,
    ScenarioSkipped,
    ScenarioStarted,
)
from harness.reporters import ReportWriteError
from harness.rerun import AskedOptions, rerun_command
from harness.results import new_run_id
from harness.runner import RunOptions, default_artifacts_dir
from harness.scenario.loader import discover
from harness.scenario.model import ScenarioRun
from harness.targets import load_target
from tests.harness.sample_report import FLAWED

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


def parse(command: str) -> argparse.Namespace:
    words = shlex.split(command)
    assert words[:2] == ["sso-harness", "run"]
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser.parse_args(words[2:])


@pytest.mark.parametrize(
    "options",
    [
        AskedOptions(),
        FLAWED,
        AskedOptions(paths=("-odd name.yaml",), select="not slow", workers=1),
    ],
)
def test_the_rerun_command_parses_back_to_what_was_asked(options: AskedOptions) -> None:
    args = parse(rerun_command(options, 42, "targets/my sp.toml"))
    assert (args.seed, args.target) == (42, "targets/my sp.toml")
    asked = AskedOptions(
        paths=tuple(args.paths),
        select=args.select,
        dialect=args.dialect,
        sp_flaws=tuple(args.sp_flaw),
        idp_flaws=tuple(args.idp_flaw),
        workers=args.workers,
    )
    assert asked == options


def test_workers_are_named_only_when_parallel() -> None:
    assert "--workers" not in rerun_command(AskedOptions(workers=1), 0, "reference")
    assert rerun_command(AskedOptions(workers=3), 0, "reference").endswith("--workers 3")


def test_a_report_in_a_missing_folder_is_refused_before_the_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nonexistent" / "dir"
    status = main(["run", "--html", str(missing / "x.html"), "--json", str(tmp_path / "r.json")])
    assert status == 2
    err = capsys.readouterr().err
    assert err == f"sso-harness run: cannot write the report: {missing} does not exist\n"
    assert not (tmp_path / "nonexistent").exists()
    assert not (tmp_path / "r.json").exists()  # nothing ran


def namespace(**given: str | None) -> argparse.Namespace:
    values: dict[str, str | None] = {"artifacts": None, "json": None, "junit": None, "html": None}
    return argparse.Namespace(**(values | given))


def test_artifacts_go_next_to_the_first_report(tmp_path: Path) -> None:
    folder = artifacts_dir(namespace(html=str(tmp_path / "report.html")))
    assert folder == tmp_path / "report-artifacts"
    assert not folder.exists()  # made by the first screenshot, if any
    first = artifacts_dir(
        namespace(json=str(tmp_path / "run.json"), html=str(tmp_path / "report.html"))
    )
    assert first == tmp_path / "run-artifacts"


def test_artifacts_where_asked_else_a_fresh_folder_per_run(tmp_path: Path) -> None:
    assert artifacts_dir(namespace(artifacts=str(tmp_path / "shots"))) == tmp_path / "shots"
    # Without a report or --artifacts, the runner names a folder after the run's id, made only
    # when something is kept there.
    assert artifacts_dir(namespace()) is None
    one, two = default_artifacts_dir(new_run_id()), default_artifacts_dir(new_run_id())
    assert one != two and Path(one).name.startswith("sso-harness-run-")
    assert not Path(one).exists()
    with pytest.raises(ReportWriteError, match="does not exist"):
        artifacts_dir(namespace(artifacts=str(tmp_path / "no" / "shots")))
    (tmp_path / "a-file").write_text("")
    with pytest.raises(ReportWriteError, match="is not a folder"):
        artifacts_dir(namespace(artifacts=str(tmp_path / "a-file")))


def test_scenarios_the_target_cannot_run_are_skipped_up_front(tmp_path: Path) -> None:
    target = tmp_path / "sp.toml"
    target.write_text('[sp]\nbase_url = "http://127.0.0.1:9"\n')  # no SCIM: nothing can run
    runs = discover([SCENARIOS / "admin_grants"])
    options = RunOptions(
        target=str(target), remote=load_target(target), select="admin", artifacts_dir=str(tmp_path)
    )
    events = list(runner.run(runs, options))
    started, finished = events[0], events[-1]
    assert isinstance(started, RunStarted) and started.scenarios == 0
    assert started.options.select == "admin" and started.run_id
    skipped = [e for e in events if isinstance(e, ScenarioSkipped)]
    assert len(skipped) == len(runs) == len(events) - 2
    assert all(e.reason.startswith("the target has no ") for e in skipped)
    assert isinstance(finished, RunFinished)
    report = finished.report
    assert report.run_id == started.run_id and report.options == started.options
    assert [r.check for r in report.results] == ["scenario"] * len(runs)
    assert report.summary.skipped == len(runs) and report.exit_status() == 0
    assert report.results[0].message == skipped[0].reason


def test_a_scenario_is_announced_before_it_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The console names the running scenario from ScenarioStarted: it must arrive before the
    # scenario's work, not with its results.
    seen: list[Event] = []
    ran: list[str] = []

    def fake_run_scenario(run: ScenarioRun, options: RunOptions) -> list[Event]:
        assert seen[-1] == ScenarioStarted(run.suite, run.name)
        ran.append(run.name)
        return [ScenarioStarted(run.suite, run.name), ScenarioFinished(run.suite, run.name, 0.0)]

    monkeypatch.setattr(runner, "run_scenario", fake_run_scenario)
    runs = discover([SCENARIOS / "admin_grants"])
    for event in runner.run(runs, RunOptions(artifacts_dir=str(tmp_path))):
        seen.append(event)
    assert len(ran) == len(runs) > 1
    started = [e for e in seen if isinstance(e, ScenarioStarted)]
    assert [e.scenario for e in started] == ran  # once each, never twice


def test_a_serial_run_makes_ready_one_browser_context_per_browser_session() -> None:
    # The browser scenario signs in from the SP as its user, then from the IdP's tile in a
    # session of its own: two contexts, made while the first scenarios run.
    browser_run = discover([SCENARIOS / "sso_login" / "browser-sign-in-and-deep-link.yaml"])[0]
    assert runner.needs_browser(browser_run)
    assert runner.browser_sessions(browser_run) == 2
    assert all(runner.browser_sessions(r) == 0 for r in discover([SCENARIOS / "deprovisioning"]))
