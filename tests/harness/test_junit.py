"""--junit: standard JUnit XML (what Jenkins, GitLab and GitHub parse) with the right counts."""

from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET
from pathlib import Path

from harness.reporters.junit import JUnitReporter, junit_xml
from tests.harness.sample_report import FLAWED, events, looked_at_report, report, write_png


def parse(data: bytes) -> ET.Element:
    assert data.startswith(b"<?xml version='1.0' encoding='utf-8'?>")
    return ET.fromstring(data)


def test_counts_per_run_and_per_suite() -> None:
    root = parse(junit_xml(report()))
    assert root.tag == "testsuites"
    assert (root.get("tests"), root.get("failures"), root.get("errors"), root.get("skipped")) == (
        "8",
        "2",
        "1",
        "1",
    )
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    assert set(suites) == {"sso_login", "deprovisioning"}
    login, deprov = suites["sso_login"], suites["deprovisioning"]
    assert (login.get("tests"), login.get("failures"), login.get("errors")) == ("3", "1", "0")
    assert (deprov.get("tests"), deprov.get("failures"), deprov.get("errors")) == ("5", "1", "1")
    assert deprov.get("skipped") == "1"
    assert len(root.findall(".//testcase")) == 8


def test_one_testcase_per_check_named_by_suite_scenario_and_rule() -> None:
    root = parse(junit_xml(report()))
    cases = root.findall(".//testcase")
    assert cases[0].get("classname") == "sso_login.sp-initiated entra"
    assert cases[0].get("name") == "sso.signed-in [SAML-PROF-4.1.4.3]"
    names = [(c.get("classname"), c.get("name")) for c in cases]
    assert len(set(names)) == len(names)  # a check met twice in a scenario stays two cases
    assert ("deprovisioning.blocked employee okta", "sso.signed-in [SAML-PROF-4.1.4.3] #2") in names


def test_failure_error_skip_and_warning_elements() -> None:
    root = parse(junit_xml(report()))
    by_check = {c.get("name", "").split(" ")[0]: c for c in root.iter("testcase")}
    failure = by_check["sso.audience-enforced"].find("failure")
    assert failure is not None
    assert failure.get("message") == "the SP accepted an assertion for another SP"
    assert failure.get("type") == "SAML-CORE-2.5.1.4"
    body = failure.text or ""
    assert "expected: sign-in refused (wrong-audience)" in body
    assert "observed: signed in as dana" in body
    assert "rule: SAML-CORE-2.5.1.4 (MUST)" in body
    assert '\n  <saml:Issuer xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion">' in body
    assert "\\x00\\x01binary\\x1b[31m" in body  # control characters shown, not breaking XML
    error = by_check["deprov.session-ended"].find("error")
    assert error is not None and "ConnectionError: refused" in (error.text or "")
    assert by_check["deprov.device-revoked"].find("skipped") is not None
    warned = by_check["sso.session-index"]
    assert warned.find("failure") is None
    assert "WARNING" in (warned.findtext("system-out") or "")
    assert by_check["deprov.scim-active"].find("failure") is not None


def test_reporter_writes_the_file_with_screenshot_attachments(tmp_path: Path) -> None:
    shot = write_png(tmp_path / "shot.png")
    target = tmp_path / "junit.xml"
    reporter = JUnitReporter(target)
    for event in events(screenshot=shot):
        reporter.handle(event)
    root = parse(target.read_bytes())
    failed = next(c for c in root.iter("testcase") if c.find("failure") is not None)
    assert f"[[ATTACHMENT|{shot.resolve()}]]" in (failed.findtext("system-out") or "")


def write_junit(
    tmp_path: Path, durations: tuple[float, float], *, skipped: bool = False
) -> ET.Element:
    target = tmp_path / "junit.xml"
    reporter = JUnitReporter(target)
    for event in events(run=report(skipped=skipped), durations=durations):
        reporter.handle(event)
    return parse(target.read_bytes())


def test_times_are_each_check_s_own_and_each_suite_s_scenarios(tmp_path: Path) -> None:
    root = write_junit(tmp_path, (3.25, 4.5))
    assert root.get("time") == "12.346"  # the run's duration
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    assert suites["sso_login"].get("time") == "3.250"  # its scenario's time, not its checks'
    assert suites["deprovisioning"].get("time") == "4.500"
    times = [c.get("time") for c in suites["sso_login"].findall("testcase")]
    assert times == ["0.020", "0.500", "0.000"]


def test_a_suite_never_takes_longer_than_the_run(tmp_path: Path) -> None:
    # Parallel workers: scenario times add up to more than the run took.
    root = write_junit(tmp_path, (30.0, 1.0))
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    assert suites["sso_login"].get("time") == "12.346"
    assert suites["deprovisioning"].get("time") == "1.000"


def test_without_scenario_times_a_suite_takes_its_checks_times() -> None:
    suites = {s.get("name"): s for s in parse(junit_xml(report())).findall("testsuite")}
    assert suites["sso_login"].get("time") == "0.520"


def test_properties_say_what_the_run_was_asked() -> None:
    root = parse(junit_xml(report(options=FLAWED)))
    for suite in root.findall("testsuite"):
        properties = {p.get("name"): p.get("value") for p in suite.iter("property")}
        assert properties == {
            "seed": "1234",
            "target": "reference",
            "run_id": "5eed1e55c0de",
            "paths": "scenarios/sso_login scenarios/deprovisioning/it's here.yaml",
            "select": "audience or deprov",
            "dialect": "okta",
            "sp_flaws": "accept-unsigned,ignore-audience",
            "idp_flaws": "scim-boolean-as-string",
            "workers": "2",
            "rerun": report(options=FLAWED).rerun,
        }


def test_scenarios_skipped_before_they_started_are_skipped_testcases(tmp_path: Path) -> None:
    root = write_junit(tmp_path, (1.0, 1.0), skipped=True)
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    admin = suites["admin"]
    assert (admin.get("tests"), admin.get("skipped"), admin.get("time")) == ("2", "2", "0.000")
    case = admin.find("testcase")
    assert case is not None and case.get("classname") == "admin.admin via group okta"
    skipped = case.find("skipped")
    assert skipped is not None and skipped.get("message") == "the target has no admin probe"
    assert root.get("skipped") == "4"


def test_a_failure_names_its_step_and_never_a_refusal_by_none(tmp_path: Path) -> None:
    run = report(scenario_file=tmp_path / "sign-in.yaml")
    results = list(run.results)
    results[1] = dataclasses.replace(results[1], observed="refused by the None: None")
    root = parse(junit_xml(dataclasses.replace(run, results=results)))
    failure = next(c for c in root.iter("testcase") if c.find("failure") is not None)
    body = failure.findtext("failure") or ""
    assert f"step: {tmp_path / 'sign-in.yaml'}:6" in body
    assert "observed: not signed in, and no refusal seen" in body
    assert "None" not in body


def test_a_failure_leads_with_the_fields_it_looked_at() -> None:
    text = junit_xml(looked_at_report()).decode()
    assert text.index("--- looked at (text)") < text.index("--- exchange 1")
    assert "Audience:     https://other-sp.example/saml/metadata" in text
