"""--json: the file has exactly CONTRACT's shape ("Run report") and survives hostile evidence."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from harness.events import RunFinished
from harness.reporters._files import ReportWriteError
from harness.reporters.json_report import JsonReporter
from harness.results import CheckResult, Outcome, RunReport
from tests.harness.sample_report import FLAWED, HOSTILE, events, looked_at_report, report

TOP_LEVEL = {"version", "seed", "target", "started", "duration_s", "summary", "results"}
# Additions to CONTRACT's shape: what the run was asked, its id, how to rerun it, its artifacts.
ADDED = {"options", "run_id", "rerun", "artifacts"}
OPTIONS = {"paths", "select", "dialect", "sp_flaws", "idp_flaws", "workers", "idp_target"}
SUMMARY = {"passed", "failed", "warned", "skipped", "errored"}
RESULT_TYPES: dict[str, type | tuple[type, ...]] = {
    "suite": str,
    "scenario": str,
    "check": str,
    "requirement": str,
    "level": str,
    "outcome": str,
    "message": str,
    "evidence": dict,
    "duration_s": (int, float),
}


def assert_contract_shape(document: dict[str, Any]) -> None:
    assert set(document) == TOP_LEVEL | ADDED
    assert set(document["options"]) == OPTIONS
    assert isinstance(document["run_id"], str) and isinstance(document["rerun"], str)
    assert document["version"] == 1
    assert isinstance(document["seed"], int)
    assert isinstance(document["target"], str)
    assert isinstance(document["started"], str)
    assert isinstance(document["duration_s"], int | float)
    assert set(document["summary"]) == SUMMARY
    assert all(isinstance(v, int) for v in document["summary"].values())
    for result in document["results"]:
        for key, kind in RESULT_TYPES.items():
            assert isinstance(result[key], kind), key
        assert result["level"] in ("MUST", "SHOULD", "MAY")
        assert result["outcome"] in ("pass", "fail", "warn", "skip", "error")
        # Additions allowed by CONTRACT ("add to it freely") are only these optional ones.
        optional = {"expected", "observed", "traceback", "line", "path"}
        assert set(result) - set(RESULT_TYPES) <= optional


def write(tmp_path: Path, run: RunReport) -> dict[str, Any]:
    target = tmp_path / "report.json"
    JsonReporter(target).handle(RunFinished(run))
    loaded: dict[str, Any] = json.loads(target.read_text(encoding="utf-8"))
    return loaded


def test_the_report_file_has_the_contract_shape(tmp_path: Path) -> None:
    document = write(tmp_path, report())
    assert_contract_shape(document)
    assert document["summary"] == {
        "passed": 3,
        "failed": 2,
        "warned": 1,
        "skipped": 1,
        "errored": 1,
    }
    assert len(document["results"]) == 8
    assert document["duration_s"] == 12.346
    failed = document["results"][1]
    assert failed["expected"] == "sign-in refused (wrong-audience)"
    assert failed["evidence"]["note"] == HOSTILE
    assert failed["evidence"]["raw"].startswith("\x00\x01binary")  # bytes written as text


def test_only_the_run_finished_event_writes(tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    reporter = JsonReporter(target)
    for event in events()[:-1]:
        reporter.handle(event)
    assert not target.exists()
    reporter.handle(events()[-1])
    assert_contract_shape(json.loads(target.read_text(encoding="utf-8")))


def test_undecodable_text_still_makes_valid_json(tmp_path: Path) -> None:
    lone_surrogate = b"\xff\xfe".decode("utf-8", "surrogateescape")
    result = CheckResult("s", "sc", "c", "R", "MUST", Outcome.FAIL, lone_surrogate)
    run = RunReport(seed=1, target="t", started="x", duration_s=0, results=[result])
    document = write(tmp_path, run)
    assert document["results"][0]["message"] == lone_surrogate


def test_an_unwritable_path_is_a_report_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(ReportWriteError, match="cannot write the report"):
        JsonReporter(blocker / "report.json").handle(RunFinished(report()))


def test_the_report_records_what_the_run_was_asked(tmp_path: Path) -> None:
    document = write(tmp_path, report(options=FLAWED))
    assert_contract_shape(document)
    assert document["options"] == {
        "paths": ["scenarios/sso_login", "scenarios/deprovisioning/it's here.yaml"],
        "select": "audience or deprov",
        "dialect": "okta",
        "sp_flaws": ["accept-unsigned", "ignore-audience"],
        "idp_flaws": ["scim-boolean-as-string"],
        "workers": 2,
        "idp_target": None,
    }
    assert document["run_id"] == "5eed1e55c0de"
    assert document["rerun"].startswith("sso-harness run --target reference --seed 1234 ")
    assert "--sp-flaw ignore-audience" in document["rerun"]


def test_a_plain_run_records_the_defaults(tmp_path: Path) -> None:
    document = write(tmp_path, report())
    assert document["options"] == {
        "paths": [],
        "select": "",
        "dialect": None,
        "sp_flaws": [],
        "idp_flaws": [],
        "workers": 1,
        "idp_target": None,
    }
    assert document["rerun"] == "sso-harness run --target reference --seed 1234"


def test_scenarios_skipped_before_they_started_are_skipped_results(tmp_path: Path) -> None:
    document = write(tmp_path, report(skipped=True))
    assert_contract_shape(document)
    skipped = [r for r in document["results"] if r["check"] == "scenario"]
    assert [(r["suite"], r["scenario"], r["outcome"], r["message"]) for r in skipped] == [
        ("admin", "admin via group okta", "skip", "the target has no admin probe"),
        ("admin", "admin revoked okta", "skip", "the target has no admin probe"),
        ("licenses", "seat limit", "skip", "the target states seats = 3, the scenario 5"),
    ]
    assert document["summary"]["skipped"] == 4


def test_the_failing_step_is_located(tmp_path: Path) -> None:
    scenario_file = tmp_path / "sign-in.yaml"
    document = write(tmp_path, report(scenario_file=scenario_file))
    assert_contract_shape(document)
    failed = document["results"][1]
    assert (failed["path"], failed["line"]) == (str(scenario_file), 6)


def test_a_refusal_by_nobody_never_says_none(tmp_path: Path) -> None:
    result = CheckResult(
        "s", "sc", "c", "R", "MUST", Outcome.FAIL, "x", observed="refused by the None: None"
    )
    run = RunReport(seed=1, target="t", started="x", duration_s=0, results=[result])
    assert write(tmp_path, run)["results"][0]["observed"] == "not signed in, and no refusal seen"


def test_a_report_in_a_missing_folder_is_refused_and_nothing_is_created(tmp_path: Path) -> None:
    missing = tmp_path / "no" / "such"
    with pytest.raises(ReportWriteError, match="cannot write the report"):
        JsonReporter(missing / "report.json").handle(RunFinished(report()))
    assert not (tmp_path / "no").exists()


def test_a_failure_leads_with_the_fields_it_looked_at(tmp_path: Path) -> None:
    path = tmp_path / "report.json"
    JsonReporter(path).handle(RunFinished(looked_at_report()))
    failed = json.loads(path.read_text(encoding="utf-8"))["results"][1]
    assert next(iter(failed["evidence"])) == "looked_at"
    assert list(failed["evidence"]["looked_at"]) == ["Audience", "SP entity ID", "SP answered"]
