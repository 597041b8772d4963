"""``--html FILE``: the whole run in ONE self-contained page (inline CSS and script, screenshots
as base64 PNG, no network), to attach to a CI job or mail to a vendor.

The page has the summary, filters by outcome and by suite and a text search, every check grouped
by scenario, each failure's evidence with the SAML/SCIM exchange indented, and the scenario's
browser screenshots. Jinja2 autoescaping escapes everything from the system under test; the
script reads only data-* attributes, so no evidence ever lands inside a <script>.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import jinja2

from harness import __version__
from harness.checks.registry import check_by_id
from harness.events import Event, RunFinished, ScenarioFinished
from harness.reporters._evidence import Pretty, evidence_items, terminal_safe
from harness.reporters._files import write_atomically
from harness.results import CheckResult, Outcome, RunReport

_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_SEVERITY = (Outcome.ERROR, Outcome.FAIL, Outcome.WARN, Outcome.PASS, Outcome.SKIP)


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


def embed_png(path: str | Path) -> Screenshot:
    """A screenshot as a data: URI; a missing or non-PNG file is shown as such, not fatal."""
    target = Path(path)
    try:
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
    report: RunReport, screenshots: Mapping[tuple[str, str], Sequence[str]]
) -> list[ScenarioGroup]:
    clauses = _clauses()
    groups: dict[tuple[str, str], ScenarioGroup] = {}
    for result in report.results:
        key = (result.suite, result.scenario)
        group = groups.setdefault(key, ScenarioGroup(result.suite, result.scenario))
        evidence = evidence_items(result.evidence)
        group.rows.append(Row(result, clauses.get(result.check, ""), evidence))
    for key, paths in screenshots.items():
        group = groups.setdefault(key, ScenarioGroup(*key))
        group.screenshots.extend(embed_png(path) for path in paths)
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
    return environment


def render_html(
    report: RunReport, screenshots: Mapping[tuple[str, str], Sequence[str]] | None = None
) -> str:
    """The report page. ``screenshots`` maps (suite, scenario) to PNG paths to embed."""
    groups = _groups(report, screenshots or {})
    template = _environment().get_template("report.html")
    return template.render(
        report=report,
        summary=report.summary,
        exit_status=report.exit_status(),
        groups=groups,
        suites=sorted({g.suite for g in groups}),
        outcomes=[o.value for o in Outcome],
        version=__version__,
    )


class HtmlReporter:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.screenshots: dict[tuple[str, str], list[str]] = {}

    def handle(self, event: Event) -> None:
        if isinstance(event, ScenarioFinished) and event.screenshots:
            key = (event.suite, event.scenario)
            self.screenshots.setdefault(key, []).extend(event.screenshots)
        elif isinstance(event, RunFinished):
            page = render_html(event.report, self.screenshots)
            write_atomically(self.path, page.encode("utf-8", "backslashreplace"))
