"""The console in a real Chromium, against the mock IdP and the reference SP on loopback: add a
user, plan a mutator, sign in to the SP (refused), read the journal entry decoded, click
"Reproduce this" and run the scenario it downloads with the same verdict.

With ``CONSOLE_SCREENSHOTS=DIR`` the screenshots go to DIR (docs/images for the docs)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from harness.browser import Browser, BrowserSession
from harness.results import Outcome
from harness.scenario.loader import load_scenario
from tests.harness.test_browser_sso import USER, world  # noqa: F401 - the loopback world fixture
from tests.mock_idp.test_console_reproduce import run_file

pytestmark = [pytest.mark.browser, pytest.mark.loopback]


def shots(tmp_path: Path) -> Path:
    return Path(os.environ.get("CONSOLE_SCREENSHOTS") or tmp_path)


def drive_console(
    session: BrowserSession, urls: tuple[str, str], pictures: Path, downloads: Path
) -> Path:
    sp_url, idp_url = urls
    session.goto(f"{idp_url}/")
    session.fill_and_submit({"userName": "erin@acme.test", "groups": "Sales"}, form="#add-user")
    assert "erin@acme.test" in session.text("#users + table")
    session.select("#plan-form select[name=mutator]", "wrong-audience")
    session.fill_and_submit({}, form="#plan-form")
    assert "wrong-audience" in session.text("#plan + table")
    session.goto(f"{sp_url}/saml/login?email={USER}")
    session.fill_and_submit({"username": USER, "password": "pw"})
    assert "wrong-audience" in session.text()  # the reference SP's refusal page
    session.goto(f"{idp_url}/")
    session.screenshot(pictures / "console-home.png")
    session.click('tr.entry:has-text("wrong-audience") a')
    assert "broken on purpose: wrong-audience" in session.text("#verdict")
    assert "<saml:Audience>" in session.text("#clear-assertion")
    assert session.count("#diff") == 0  # the first Response: nothing to compare with
    session.screenshot(pictures / "console-entry.png")
    return session.download("#reproduce", downloads / "reproduce.yaml")


def test_the_console_from_sign_in_to_a_reproduction(
    world: tuple[str, str],  # noqa: F811
    tmp_path: Path,
) -> None:
    with Browser() as browser, browser.session() as session:
        scenario_file = drive_console(session, world, shots(tmp_path), tmp_path)
    scenario = load_scenario(scenario_file)
    (sign_in,) = [s.value for s in scenario.steps if s.kind == "sign_in"]
    assert sign_in.mutators == ("wrong-audience",) and sign_in.expect == "refused"
    report = run_file(scenario_file)
    assert report.results
    assert all(r.outcome in (Outcome.PASS, Outcome.SKIP) for r in report.results), report
