"""``sso-harness run PATH``: suite paths resolve to the built-in suites outside a checkout."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pytest

from harness import suites
from harness.commands.run_cmd import select_runs
from harness.suites import resolve_paths


@pytest.fixture
def installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working folder that is no checkout, and a copy of the suites installed under
    sys.prefix the way pyproject's data-files puts them (the checkout's own copy hidden)."""
    prefix = tmp_path / "env"
    suite = prefix / "share" / "sso-harness" / "scenarios" / "deprovisioning"
    suite.mkdir(parents=True)
    (suite / "blocked.yaml").write_text(
        "title: A blocked employee\nsteps: [{provision: initial}]\n"
    )
    monkeypatch.setattr(sys, "prefix", str(prefix))
    monkeypatch.setattr(suites.harness, "__file__", str(tmp_path / "site" / "harness" / "x.py"))
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return suite


@pytest.mark.parametrize(
    "given", ["scenarios/deprovisioning", "deprovisioning", "scenarios/deprovisioning/"]
)
def test_a_suite_path_outside_a_checkout_is_the_installed_suite(
    installed: Path, given: str
) -> None:
    assert resolve_paths([given]) == [installed]


def test_a_scenario_file_of_an_installed_suite(installed: Path) -> None:
    assert resolve_paths(["deprovisioning/blocked.yaml"]) == [installed / "blocked.yaml"]


def test_a_path_that_exists_wins_and_a_missing_one_stays_as_given(installed: Path) -> None:
    own = Path("deprovisioning")
    assert resolve_paths(["no-such-suite"]) == [Path("no-such-suite")]
    own.mkdir()
    assert resolve_paths(["deprovisioning"]) == [own]


def test_no_path_is_the_default_root(installed: Path) -> None:
    assert resolve_paths([]) == [installed.parent]


def test_run_selects_the_installed_suite(installed: Path) -> None:
    args = argparse.Namespace(paths=["scenarios/deprovisioning"], dialect=None, select=None)
    assert [Path(r.path).name for r in select_runs(args)] == ["blocked.yaml"]
