"""The pytest plugin's scenario items distribute with pytest-xdist (``pytest -n 2 scenarios/``):
each worker builds its own worlds, on a data directory shared by the workers."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

SUITE = Path(__file__).resolve().parents[2] / "scenarios" / "sso_login"
# Four items: one scenario run per preset (3) and one with unknown and inactive users.
FILES = ("idp-initiated-sign-in.yaml", "unknown-and-inactive-users-refused.yaml")


@pytest.fixture
def small_suite(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SSO_HARNESS_HOME", str(pytester.path / "fresh-home"))
    folder = pytester.path / "scenarios" / "sso_login"
    folder.mkdir(parents=True)
    for name in FILES:
        shutil.copy(SUITE / name, folder / name)
    return folder


def _workers(result: pytest.RunResult) -> set[str]:
    return {w for w in ("[gw0]", "[gw1]") if any(w in line for line in result.outlines)}


@pytest.mark.slow
def test_scenario_items_run_on_two_workers(pytester: pytest.Pytester, small_suite: Path) -> None:
    result = pytester.runpytest_subprocess("-n", "2", "-v", "-p", "no:cacheprovider", "scenarios")
    result.assert_outcomes(passed=4)
    assert _workers(result) == {"[gw0]", "[gw1]"}


@pytest.mark.slow
def test_a_flaw_fails_its_item_on_a_worker(pytester: pytest.Pytester, small_suite: Path) -> None:
    result = pytester.runpytest_subprocess(
        "-n", "2", "-v", "-p", "no:cacheprovider", "scenarios",
        "--sso-sp-flaw", "sign-in-inactive-users",
    )  # fmt: skip
    result.assert_outcomes(passed=3, failed=1)
    result.stdout.fnmatch_lines(["*FAILED*unknown-and-inactive-users-refused*"])
    assert _workers(result) == {"[gw0]", "[gw1]"}
