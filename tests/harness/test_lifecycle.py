"""The lifecycle property suite: it finds a broken invariant, writes the shrunk sequence as a
scenario file that reruns it, and it judges the SP it reports on: against a target file, the
target's own flaw is what fails, never the in-process reference SP."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.cli import main
from harness.events import CheckFinished
from harness.results import Outcome
from harness.runner import RunOptions, run_scenario
from harness.scenario.loader import discover
from tests.support.reference_process import reference_sp_process

LIFECYCLE = Path(__file__).resolve().parents[2] / "scenarios" / "lifecycle_properties"


def rfc_run():  # type: ignore[no-untyped-def]
    return next(r for r in discover([LIFECYCLE]) if r.dialect == "rfc")


def test_a_broken_invariant_is_shrunk_into_a_scenario_that_reruns_it(tmp_path: Path) -> None:
    options = RunOptions(sp_flaws=("keep-sessions-on-deprovision",), artifacts_dir=str(tmp_path))
    results = [e.result for e in run_scenario(rfc_run(), options) if isinstance(e, CheckFinished)]
    failed = [r for r in results if r.outcome == Outcome.FAIL]
    assert [r.check for r in failed] == ["session.ended"]
    rerun = failed[0].evidence["rerun"]
    assert "--sp-flaw keep-sessions-on-deprovision" in rerun
    shrunk = rerun.rsplit(" ", 1)[-1]
    assert Path(shrunk).is_file()
    assert main(["run", shrunk, "--sp-flaw", "keep-sessions-on-deprovision"]) == 1
    assert main(["run", shrunk]) == 0


@pytest.mark.loopback
def test_against_a_target_it_judges_the_target(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The flaw is in the separate SP process only: the suite fails only if it drove it."""
    monkeypatch.setenv("REMOTE_SCIM_TOKEN", "remote-token")
    flawed = ("--flaw", "keep-sessions-on-deprovision", "--seats", "3")
    with reference_sp_process(tmp_path, *flawed, organisation="seats = 3") as target:
        report = tmp_path / "report.json"
        status = main(
            ["run", str(LIFECYCLE), "-k", "rfc", "--target", str(target), "--json", str(report)]
        )
    results = json.loads(report.read_text())["results"]
    assert status == 1
    assert {r["check"] for r in results if r["outcome"] == "fail"} == {"session.ended"}
    assert "--target" in next(r for r in results if r["outcome"] == "fail")["evidence"]["rerun"]
