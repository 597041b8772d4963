"""The runner: scenario runs in, events out. It never prints; reporters handle the events.

Each scenario run gets a fresh world (its own mock IdP and SP) seeded from the run's seed and
the scenario's name, so any scenario reruns alone exactly as it ran in the suite.
``workers > 1`` runs scenarios in separate processes (separate worlds) and reports each
scenario's events as it completes.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import datetime as dt
import tempfile
import time
import traceback
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from harness.browser import BrowserUnavailable, close_shared_browser, prestart_shared_browser
from harness.checks.model import Check, CheckWarned
from harness.events import (
    CheckFinished,
    Event,
    RunFinished,
    RunStarted,
    ScenarioFinished,
    ScenarioSkipped,
    ScenarioStarted,
)
from harness.idp_drivers import Operator
from harness.idp_steps import run_idp_step
from harness.idp_target import IdpTarget
from harness.idp_world import IdpWorld
from harness.provisioning import ProvisioningFailed
from harness.rerun import AskedOptions, rerun_command
from harness.results import CheckResult, Outcome, RunReport, leading, new_run_id
from harness.scenario.model import ScenarioRun
from harness.scenario.needs import missing, needs_saml, organisation_mismatch
from harness.steps import add_user, run_step
from harness.targets import Features, RemoteTarget
from harness.trace import compact_trace
from harness.verdicts import StepError, Verdict
from harness.world import World, make_keys_before_forking


@dataclass(frozen=True)
class RunOptions:
    seed: int = 0
    target: str = "reference"
    sp_flaws: tuple[str, ...] = ()
    idp_flaws: tuple[str, ...] = ()
    workers: int = 1
    remote: RemoteTarget | None = None  # a real SP from a target file, else the reference SP
    # A real IdP under test from its target file, else the mock IdP (for IdP-under-test suites).
    idp_target: IdpTarget | None = None
    # Who does what the harness cannot automate at a real IdP (None: a person at the terminal).
    operator: Operator | None = None
    run_id: str = ""  # this run's identity (fresh message IDs and user names), from run()
    # What the command line asked, recorded in the report (the runs are already selected).
    paths: tuple[str, ...] = ()
    select: str = ""
    dialect: str | None = None
    # This run's own folder for screenshots and shrunk scenarios ("": run() makes a fresh one),
    # never one shared with other runs, whose pictures would land in this run's report.
    artifacts_dir: str = ""
    trace: bool = False  # every check keeps its evidence in full (a pass: a compact trace)

    def asked(self) -> AskedOptions:
        return AskedOptions(
            paths=self.paths,
            select=self.select,
            dialect=self.dialect,
            sp_flaws=self.sp_flaws,
            idp_flaws=self.idp_flaws,
            workers=self.workers,
            idp_target=self.idp_target.path if self.idp_target is not None else None,
        )


def artifacts(options: RunOptions, *parts: str) -> Path:
    """A folder under the run's artifacts; one of its own when the caller gave none (the pytest
    plugin runs scenarios alone), created only by whoever writes there."""
    root = options.artifacts_dir or str(
        Path(tempfile.gettempdir()) / f"sso-harness-run-{new_run_id()}"
    )
    return Path(root, *parts)


def scenario_seed(seed: int, run: ScenarioRun) -> int:
    return zlib.crc32(f"{seed}:{run.suite}/{run.name}".encode())


def _result(run: ScenarioRun, verdict: Verdict, *, trace: bool = False) -> CheckResult:
    """The result of one verdict. A pass keeps a compact trace of its evidence (``trace``:
    the evidence in full); the fields a check looked at always lead its evidence."""
    check: Check = verdict.check
    failure = verdict.failure
    evidence = {}
    expected = observed = None
    if verdict.skipped is not None:
        outcome, message = Outcome.SKIP, verdict.skipped.reason
        evidence = verdict.skipped.evidence
    elif failure is None:
        outcome, message = Outcome.PASS, check.title
        if verdict.held is not None:
            expected, observed = verdict.held.expected, verdict.held.observed
            evidence = verdict.held.evidence
    else:
        warned = check.level != "MUST" or isinstance(failure, CheckWarned)
        outcome = Outcome.WARN if warned else Outcome.FAIL
        message = failure.message
        evidence = failure.evidence
        expected, observed = failure.expected, failure.observed
    if outcome is Outcome.PASS and not trace:
        evidence = compact_trace(evidence)
    return CheckResult(
        suite=run.suite,
        scenario=run.name,
        check=check.id,
        requirement=check.requirement,
        level=check.level,
        outcome=outcome,
        message=message,
        evidence=leading(evidence),
        duration_s=round(verdict.duration_s, 4),
        expected=expected,
        observed=observed,
        line=verdict.line or None,
        path=run.path,
    )


def _error(
    run: ScenarioRun,
    line: int,
    message: str,
    tb: str | None = None,
    outcome: Outcome = Outcome.ERROR,
) -> CheckResult:
    return CheckResult(
        suite=run.suite,
        scenario=run.name,
        check="scenario",
        line=line or None,
        path=run.path,
        requirement="HARNESS",
        level="MUST",
        outcome=outcome,
        message=message,
        traceback=tb,
    )


def why_skipped(run: ScenarioRun, options: RunOptions) -> str | None:
    """Why the target cannot run this scenario at all (None: it can), decided before it starts
    (DESIGN "Declared capabilities, not assumptions")."""
    remote = options.remote
    if run.scenario.under_test == "idp":
        return _why_idp_skipped(run, options)
    if options.idp_target is not None:
        return "this scenario tests an SP; the run tests an IdP (--idp-target)"
    features = remote.features if remote is not None else Features()
    reason = missing(run.scenario, features)
    if reason is None and remote is not None:
        reason = organisation_mismatch(run.scenario.given.organisation, remote.organisation)
    return reason


def _why_idp_skipped(run: ScenarioRun, options: RunOptions) -> str | None:
    if options.remote is not None:
        return "this scenario tests an IdP; the run tests an SP (--target)"
    target = options.idp_target
    if target is None:
        return None
    lacking = [u.ref for u in run.scenario.given.users if u.ref not in target.accounts]
    if lacking:
        return f"the IdP target file has no test account for {', '.join(lacking)} ([users.REF])"
    wanted = run.scenario.sp_wants_encryption
    if wanted is not None and wanted != target.want_encryption:
        asked = "asks" if target.want_encryption else "does not ask"
        return f"the IdP was given SP metadata that {asked} for encryption (sp.want_encryption)"
    if "scim" in run.scenario.needs and not target.provisions:
        return "the IdP under test does not provision over SCIM ([scim] provisions)"
    return None


def _once_each(runs: list[ScenarioRun]) -> list[ScenarioRun]:
    """A real IdP is judged once per scenario: the presets and dialects a scenario lists are
    the mock IdP's ways of behaving, not the real one's."""
    seen: set[str] = set()
    kept = []
    for scenario_run in runs:
        if scenario_run.scenario.under_test != "idp" or scenario_run.path not in seen:
            kept.append(scenario_run)
            seen.add(scenario_run.path)
    return kept


def _idp_store(options: RunOptions) -> str:
    """The reference SP's store: in memory for the mock IdP; for a real IdP one SQLite file
    for the whole run, as the IdP provisions changes, not its whole directory, each time."""
    if options.idp_target is None:
        return "sqlite://"
    path = artifacts(options, "reference-sp.db")
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


def _run_idp_scenario(run: ScenarioRun, options: RunOptions) -> list[Event]:
    """An IdP-under-test scenario: the reference SP receives, the IdP's messages are judged."""
    events: list[Event] = [ScenarioStarted(run.suite, run.name)]
    started = time.perf_counter()
    line = 0
    try:
        with IdpWorld.open(
            run,
            seed=scenario_seed(options.seed, run),
            target=options.idp_target,
            idp_flaws=options.idp_flaws,
            run_id=options.run_id,
            store=_idp_store(options),
            operator=options.operator,
        ) as world:
            for group in run.scenario.given.groups:
                world.driver.ensure_group(group)
            for user in run.scenario.given.users:
                world.driver.hire(world.account(user.ref), user.groups, active=user.active)
                if not world.provisions:
                    world.enrol(world.account(user.ref))
            for step in run.scenario.steps:
                line = step.line
                events += [
                    CheckFinished(_result(run, v, trace=options.trace))
                    for v in run_idp_step(world, step)
                ]
    except StepError as exc:
        events.append(CheckFinished(_error(run, line, str(exc))))
    except Exception as exc:  # the harness or the environment failed: say so, with the trace
        events.append(
            CheckFinished(_error(run, line, f"{type(exc).__name__}: {exc}", traceback.format_exc()))
        )
    events.append(ScenarioFinished(run.suite, run.name, time.perf_counter() - started))
    return events


