"""``--junit FILE``: JUnit XML as Jenkins, GitLab and GitHub Actions read it.

One ``<testsuite>`` per suite, one ``<testcase>`` per check result with
``classname="suite.scenario"`` and the check id and requirement as its name. FAIL is a
``<failure>``, ERROR an ``<error>`` (with the traceback), SKIP a ``<skipped>`` (a scenario skipped
before it started is one skipped test case, check ``scenario``); WARN (a SHOULD broken) passes,
as the exit status does, and says so in ``<system-out>``.

Times: a test case takes its own check's time; a test suite the time its scenarios ran (never
more than the run, as parallel workers would otherwise make it); the whole the run's time. Each
test suite's properties say what the run was asked, so a flawed run reads as one.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path

from harness.events import Event, RunFinished, ScenarioFinished
from harness.reporters._evidence import evidence_items, readable, xml_safe
from harness.reporters._files import write_atomically
from harness.reporters._screenshots import ScreenshotCollector, ScreenshotsByScenario
from harness.reporters._source import location
from harness.results import CheckResult, Outcome, RunReport


def _seconds(value: float) -> str:
    return f"{max(value, 0.0):.3f}"


def _detail(result: CheckResult) -> str:
    """The body of a failure: everything a reader needs without opening another report."""
    lines = [readable(result.message), f"rule: {result.requirement} ({result.level})"]
    if result.path or result.line:
        lines.append(f"step: {location(result)}")
    if result.expected is not None:
        lines.append(f"expected: {readable(result.expected)}")
    if result.observed is not None:
        lines.append(f"observed: {readable(result.observed)}")
    for key, shown in evidence_items(result.evidence):
        lines.append(f"--- {key} ({shown.kind})")
        lines.append(shown.text)
    if result.traceback:
        lines.append("--- traceback")
        lines.append(result.traceback)
    return "\n".join(lines)


def _testcase(
    parent: ET.Element, result: CheckResult, name: str, screenshots: Sequence[str]
) -> None:
    case = ET.SubElement(
        parent,
        "testcase",
        classname=xml_safe(f"{result.suite}.{result.scenario}"),
        name=xml_safe(name),
        time=_seconds(result.duration_s),
    )
    message = xml_safe(readable(result.message))
    if result.outcome is Outcome.FAIL:
        failure = ET.SubElement(case, "failure", message=message, type=result.requirement)
        failure.text = xml_safe(_detail(result))
    elif result.outcome is Outcome.ERROR:
        error = ET.SubElement(case, "error", message=message, type="HarnessError")
        error.text = xml_safe(_detail(result))
    elif result.outcome is Outcome.SKIP:
        ET.SubElement(case, "skipped", message=message)
    elif result.outcome is Outcome.WARN:
        out = ET.SubElement(case, "system-out")
        out.text = xml_safe(f"WARNING (a {result.level} broken): {_detail(result)}")
    if screenshots and result.outcome in (Outcome.FAIL, Outcome.ERROR):
        # The attachment convention GitLab and Jenkins' junit-attachments plugin understand.
        out = ET.SubElement(case, "system-out")
        out.text = xml_safe("\n".join(f"[[ATTACHMENT|{path}]]" for path in screenshots))


def _properties(report: RunReport) -> list[tuple[str, str]]:
    options = report.options
    return [
        ("seed", str(report.seed)),
        ("target", report.target),
        ("run_id", report.run_id),
        ("paths", " ".join(options.paths)),
        ("select", options.select),
        ("dialect", options.dialect or ""),
        ("sp_flaws", ",".join(options.sp_flaws)),
        ("idp_flaws", ",".join(options.idp_flaws)),
        ("workers", str(options.workers)),
        ("rerun", report.rerun),
    ]


def _suite_time(
    report: RunReport, results: list[CheckResult], durations: Mapping[tuple[str, str], float]
) -> float:
    # Per scenario its own run time (from ScenarioFinished); without it, the sum of its checks'.
    # Checks of one scenario may each carry the scenario's whole time (a property suite judges
    # all invariants at once), so summing checks is only the fallback.
    per_scenario: dict[tuple[str, str], float] = {}
    for result in results:
        key = (result.suite, result.scenario)
        if key in durations:
            per_scenario[key] = durations[key]
        else:
            per_scenario[key] = per_scenario.get(key, 0.0) + result.duration_s
    return min(sum(per_scenario.values()), report.duration_s)


def junit_xml(
    report: RunReport,
    screenshots: ScreenshotsByScenario | None = None,
    durations: Mapping[tuple[str, str], float] | None = None,
) -> bytes:
    """The report as a JUnit XML document (UTF-8, with an XML declaration). ``screenshots``
    maps (suite, scenario) to PNG paths, attached to that scenario's failures; ``durations``
    maps (suite, scenario) to the time it ran."""
    shots = screenshots or {}
    suites: dict[str, list[CheckResult]] = {}
    for result in report.results:
        suites.setdefault(result.suite, []).append(result)
    total = report.summary
    root = ET.Element(
        "testsuites",
        name="sso-harness",
        tests=str(len(report.results)),
        failures=str(total.failed),
        errors=str(total.errored),
        skipped=str(total.skipped),
        time=_seconds(report.duration_s),
    )
    for suite, results in suites.items():
        counts = Counter(r.outcome for r in results)
        element = ET.SubElement(
            root,
            "testsuite",
            name=xml_safe(suite),
            tests=str(len(results)),
            failures=str(counts[Outcome.FAIL]),
            errors=str(counts[Outcome.ERROR]),
            skipped=str(counts[Outcome.SKIP]),
            time=_seconds(_suite_time(report, results, durations or {})),
            timestamp=xml_safe(report.started),
        )
        properties = ET.SubElement(element, "properties")
        for key, value in _properties(report):
            ET.SubElement(properties, "property", name=key, value=xml_safe(value))
        # CI tools key test cases by classname + name; a check met twice in one scenario (at two
        # steps) must stay two test cases, so the repeat is numbered.
        seen: Counter[tuple[str, str]] = Counter()
        for result in results:
            name = f"{result.check} [{result.requirement}]"
            seen[(result.scenario, name)] += 1
            count = seen[(result.scenario, name)]
            _testcase(
                element,
                result,
                name if count == 1 else f"{name} #{count}",
                shots.get((result.suite, result.scenario), ()),
            )
    ET.indent(root)
    document: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return document + b"\n"


class JUnitReporter:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.screenshots = ScreenshotCollector()
        self.durations: dict[tuple[str, str], float] = {}

    def handle(self, event: Event) -> None:
        self.screenshots.collect(event)
        if isinstance(event, ScenarioFinished):
            key = (event.suite, event.scenario)
            # A scenario run twice under one name (it should not be) adds up rather than hides.
            self.durations[key] = self.durations.get(key, 0.0) + event.duration_s
        elif isinstance(event, RunFinished):
            page = junit_xml(event.report, self.screenshots.by_scenario, self.durations)
            write_atomically(self.path, page)
