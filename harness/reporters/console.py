"""The terminal view of a run (rich): what the run was asked, the scenarios skipped before they
started, a live progress line while scenarios run, each failure as soon as it happens (the
failing step's YAML line, expected, observed, evidence and the rule it enforces), then a closing
list of every failure, a summary and the command that reruns the run.

On a terminal the progress line redraws in place and names the running scenario; in a CI log,
where rich draws no live line, a heartbeat line names the running scenarios and how long they
have run whenever nothing was printed for ``heartbeat_s`` (10 s), so long work (a property
suite shrinking a failure) never leaves the log silent. The same reporter serves both.

Everything from the system under test is printed as text, never as rich markup.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

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
    ScenarioSkipped,
    ScenarioStarted,
)
from harness.reporters._evidence import evidence_items, readable, terminal_safe
from harness.reporters._source import location, step_text
from harness.rerun import AskedOptions
from harness.results import CheckResult, Outcome, RunReport

STYLE = {
    Outcome.PASS: "green",
    Outcome.FAIL: "bold red",
    Outcome.WARN: "yellow",
    Outcome.SKIP: "dim",
    Outcome.ERROR: "bold magenta",
}
MAX_EVIDENCE_LINES = 40  # the console shows the start; the HTML and JSON reports keep it all
CI_WIDTH = 200  # without a terminal (a CI log) nothing to fit: rich's 80 columns only break lines
BAD = (Outcome.FAIL, Outcome.ERROR, Outcome.WARN)
HEARTBEAT_S = 10.0  # without a terminal, the longest silence while a scenario runs


def default_console() -> Console:
    """Standard output; when it is not a terminal, as wide as $COLUMNS says, else CI_WIDTH."""
    if sys.stdout.isatty():
        return Console()
    try:
        width = int(os.environ.get("COLUMNS", ""))
    except ValueError:
        width = CI_WIDTH
    return Console(width=max(width, 40))


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


def _name(text: str, style: str = "") -> Text:
    # Scenario names, check ids, file:line: one unbroken token each, so a log can be grepped.
    return Text(terminal_safe(text), style=style, no_wrap=True, overflow="ignore")


def asked(options: AskedOptions) -> str:
    """What the run was asked beyond its defaults, in one line ("" when nothing)."""
    parts = []
    if options.paths:
        parts.append("paths " + " ".join(options.paths))
    if options.select:
        parts.append(f"-k {options.select}")
    if options.dialect:
        parts.append(f"dialect {options.dialect}")
    if options.sp_flaws:
        parts.append("SP flaws " + ", ".join(options.sp_flaws))
    if options.idp_flaws:
        parts.append("IdP flaws " + ", ".join(options.idp_flaws))
    if options.workers > 1:
        parts.append(f"workers {options.workers}")
    return "; ".join(parts)


def _clip(text: str) -> str:
    lines = text.splitlines()
    if len(lines) <= MAX_EVIDENCE_LINES:
        return text
    hidden = len(lines) - MAX_EVIDENCE_LINES
    return "\n".join([*lines[:MAX_EVIDENCE_LINES], f"... {hidden} more lines in the reports"])


def failure_panel(result: CheckResult) -> Panel:
    """One failed, warned or errored check: what, where, expected, observed, evidence, rule."""
    parts: list[RenderableType] = [_text(readable(result.message))]
    facts = Table.grid(padding=(0, 1))
    facts.add_column(style="bold", no_wrap=True)
    facts.add_column()
    facts.add_row("scenario", _name(f"{result.suite} / {result.scenario}"))
    where = location(result)
    if where:
        facts.add_row("step", _name(where))
    step = step_text(result)
    if step is not None:
        facts.add_row("", _name(step, style="cyan"))
    if result.expected is not None:
        facts.add_row("expected", _text(readable(result.expected)))
    if result.observed is not None:
        facts.add_row("observed", _text(readable(result.observed)))
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


def failure_list(results: list[CheckResult]) -> list[Text]:
    """Every FAIL, WARN and ERROR in one line each (then the failing step's YAML line): the end
    of a long CI log says what went wrong without scrolling back through the panels."""
    lines = []
    for result in results:
        if result.outcome not in BAD:
            continue
        line = Text(f"{result.outcome.value.upper():5} ", style=STYLE[result.outcome])
        line.append_text(_text(f"{result.suite}/{result.scenario}  "))
        line.append_text(_text(f"{location(result) or '-'}  "))
        line.append_text(_text(f"{result.check}: {readable(result.message)}"))
        lines.append(line)
        step = step_text(result)
        if step is not None:
            lines.append(_text(f"      | {step}", style="cyan"))
    return lines


def skipped_summary(results: list[CheckResult]) -> str:
    """ "N scenarios skipped before they started: k reason; ..." ("" when none)."""
    reasons = Counter(r.message for r in results)
    if not reasons:
        return ""
    total = sum(reasons.values())
    noun = "scenario" if total == 1 else "scenarios"
    why = "; ".join(f"{count} {reason}" for reason, count in reasons.most_common())
    return f"{total} {noun} skipped before they started: {why}"


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
    check that passed. Without a terminal, a thread prints the heartbeat (``heartbeat``) from
    RunStarted to RunFinished; ``clock`` and ``heartbeat_s`` are injectable for tests."""

    def __init__(
        self,
        console: Console | None = None,
        *,
        verbose: bool = False,
        heartbeat_s: float = HEARTBEAT_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.console = console or default_console()
        self.verbose = verbose
        self.heartbeat_s = heartbeat_s
        self._clock = clock
        self._skipped: list[ScenarioSkipped] = []  # held until the first scenario starts
        self._progress: Progress | None = None
        self._task: TaskID | None = None
        self._running: dict[str, float] = {}  # name -> clock when it started, in start order
        self._scenario_outcomes: dict[tuple[str, str], list[Outcome]] = {}
        self._scenarios = 0
        self._done = 0
        # The heartbeat thread and the event handler share the running list and the console.
        self._lock = threading.RLock()
        self._last_output = clock()
        self._stop = threading.Event()
        self._beat: threading.Thread | None = None

    def handle(self, event: Event) -> None:
        if isinstance(event, RunFinished):
            self._stop_heartbeat()  # before the closing lines: none may follow them
        with self._lock:
            self._handle(event)
        if isinstance(event, RunStarted):
            self._start_heartbeat()

    def _handle(self, event: Event) -> None:
        if isinstance(event, RunStarted):
            self._start(event)
        elif isinstance(event, ScenarioSkipped):
            self._skipped.append(event)
        elif isinstance(event, ScenarioStarted):
            self._list_skipped()
            self._running[f"{event.suite}/{event.scenario}"] = self._clock()
            self._scenario_outcomes[(event.suite, event.scenario)] = []
            self._describe()
        elif isinstance(event, CheckFinished):
            self._check(event.result)
        elif isinstance(event, ScenarioFinished):
            self._scenario_done(event)
        elif isinstance(event, RunFinished):
            self._finish(event.report)

    def _start_heartbeat(self) -> None:
        if self.console.is_terminal or self.heartbeat_s <= 0 or self._beat is not None:
            return

        def beat() -> None:
            while not self._stop.wait(self._next_beat_in()):
                self.heartbeat()

        self._beat = threading.Thread(target=beat, name="console heartbeat", daemon=True)
        self._beat.start()

    def _stop_heartbeat(self) -> None:
        self._stop.set()
        beat, self._beat = self._beat, None
        if beat is not None:
            beat.join(timeout=5)

    def _next_beat_in(self) -> float:
        """Seconds until the silence reaches ``heartbeat_s`` (so no silence while a scenario
        runs is longer), or a short wait for a scenario to start."""
        with self._lock:
            if not self._running:
                return min(1.0, self.heartbeat_s / 4)
            return max(0.001, self.heartbeat_s - (self._clock() - self._last_output))

    def heartbeat(self) -> None:
        """One line naming each running scenario and how long it has run, when nothing was
        printed for ``heartbeat_s`` while a scenario runs."""
        with self._lock:
            now = self._clock()
            if not self._running or now - self._last_output < self.heartbeat_s:
                return
            running = ", ".join(
                f"{name} ({now - since:.0f}s)" for name, since in self._running.items()
            )
            self._line(_text(f"{'..':>5} still running {running}", style="dim"))

    def _print(self, renderable: RenderableType) -> None:
        # Through the progress' console, so lines appear above the live progress line.
        self._last_output = self._clock()
        (self._progress.console if self._progress else self.console).print(renderable)

    def _line(self, text: Text) -> None:
        """One line never broken by rich (soft wrap: the terminal folds it, a log keeps it
        whole), so scenario names, ids and the rerun command can be grepped and copied."""
        self._last_output = self._clock()
        (self._progress.console if self._progress else self.console).print(text, soft_wrap=True)

    def _list_skipped(self) -> None:
        """The scenarios skipped before they started, grouped by reason with a count."""
        if not self._skipped:
            return
        by_reason: dict[str, list[str]] = {}
        for event in self._skipped:
            by_reason.setdefault(event.reason, []).append(f"{event.suite}/{event.scenario}")
        self._skipped = []
        for reason, names in sorted(by_reason.items(), key=lambda item: -len(item[1])):
            mark = Text(f"{'--':>5} ", style=STYLE[Outcome.SKIP])
            count = _text(f"{len(names)} skipped before they started: {reason}")
            self._line(mark + count)
            for name in names:
                self._line(_text(f"        {name}", style=STYLE[Outcome.SKIP]))

    def _start(self, event: RunStarted) -> None:
        header = _text(f"sso-harness: {event.scenarios} scenario runs against {event.target}, ")
        header += Text(f"seed {event.seed}", style="bold")
        if event.run_id:
            header += _text(f", run {event.run_id}")
        self._line(header)
        wanted = asked(event.options)
        if wanted:
            self._line(_text(f"asked: {wanted}"))
        if event.options.flawed:
            self._line(
                Text("a deliberately flawed run: failures are expected", style="bold yellow")
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
        self._scenarios = event.scenarios
        self._task = self._progress.add_task("starting", total=event.scenarios)
        self._progress.start()

    def _describe(self) -> None:
        if self._progress is None or self._task is None:
            return
        names = list(self._running)
        if not names:
            description = "finishing" if self._done >= self._scenarios else "starting"
        elif len(names) == 1:
            description = names[0]
        else:
            description = f"{names[-1]} (+{len(names) - 1} running)"
        self._progress.update(self._task, description=description)

    def _check(self, result: CheckResult) -> None:
        self._scenario_outcomes.setdefault((result.suite, result.scenario), []).append(
            result.outcome
        )
        if result.outcome in (Outcome.FAIL, Outcome.ERROR, Outcome.WARN):
            self._print(failure_panel(result))
        elif self.verbose:
            line = Text(f"  {result.outcome.value:5} ", style=STYLE[result.outcome])
            self._line(line + _text(f"{result.check} [{result.requirement}] {result.message}"))

    def _scenario_done(self, event: ScenarioFinished) -> None:
        name = f"{event.suite}/{event.scenario}"
        self._running.pop(name, None)
        self._done += 1
        outcomes = self._scenario_outcomes.pop((event.suite, event.scenario), [])
        worst = next(
            (o for o in (Outcome.ERROR, Outcome.FAIL, Outcome.WARN) if o in outcomes),
            Outcome.PASS if outcomes else Outcome.SKIP,
        )
        mark = {Outcome.PASS: "ok", Outcome.SKIP: "--"}.get(worst, worst.value.upper())
        self._line(
            Text(f"{mark:>5} ", style=STYLE[worst])
            + _text(f"{name} ({len(outcomes)} checks, {event.duration_s:.2f}s)")
        )
        if self._progress is not None and self._task is not None:
            self._progress.advance(self._task)
        self._describe()

    def _finish(self, report: RunReport) -> None:
        self._list_skipped()
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
        failures = failure_list(report.results)
        if failures:
            self._line(Text("failures:", style="bold"))
            for line in failures:
                self._line(line)
        self.console.print(summary_table(report))
        skipped = skipped_summary(report.skipped_scenarios)
        if skipped:
            self._line(_text(skipped))
        status = report.exit_status()
        verdict = {0: "all checks passed", 1: "checks failed", 3: "the harness errored"}
        flawed = " (a deliberately flawed run)" if report.options.flawed else ""
        self._line(_text(f"{verdict.get(status, 'done')}{flawed} in {report.duration_s:.1f}s"))
        kept = report.artifacts and Path(report.artifacts).is_dir()
        if kept and any(Path(report.artifacts).iterdir()):  # only when something was kept
            self._line(_text(f"screenshots and shrunk scenarios: {report.artifacts}"))
        self._line(Text("rerun: ", style="bold") + _text(report.rerun))