def needs_browser(run: ScenarioRun) -> bool:
    scenario = run.scenario
    return scenario.browser or any(
        step.kind == "sign_in" and step.value.browser for step in scenario.steps
    )


# Browser contexts a serial run makes ready ahead at most (each holds a renderer process).
READY_BROWSER_SESSIONS = 4


def browser_sessions(run: ScenarioRun) -> int:
    """How many browser sessions the run opens: one per session its browser sign-ins name."""
    scenario = run.scenario
    return len(
        {
            step.value.session or step.value.user
            for step in scenario.steps
            if step.kind == "sign_in" and (scenario.browser or step.value.browser)
        }
    )


def _property_results(run: ScenarioRun, options: RunOptions) -> list[CheckResult]:
    """The lifecycle property suite: one result per invariant (all pass, or the one that
    broke, with the shrunk sequence written as a scenario file)."""
    from harness.lifecycle import INVARIANT_CHECKS, check_lifecycle

    started = time.perf_counter()
    outcome = check_lifecycle(
        run,
        seed=scenario_seed(options.seed, run),
        sp_flaws=options.sp_flaws,
        idp_flaws=options.idp_flaws,
        remote=options.remote,
        run_id=options.run_id,
        examples=run.scenario.examples,
        max_steps=run.scenario.max_steps,
        out_dir=artifacts(options, "shrunk"),
    )
    # The invariants are judged together in one property run: each takes its share of the time,
    # so the checks' times add up to the scenario's instead of N times it.
    elapsed = (time.perf_counter() - started) / len(INVARIANT_CHECKS)
    results = []
    for check in INVARIANT_CHECKS:
        broken = outcome.broken if outcome.broken and outcome.broken.check == check else None
        failure = broken.failure if broken else None
        if failure is not None:
            # The shrunk file reruns against the same target with the same flaws.
            failure.evidence["rerun"] = rerun_command(
                AskedOptions(
                    paths=(str(outcome.scenario_file),),
                    sp_flaws=options.sp_flaws,
                    idp_flaws=options.idp_flaws,
                ),
                options.seed,
                options.target,
            )
        results.append(_result(run, Verdict(check, failure, elapsed, 0), trace=options.trace))
    return results


