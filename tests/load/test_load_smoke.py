"""``sso-harness load`` for a few seconds, in a subprocess (Locust monkey-patches the standard
library with gevent: it never runs inside pytest): every step happens and is reported, with its
failures where the SP refuses."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest

STEPS = {
    "sign-in: SP start",
    "sign-in: IdP SSO",
    "sign-in: IdP-initiated start",
    "sign-in: login form",
    "sign-in: ACS",
    "account",
    "activate: start",
    "activate: confirm",
    "activate: check-in",
    "scim: lookup",
    "scim: create",
    "scim: deactivate",
}


def _load(
    tmp_path: Path, *options: str, seconds: int = 2
) -> tuple[subprocess.CompletedProcess[str], Path]:
    prefix = tmp_path / "stats"
    done = subprocess.run(
        [
            *(sys.executable, "-m", "harness", "load", "--users", "4", "--spawn-rate", "4"),
            *("--run-time", f"{seconds}s", "--employees", "3", "--think-time", "0.2"),
            *("--idp-initiated-share", "0.5", "--csv", str(prefix), *options),
            *("--", "--only-summary"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return done, prefix


def _rows(prefix: Path, kind: str) -> list[dict[str, str]]:
    with Path(f"{prefix}_{kind}.csv").open() as handle:
        return list(csv.DictReader(handle))


@pytest.mark.loopback
@pytest.mark.slow
def test_every_step_runs_without_errors_and_is_reported(tmp_path: Path) -> None:
    done, prefix = _load(tmp_path, seconds=5)
    assert done.returncode == 0, done.stderr[-3000:]
    stats = {row["Name"]: row for row in _rows(prefix, "stats")}
    assert set(stats) >= STEPS, STEPS - set(stats)
    assert all(stats[step]["Failure Count"] == "0" for step in stats)
    assert float(stats["Aggregated"]["Requests/s"]) > 0
    assert stats["sign-in: ACS"]["95%"]  # percentiles per step
    assert "Response time percentiles" in done.stdout + done.stderr
    assert "ms of CPU per response" in done.stdout


@pytest.mark.loopback
@pytest.mark.slow
def test_a_refusing_sp_shows_its_errors_per_step_and_fails_the_run(tmp_path: Path) -> None:
    done, prefix = _load(tmp_path, "--idp-flaw", "no-audience")
    assert done.returncode == 1, done.stderr[-3000:]
    failures = {(row["Name"], row["Error"]) for row in _rows(prefix, "failures")}
    assert ("sign-in: ACS", "StepFailed('HTTP 403 no-audience')") in failures
    stats = {row["Name"]: row for row in _rows(prefix, "stats")}
    assert int(stats["sign-in: ACS"]["Failure Count"]) > 0
    assert stats["scim: create"]["Failure Count"] == "0"  # only what the SP refuses fails


@pytest.mark.loopback
@pytest.mark.slow
def test_an_error_rate_within_the_limit_passes(tmp_path: Path) -> None:
    done, _ = _load(tmp_path, "--idp-flaw", "no-audience", "--max-error-rate", "100")
    assert done.returncode == 0, done.stderr[-3000:]


@pytest.mark.loopback
@pytest.mark.slow
def test_sign_ins_alone_load_the_sign_in_and_nothing_else(tmp_path: Path) -> None:
    """``--tasks sign-in=1`` with no provisioner: the SP's CPU per IdP response is then its
    CPU per sign-in."""
    done, prefix = _load(tmp_path, "--tasks", "sign-in=1", "--provisioners", "0")
    assert done.returncode == 0, done.stderr[-3000:]
    steps = {row["Name"] for row in _rows(prefix, "stats")} - {"Aggregated"}
    assert steps == {s for s in STEPS if s.startswith("sign-in")} | {"account"}
    assert "ms per IdP response" in done.stdout


@pytest.mark.parametrize(
    ("tasks", "refusal"),
    [
        ("account=1,account=2", "the task 'account' is named twice"),
        ("lunch=1", "no task 'lunch' (the tasks: account, activate, sign-in)"),
        ("account=-1", "account's weight must be a whole number from 0"),
        ("account=0", "at least one task needs a weight above 0"),
    ],
)
def test_a_bad_task_mix_is_refused_with_the_reason_and_exit_2(tasks: str, refusal: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "harness", "load", "--tasks", tasks],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert refusal in done.stderr


def test_a_target_file_with_a_typo_is_one_line_and_exit_2(tmp_path: Path) -> None:
    target = tmp_path / "sp.toml"
    target.write_text('[sp]\nbase_ur = "http://127.0.0.1:9"\n')
    done = subprocess.run(
        [sys.executable, "-m", "harness", "load", "--target", str(target)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "base_url" in done.stderr


def test_the_command_line_never_imports_locust() -> None:
    probe = (
        "import sys; from harness.cli import build_parser; build_parser(['load']);"
        "import harness.load.employee, harness.load.churn, harness.load.environment;"
        "print(sorted(m for m in ('locust', 'gevent') if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "[]"
