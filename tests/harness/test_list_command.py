"""``sso-harness list suites|checks|flaws|dialects [--json]`` through the CLI entry point."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from harness.checks.registry import CHECKS
from harness.cli import main
from harness.protocol.scim.dialects import DIALECTS
from mock_idp.flaws import FLAWS as IDP_FLAWS
from reference_sp.flaws import FLAWS as SP_FLAWS

SCENARIO = """title: {title}
steps:
  - provision: initial
"""


def listed(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, Any]:
    assert main(["list", *argv, "--json"]) == 0
    document: dict[str, Any] = json.loads(capsys.readouterr().out)
    return document


@pytest.fixture
def scenarios(tmp_path: Path) -> Path:
    suite = tmp_path / "sso_login"
    suite.mkdir()
    (suite / "b-refused.yaml").write_text(SCENARIO.format(title="Unknown users are refused"))
    (suite / "a-sign-in.yaml").write_text(
        SCENARIO.format(title="Sign in") + "dialects: [rfc, okta]\n"
    )
    (suite / "notes.txt").write_text("not a scenario")
    (tmp_path / "empty_suite").mkdir()
    return tmp_path


def test_suites_with_counts_titles_and_runs(
    capsys: pytest.CaptureFixture[str], scenarios: Path
) -> None:
    document = listed(capsys, "suites", "--scenarios", str(scenarios))
    suites = {s["name"]: s for s in document["suites"]}
    assert set(suites) == {"sso_login", "empty_suite"}
    login = suites["sso_login"]
    assert login["scenarios"] == 2
    assert login["files"] == [
        {"file": "a-sign-in.yaml", "title": "Sign in", "runs": 2},
        {"file": "b-refused.yaml", "title": "Unknown users are refused", "runs": 1},
    ]
    assert suites["empty_suite"]["scenarios"] == 0
    assert main(["list", "suites", "--scenarios", str(scenarios)]) == 0
    text = capsys.readouterr().out
    assert "sso_login  (2 scenarios)" in text
    assert "Unknown users are refused" in text


def test_an_invalid_scenario_is_listed_with_its_reason_and_exits_2(
    capsys: pytest.CaptureFixture[str], scenarios: Path
) -> None:
    (scenarios / "sso_login" / "c-broken.yaml").write_text("title: Broken\nstepz: []\n")
    assert main(["list", "suites", "--scenarios", str(scenarios)]) == 2
    captured = capsys.readouterr()
    assert re.search(r"c-broken\.yaml +INVALID .*a scenario needs a list of 'steps'", captured.out)
    assert captured.err.strip() == "sso-harness list: 1 invalid scenario file(s)"


def test_the_built_in_suites_are_found(capsys: pytest.CaptureFixture[str]) -> None:
    names = {s["name"] for s in listed(capsys, "suites")["suites"]}
    assert {"sso_login", "deprovisioning"} <= names


def test_a_missing_scenario_folder_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert main(["list", "suites", "--scenarios", str(tmp_path / "nope")]) == 2
    assert capsys.readouterr().err.startswith("sso-harness list: no scenario folder at")


def test_checks_with_requirement_ids_and_levels(capsys: pytest.CaptureFixture[str]) -> None:
    checks = listed(capsys, "checks")["checks"]
    assert [c["id"] for c in checks] == [c.id for c in CHECKS]
    assert all(c["level"] in ("MUST", "SHOULD", "MAY") and c["requirement"] for c in checks)
    assert main(["list", "checks"]) == 0
    header = capsys.readouterr().out.splitlines()[0]
    assert header.split() == ["CHECK", "REQUIREMENT", "LEVEL", "TITLE"]


def test_flaws_of_both_components(capsys: pytest.CaptureFixture[str]) -> None:
    flaws = listed(capsys, "flaws")["flaws"]
    sp = [f["name"] for f in flaws if f["component"] == "reference-sp"]
    idp = [f["name"] for f in flaws if f["component"] == "mock-idp"]
    assert sp == list(SP_FLAWS) and idp == [f.name for f in IDP_FLAWS]
    assert {f["option"] for f in flaws} == {"--sp-flaw", "--idp-flaw"}
    assert all(f["rule"] and f["description"] for f in flaws)


def test_dialects(capsys: pytest.CaptureFixture[str]) -> None:
    dialects = listed(capsys, "dialects")["dialects"]
    assert [d["name"] for d in dialects] == list(DIALECTS)
    assert all(d["description"] and "``" not in d["description"] for d in dialects)


def test_an_unknown_listing_is_a_usage_error() -> None:
    assert main(["list", "everything"]) == 2


def test_the_checks_page_is_the_listing() -> None:
    """docs/checks.md is `sso-harness list checks --format markdown`, so it cannot drift."""
    from pathlib import Path

    from harness.commands.list_cmd import list_checks
    from harness.reporters.check_catalogue import render_markdown

    page = Path(__file__).resolve().parents[2] / "docs" / "checks.md"
    assert page.read_text() == render_markdown(list_checks(None)), (
        "regenerate: sso-harness list checks --format markdown > docs/checks.md"
    )