def run_scenario(run: ScenarioRun, options: RunOptions) -> list[Event]:
    """Every event of one scenario run (picklable, so a worker process can return them)."""
    skipped = why_skipped(run, options)
    if skipped is not None:  # run() filters these out first; a direct caller gets the same event
        return [ScenarioSkipped(run.suite, run.name, skipped)]
    if run.scenario.under_test == "idp":
        return _run_idp_scenario(run, options)
    events: list[Event] = [ScenarioStarted(run.suite, run.name)]
    if run.scenario.property is not None:
        started = time.perf_counter()
        try:
            events += [CheckFinished(r) for r in _property_results(run, options)]
        except Exception as exc:  # the harness failed, not the SP
            events.append(
                CheckFinished(
                    _error(run, 0, f"{type(exc).__name__}: {exc}", traceback.format_exc())
                )
            )
        events.append(ScenarioFinished(run.suite, run.name, time.perf_counter() - started))
        return events
    started = time.perf_counter()
    line = 0
    screenshots: tuple[str, ...] = ()
    try:
        with World.open(
            run,
            seed=scenario_seed(options.seed, run),
            sp_flaws=options.sp_flaws,
            idp_flaws=options.idp_flaws,
            loopback=needs_browser(run),
            remote=options.remote,
            run_id=options.run_id,
            saml=needs_saml(run.scenario),
            screenshot_dir=str(
                artifacts(options, "screenshots", f"{run.suite}-{run.name}".replace("/", "_"))
            ),
        ) as world:
            given = run.scenario.given
            for group in given.groups:
                world.idp.script.ensure_group(group)
            for user in given.users:
                add_user(
                    world,
                    user.ref,
                    user.groups,
                    active=user.active,
                    given_name=user.given_name,
                    family_name=user.family_name,
                    attributes=user.attributes,
                    assigned=user.assigned,
                )
            for step in run.scenario.steps:
                line = step.line
                try:
                    verdicts: list[Verdict] = run_step(world, step)
                except ProvisioningFailed as exc:
                    # The SP's SCIM could not be reached or refused the cycle: what depends on
                    # it is skipped (world.broken), the rest of the scenario still runs.
                    events.append(CheckFinished(_error(run, line, str(exc))))
                    continue
                events += [CheckFinished(_result(run, v, trace=options.trace)) for v in verdicts]
            screenshots = tuple(world.screenshots)
    except BrowserUnavailable as exc:  # this machine cannot run the scenario: not judged
        events.append(CheckFinished(_error(run, line, str(exc), outcome=Outcome.SKIP)))
    except StepError as exc:
        events.append(CheckFinished(_error(run, line, str(exc))))
    except Exception as exc:  # the harness or the environment failed: say so, with the trace
        events.append(
            CheckFinished(_error(run, line, f"{type(exc).__name__}: {exc}", traceback.format_exc()))
        )
    events.append(ScenarioFinished(run.suite, run.name, time.perf_counter() - started, screenshots))
    return events


