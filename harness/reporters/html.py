"""``--html FILE``: the whole run in ONE self-contained page (inline CSS and script, screenshots
as base64 PNG, no network), to attach to a CI job or mail to a vendor.

The page has the summary, filters by outcome and by suite and a text search, every check grouped
by scenario, each failure's evidence with the SAML/SCIM exchange indented, and the scenario's
browser screenshots (only those this run took). A header block says what the run was asked
(paths, -k, dialect, flaws, workers) and the command that reruns it; scenarios skipped before
they started are skipped rows with the reason. Jinja2 autoescaping escapes everything from the
system under test; the script reads only data-* attributes, so no evidence ever lands inside a
<script>.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from pathlib import Path

import jinja2

from harness import __version__
from harness.checks.registry import check_by_id
from harness.events import Event, RunFinished
from harness.reporters._evidence import Pretty, evidence_items, readable, terminal_safe
from harness.reporters._files import write_atomically
from harness.reporters._screenshots import ScreenshotCollector, ScreenshotsByScenario
from harness.reporters._source import location, step_text
from harness.results import CheckResult, Outcome, RunReport

_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_SEVERITY = (Outcome.ERROR, Outcome.FAIL, Outcome.WARN, Outcome.PASS, Outcome.SKIP)
# File times are coarse on some filesystems; a screenshot this much older than the run's start
# still counts as this run's.
_MTIME_SLACK_S = 2.0


@dataclass(frozen=True)
class Screenshot:
    name: str
    data_uri: str | None  # None: the file was missing or not a PNG
    problem: str = ""


@dataclass(frozen=True)
class Row:
    result: CheckResult
    clause: str
    evidence: list[tuple[str, Pretty]]
    where: str = ""  # file:line of the step
    step: str | None = None  # the scenario file's text at that line


@dataclass
class ScenarioGroup:
    suite: str
    scenario: str
    rows: list[Row] = field(default_factory=list)
    screenshots: list[Screenshot] = field(default_factory=list)

    @property
    def worst(self) -> str:
        outcomes = {row.result.outcome for row in self.rows}
        return next((o.value for o in _SEVERITY if o in outcomes), Outcome.SKIP.value)


def embed_png(path: str | Path, *, not_before: float | None = None) -> Screenshot:
    """A screenshot as a data: URI; a missing or non-PNG file is shown as such, not fatal. A file
    last written before ``not_before`` (the run's start, epoch seconds) is another run's, left
    in a reused folder: it is named, never embedded."""
    target = Path(path)
    try:
        if not_before is not None and target.stat().st_mtime < not_before - _MTIME_SLACK_S:
            return Screenshot(target.name, None, f"{target} was written before this run")
        data = target.read_bytes()
    except OSError as exc:
        return Screenshot(target.name, None, f"cannot read {target}: {exc.strerror or exc}")
    if not data.startswith(_PNG_MAGIC):
        return Screenshot(target.name, None, f"{target} is not a PNG")
    return Screenshot(target.name, "data:image/png;base64," + base64.b64encode(data).decode())


def _clauses() -> dict[str, str]:
    try:
        return {check_id: check.clause for check_id, check in check_by_id().items()}
    except ValueError:  # duplicate ids: the runner refuses to start; the report still renders
        return {}


def _groups(
    report: RunReport,
    screenshots: ScreenshotsByScenario,
    not_before: float | None,
) -> list[ScenarioGroup]:
    clauses = _clauses()
    groups: dict[tuple[str, str], ScenarioGroup] = {}
    for result in report.results:
        key = (result.suite, result.scenario)
        group = groups.setdefault(key, ScenarioGroup(result.suite, result.scenario))
        evidence = evidence_items(result.evidence)
        row = Row(result, clauses.get(result.check, ""), evidence)
        if result.outcome in (Outcome.FAIL, Outcome.WARN, Outcome.ERROR):
            row = Row(row.result, row.clause, evidence, location(result), step_text(result))
        group.rows.append(row)
    for key, paths in screenshots.items():
        group = groups.setdefault(key, ScenarioGroup(*key))
        group.screenshots.extend(embed_png(path, not_before=not_before) for path in paths)
    return list(groups.values())


def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("harness.reporters", "."),
        autoescape=True,  # always, whatever the template is called: evidence is hostile input
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    # Control characters (a NUL, an ANSI escape) shown as \xNN rather than as invisible boxes.
    environment.filters["visible"] = terminal_safe
    environment.filters["readable"] = readable
    return environment


def render_html(
    report: RunReport,
    screenshots: ScreenshotsByScenario | None = None,
    *,
    not_before: float | None = None,
) -> str:
    """The report page. ``screenshots`` maps (suite, scenario) to PNG paths to embed; files
    older than ``not_before`` (epoch seconds) are not embedded."""
    groups = _groups(report, screenshots or {}, not_before)
    skipped: dict[str, int] = {}
    for result in report.skipped_scenarios:
        skipped[result.message] = skipped.get(result.message, 0) + 1
    template = _environment().get_template("report.html")
    return template.render(
        report=report,
        summary=report.summary,
        exit_status=report.exit_status(),
        groups=groups,
        suites=sorted({g.suite for g in groups}),
        outcomes=[o.value for o in Outcome],
        options=report.options,
        skipped_before_start=sorted(skipped.items(), key=lambda item: (-item[1], item[0])),
        version=__version__,
    )


class HtmlReporter:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.screenshots = ScreenshotCollector()

    def handle(self, event: Event) -> None:
        self.screenshots.collect(event)
        if isinstance(event, RunFinished):
            # Only files written since the run began are embedded (see ScreenshotCollector).
            page = render_html(
                event.report, self.screenshots.by_scenario, not_before=self.screenshots.started
            )
            write_atomically(self.path, page.encode("utf-8", "backslashreplace"))
