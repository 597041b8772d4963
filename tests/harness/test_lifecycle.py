"""The lifecycle property suite: it finds a broken invariant, writes the shrunk sequence as a
scenario file that reruns it, and it judges the SP it reports on: against a target file, the
target's own flaw is what fails, never the in-process reference SP."""

from __future__ import annotations

import contextlib
import importlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis.stateful import run_state_machine_as_test

from harness.cli import main
from harness.events import CheckFinished
from harness.lifecycle import lifecycle_machine, lifecycle_settings
from harness.results import Outcome
from harness.runner import RunOptions, run_scenario
from harness.scenario.loader import discover
from harness.seeded_draws import seeded_draws
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


@pytest.mark.parametrize(
    ("flaw", "check"),
    [
        ("keep-activations-on-deprovision", "activation.check-in"),
        ("keep-license-on-deactivate", "license.state"),
    ],
)
def test_each_lifecycle_invariant_finds_its_flaw(flaw: str, check: str, tmp_path: Path) -> None:
    """At the suite's own size. The activation's flaw needs the device activated from the
    start: without it, 16 lifecycles never activated a device and then deprovisioned its user."""
    options = RunOptions(sp_flaws=(flaw,), artifacts_dir=str(tmp_path))
    results = [e.result for e in run_scenario(rfc_run(), options) if isinstance(e, CheckFinished)]
    assert [r.check for r in results if r.outcome == Outcome.FAIL] == [check]


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


def _lifecycles_drawn(source_constants: object, *, seeded: bool) -> list[list[dict[str, Any]]]:
    """The steps of each lifecycle drawn while hypothesis finds ``source_constants`` in the
    modules around it (as it finds sso-harness's own literals in an editable install)."""
    providers: Any = importlib.import_module("hypothesis.internal.conjecture.providers")
    record: list[list[dict[str, Any]]] = []
    machine = lifecycle_machine(rfc_run(), 0, (), (), record)
    draws = seeded_draws() if seeded else contextlib.nullcontext()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(providers, "_get_local_constants", lambda: source_constants)
        providers.CONSTANTS_CACHE.cache.clear()
        with draws:
            run_state_machine_as_test(machine, settings=lifecycle_settings(4, 8))
        providers.CONSTANTS_CACHE.cache.clear()
    return record


def test_the_lifecycles_drawn_do_not_depend_on_the_source_around_them() -> None:
    """A run installed from a checkout (its modules 'local' to hypothesis, their literals drawn
    from) draws the same lifecycles as one installed from a wheel (none found)."""
    providers: Any = importlib.import_module("hypothesis.internal.conjecture.providers")
    if not hasattr(providers, "_get_local_constants"):
        pytest.skip("this hypothesis draws nothing from the source around it")
    found = providers.Constants(integers=set(range(-2, 40)), strings={"ana", "Admins", ""})
    none = providers.Constants()
    # The control: left on, what hypothesis finds changes the lifecycles drawn.
    assert _lifecycles_drawn(found, seeded=False) != _lifecycles_drawn(none, seeded=False)
    assert _lifecycles_drawn(found, seeded=True) == _lifecycles_drawn(none, seeded=True)


def test_a_lifecycle_run_writes_nothing_into_the_working_directory(tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "harness", "run", str(LIFECYCLE), "-k", "rfc"],
        check=False,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert list(tmp_path.iterdir()) == []
