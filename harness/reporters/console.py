"""The terminal view of a run (rich): a live progress line while scenarios run, each failure as
soon as it happens (expected, observed, evidence and the rule it enforces), then a summary.

On a terminal the progress line redraws in place; in a CI log rich prints plain lines, so the
same reporter serves both. Everything from the system under test is printed as text, never as
rich markup.
"""

from __future__ import annotations

from rich.console import Console, Group, RenderableType
from rich.panel import Panel
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

from harness.checks.registry import check_by_id
from harness.events import (
    CheckFinished,
    Event,
    RunFinished,
    RunStarted,
    ScenarioFinished,
    ScenarioStarted,
)
from harness.reporters._evidence import evidence_items, terminal_safe
from harness.results import CheckResult, Outcome, RunReport

STYLE = {
    Outcome.PASS: "green",
    Outcome.FAIL: "bold red",
    Outcome.WARN: "yellow",
    Outcome.SKIP: "dim",
    Outcome.ERROR: "bold magenta",
}
MAX_EVIDENCE_LINES = 40  # the console shows the start; the HTML and JSON reports keep it all


def _clause(check_id: str) -> str:
    # The quoted requirement text lives in the check registry; a result of an unregistered
    # check (or a registry with duplicates) is still shown, without it.
    try:
        check = check_by_id().get(check_id)
    except ValueError:
        return ""
    return check.clause if check is not None else ""


def _text(text: str, style: str = "") -> Text:
    # Never markup, never raw control characters: the text may come from the system under test.
    return Text(terminal_safe(text), style=style)


def _clip(text: str) -> str:
    lines = text.splitlines()
    if len(lines) <= MAX_EVIDENCE_LINES:
        return text
    hidden = len(lines) - MAX_EVIDENCE_LINES
    return "\n".join([*lines[:MAX_EVIDENCE_LINES], f"... {hidden} more lines in the reports"])


def failure_panel(result: CheckResult) -> Panel:
    """One failed, warned or errored check: what, where, expected, observed, evidence, rule."""
    parts: list[RenderableType] = [_text(result.message)]
    facts = Table.grid(padding=(0, 1))
    facts.add_column(style="bold")
    facts.add_column()
    facts.add_row("scenario", _text(f"{result.suite} / {result.scenario}"))
    if result.expected is not None:
        facts.add_row("expected", _text(result.expected))
    if result.observed is not None:
        facts.add_row("observed", _text(result.observed))
    rule = f"{result.requirement} ({result.level})"
    clause = _clause(result.check)
    facts.add_row("rule", _text(f"{rule}: {clause}" if clause else rule))
    parts.append(facts)
    for key, shown in evidence_items(result.evidence):
        parts.append(_text(f"{key}:", style="bold"))
        text = _clip(terminal_safe(shown.text))
        if shown.kind == "text":
            parts.append(Text(text))
        else:
            parts.append(Syntax(text, shown.kind, word_wrap=True, theme="ansi_dark"))
    if result.traceback:
        parts.append(Text("traceback:", style="bold"))
        parts.append(_text(_clip(result.traceback)))
    style = STYLE[result.outcome]
    title = _text(f"{result.outcome.value.upper()} {result.check}", style=style)
    return Panel(Group(*parts), title=title, title_align="left", border_style=style)


def summary_table(report: RunReport) -> Table:
    summary = report.summary
    table = Table(title="sso-harness run", show_header=True, header_style="bold")
    for outcome in Outcome:
        table.add_column(outcome.value, justify="right", style=STYLE[outcome])
    table.add_row(
        str(summary.passed),
        str(summary.failed),
        str(summary.warned),
        str(summary.skipped),
        str(summary.errored),
    )
    return table


class ConsoleReporter:
    """Prints the run to ``console`` (default: standard output). ``verbose`` also lists every
    check that passed."""

    def __init__(self, console: Console | None = None, *, verbose: bool = False) -> None:
        self.console = console or Console()
        self.verbose = verbose
        self._progress: Progress | None = None
        self._task: TaskID | None = None
        self._running: list[str] = []
        self._scenario_outcomes: dict[tuple[str, str], list[Outcome]] = {}

    def handle(self, event: Event) -> None:
        if isinstance(event, RunStarted):
            self._start(event)
        elif isinstance(event, ScenarioStarted):
            self._running.append(f"{event.suite}/{event.scenario}")
            self._scenario_outcomes[(event.suite, event.scenario)] = []
            self._describe()
        elif isinstance(event, CheckFinished):
            self._check(event.result)
        elif isinstance(event, ScenarioFinished):
            self._scenario_done(event)
        elif isinstance(event, RunFinished):
            self._finish(event.report)

    def _print(self, renderable: RenderableType) -> None:
        # Through the progress' console, so lines appear above the live progress line.
        (self._progress.console if self._progress else self.console).print(renderable)

    def _start(self, event: RunStarted) -> None:
        self.console.print(
            _text(f"sso-harness: {event.scenarios} scenario runs against {event.target}, ")
            + Text(f"seed {event.seed}", style="bold")
        )
        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=self.console,
            transient=True,
        )
        self._task = self._progress.add_task("starting", total=event.scenarios)
        self._progress.start()

    def _describe(self) -> None:
        if self._progress is None or self._task is None:
            return
        if not self._running:
            description = "between scenarios"
        elif len(self._running) == 1:
            description = self._running[0]
        else:
            description = f"{self._running[-1]} (+{len(self._running) - 1} running)"
        self._progress.update(self._task, description=description)

    def _check(self, result: CheckResult) -> None:
        self._scenario_outcomes.setdefault((result.suite, result.scenario), []).append(
            result.outcome
        )
        if result.outcome in (Outcome.FAIL, Outcome.ERROR, Outcome.WARN):
            self._print(failure_panel(result))
        elif self.verbose:
            line = Text(f"  {result.outcome.value:5} ", style=STYLE[result.outcome])
            self._print(line + _text(f"{result.check} [{result.requirement}] {result.message}"))

    def _scenario_done(self, event: ScenarioFinished) -> None:
        name = f"{event.suite}/{event.scenario}"
        if name in self._running:
            self._running.remove(name)
        outcomes = self._scenario_outcomes.pop((event.suite, event.scenario), [])
        worst = next(
            (o for o in (Outcome.ERROR, Outcome.FAIL, Outcome.WARN) if o in outcomes),
            Outcome.PASS if outcomes else Outcome.SKIP,
        )
        mark = {Outcome.PASS: "ok", Outcome.SKIP: "--"}.get(worst, worst.value.upper())
        self._print(
            Text(f"{mark:>5} ", style=STYLE[worst])
            + _text(f"{name} ({len(outcomes)} checks, {event.duration_s:.2f}s)")
        )
        if self._progress is not None and self._task is not None:
            self._progress.advance(self._task)
        self._describe()

    def _finish(self, report: RunReport) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
        self.console.print(summary_table(report))
        status = report.exit_status()
        verdict = {0: "all checks passed", 1: "checks failed", 3: "the harness errored"}
        self.console.print(
            Text(f"{verdict.get(status, 'done')} in {report.duration_s:.1f}s; ")
            + Text(f"rerun with --seed {report.seed}", style="bold")
        )