def default_artifacts_dir(run_id: str) -> str:
    """The run's own temporary folder, named by its id; made by the first screenshot or shrunk
    scenario, so a run that keeps nothing leaves nothing behind."""
    return str(Path(tempfile.gettempdir()) / f"sso-harness-run-{run_id}")


def run(runs: list[ScenarioRun], options: RunOptions) -> Iterator[Event]:
    run_id = options.run_id or new_run_id()
    options = dataclasses.replace(
        options,
        run_id=run_id,
        artifacts_dir=options.artifacts_dir or default_artifacts_dir(run_id),
    )
    started_at = dt.datetime.now(dt.UTC)
    started = time.perf_counter()
    if options.idp_target is not None:
        runs = _once_each(runs)
    # Skips decided up front, so reporters list them before any scenario runs.
    skipped: list[Event] = []
    to_run: list[ScenarioRun] = []
    for scenario_run in runs:
        reason = why_skipped(scenario_run, options)
        if reason is None:
            to_run.append(scenario_run)
        else:
            skipped.append(ScenarioSkipped(scenario_run.suite, scenario_run.name, reason))
    runs = to_run
    yield RunStarted(
        options.seed,
        options.target,
        len(runs),
        options=options.asked(),
        run_id=options.run_id,
        artifacts=options.artifacts_dir,
    )
    results: list[CheckResult] = []

    def collect(events: list[Event]) -> Iterator[Event]:
        for event in events:
            if isinstance(event, ScenarioStarted):  # announced by ``announce`` already
                continue
            if isinstance(event, CheckFinished):
                results.append(event.result)
            elif isinstance(event, ScenarioSkipped):  # the report counts it as a skip
                results.append(event.result())
            yield event

    def announce(scenario_run: ScenarioRun) -> ScenarioStarted:
        # Yielded before the scenario's own events arrive, so a reporter can name what runs.
        return ScenarioStarted(scenario_run.suite, scenario_run.name)

    yield from collect(skipped)
    if options.workers > 1 and len(runs) > 1:
        # The long runs (property suites, browsers) start first, so no worker idles at the end.
        ordered = sorted(runs, key=lambda r: (r.scenario.property is None, not needs_browser(r)))
        make_keys_before_forking()
        with concurrent.futures.ProcessPoolExecutor(max_workers=options.workers) as pool:
            futures = [pool.submit(run_scenario, r, options) for r in ordered]
            # The pool takes the runs in order: the first ``workers`` start at once, and each
            # one that finishes frees a worker for the next.
            for scenario_run in ordered[: options.workers]:
                yield announce(scenario_run)
            waiting = iter(ordered[options.workers :])
            for future in concurrent.futures.as_completed(futures):
                yield from collect(future.result())
                following = next(waiting, None)
                if following is not None:
                    yield announce(following)
    else:
        with_browser = [i for i, r in enumerate(runs) if needs_browser(r)]
        if with_browser:
            # Chromium starts, and makes the sessions' contexts ready, on the other core while
            # the first scenarios run.
            wanted = sum(browser_sessions(runs[i]) for i in with_browser)
            prestart_shared_browser(sessions=min(wanted, READY_BROWSER_SESSIONS))
        try:
            for index, scenario_run in enumerate(runs):
                yield announce(scenario_run)
                yield from collect(run_scenario(scenario_run, options))
                if with_browser and index == with_browser[-1]:
                    close_shared_browser(wait=False)  # Chromium ends while the rest run
        finally:
            close_shared_browser()
    report = RunReport(
        seed=options.seed,
        target=options.target,
        started=started_at.isoformat(timespec="seconds").replace("+00:00", "Z"),
        duration_s=time.perf_counter() - started,
        results=results,
        options=options.asked(),
        run_id=options.run_id,
        artifacts=options.artifacts_dir,
    )
    yield RunFinished(report)
