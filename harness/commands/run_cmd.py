"""``sso-harness run``: run scenario suites against an SP and report every check."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from harness import runner
from harness.events import Reporter, RunFinished
from harness.exit_codes import ExitCode
from harness.idp_drivers import Operator
from harness.idp_target import IdpTarget, load_idp_target
from harness.preflight import preflight
from harness.reporters import ReportWriteError, check_report_path
from harness.reporters.console import ConsoleReporter
from harness.reporters.html import HtmlReporter
from harness.reporters.json_report import JsonReporter
from harness.reporters.junit import JUnitReporter
from harness.runner import RunOptions
from harness.scenario.loader import ScenarioError, discover
from harness.scenario.model import DIALECTS, ScenarioRun
from harness.scenario.needs import needs_saml
from harness.selection import SelectionError, matches
from harness.suites import resolve_paths
from harness.targets import RemoteTarget, TargetError, load_target


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help="scenario files or suite folders (default: every suite under scenarios/)",
    )
    parser.add_argument(
        "--target",
        default="reference",
        help="'reference' (the built-in reference SP, in-process) or a target FILE.toml",
    )
    parser.add_argument(
        "--idp-target",
        metavar="FILE.toml",
        help="an IdP under test, from its target file (default: the mock IdP); the IdP-under-"
        "test suites (scenarios/idp_conformance) judge it, the SP-under-test ones are skipped",
    )
    parser.add_argument(
        "--dialect",
        choices=DIALECTS,
        default=None,
        help="provision in this dialect only (default: each scenario's own, else rfc)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the run (default 0)")
    parser.add_argument("-k", dest="select", default="", help="run scenarios matching EXPR")
    parser.add_argument("--workers", type=int, default=1, help="scenarios run in parallel")
    parser.add_argument("--json", metavar="FILE", help="write the JSON report")
    parser.add_argument("--junit", metavar="FILE", help="write a JUnit XML report")
    parser.add_argument("--html", metavar="FILE", help="write a self-contained HTML report")
    parser.add_argument(
        "--artifacts",
        metavar="DIR",
        help="this run's screenshots and shrunk scenarios (default: REPORT-artifacts/ next to the "
        "first report, else a fresh temporary folder)",
    )
    parser.add_argument(
        "--sp-flaw", action="append", default=[], metavar="NAME", help="a flaw of the reference SP"
    )
    parser.add_argument(
        "--idp-flaw", action="append", default=[], metavar="NAME", help="a flaw of the mock IdP"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="list passing checks too")
    parser.add_argument(
        "--trace",
        action="store_true",
        help="keep every check's evidence in full, messages included (a passing check keeps "
        "a compact trace otherwise)",
    )


def _usage(message: str) -> int:
    print(f"sso-harness run: {message}", file=sys.stderr)
    return ExitCode.USAGE


def select_runs(args: argparse.Namespace) -> list[ScenarioRun]:
    paths = resolve_paths([Path(p) for p in args.paths])
    runs = discover(paths)
    if args.dialect:
        runs = [
            r.model_copy(update={"dialect": args.dialect})
            for r in runs
            if not r.scenario.dialects or r.dialect == args.dialect
        ]
        unique: dict[tuple[str, str], ScenarioRun] = {}
        for r in runs:
            unique.setdefault((r.path, r.name), r)
        runs = list(unique.values())
    if args.select:
        runs = [r for r in runs if matches(args.select, r)]
    return runs


def _check_flaws(args: argparse.Namespace) -> str | None:
    from mock_idp.flaws import FLAWS_BY_NAME as IDP_FLAWS
    from mock_idp.flaws import name_unknown
    from reference_sp.flaws import FLAWS as SP_FLAWS
    from reference_sp.flaws import RENAMED as SP_RENAMED

    for name in args.sp_flaw:
        if name not in SP_FLAWS:
            renamed = f" (now {SP_RENAMED[name]!r})" if name in SP_RENAMED else ""
            return f"unknown SP flaw {name!r}{renamed}; see 'sso-harness list flaws'"
    for name in args.idp_flaw:
        if name not in IDP_FLAWS:
            return f"unknown IdP flaw {name_unknown([name])}; see 'sso-harness list flaws'"
    return None


def _reports(args: argparse.Namespace) -> list[str]:
    return [path for path in (args.json, args.junit, args.html) if path]


def artifacts_dir(args: argparse.Namespace) -> Path | None:
    """The run's own folder: --artifacts, else next to the first report (``report.html`` ->
    ``report-artifacts/``), else a fresh temporary one. Never shared by default with another
    run's reports, so no report shows another run's screenshots."""
    if args.artifacts:
        folder = Path(args.artifacts)
    elif _reports(args):
        first = Path(_reports(args)[0])
        folder = first.with_name(f"{first.stem}-artifacts")
    else:
        return None  # the runner names a temporary folder after the run's id
    # The same rule as the reports: never invent a parent. The folder itself is made by the
    # first screenshot or shrunk scenario, so a run without any leaves no empty folder behind.
    if not folder.parent.is_dir():
        raise ReportWriteError(f"cannot write the artifacts: {folder.parent} does not exist")
    if folder.exists() and not folder.is_dir():
        raise ReportWriteError(f"cannot write the artifacts: {folder} is not a folder")
    return folder


class _UsageError(Exception):
    """The command line or a file it names cannot work: one line, exit 2, nothing run."""


def run_command(args: argparse.Namespace) -> int:
    try:
        remote, runs, artifacts, reporters = _prepare(args)
        idp_target = _idp_target(args, remote)
    except (_UsageError, ReportWriteError, TargetError, ScenarioError, SelectionError) as exc:
        return _usage(str(exc))
    options = RunOptions(
        seed=args.seed,
        target=args.target,
        sp_flaws=tuple(args.sp_flaw),
        idp_flaws=tuple(args.idp_flaw),
        workers=args.workers,
        remote=remote,
        idp_target=idp_target,
        operator=Operator(timeout_s=idp_target.timeout_s, terminal=sys.stdin.isatty())
        if idp_target is not None
        else None,
        paths=tuple(args.paths),
        select=args.select,
        dialect=args.dialect,
        artifacts_dir=str(artifacts) if artifacts is not None else "",
        trace=args.trace,
    )
    status = ExitCode.HARNESS_ERROR
    try:
        for event in runner.run(runs, options):
            for reporter in reporters:
                reporter.handle(event)
            if isinstance(event, RunFinished):
                status = event.report.exit_status()
    except ReportWriteError as exc:  # its message begins "cannot write the report"
        return _usage(str(exc))
    return status


def _prepare(
    args: argparse.Namespace,
) -> tuple[RemoteTarget | None, list[ScenarioRun], Path | None, list[Reporter]]:
    """Everything checked before anything runs: a bad report path, target, flaw or selection
    must not cost the run."""
    if args.workers < 1:
        raise _UsageError("--workers must be at least 1")
    for path in _reports(args):
        check_report_path(path)
    remote = load_target(args.target) if args.target != "reference" else None
    if remote is not None and args.sp_flaw:
        raise _UsageError("--sp-flaw turns on flaws of the reference SP only, not of a target file")
    problem = _check_flaws(args)
    if problem:
        raise _UsageError(problem)
    runs = select_runs(args)
    if not runs:
        raise _UsageError("no scenario to run (check the paths and -k)")
    if remote is not None:
        # An SP that is not there, or a file that does not describe it, is one line, not a
        # report of hundreds of errors (CONTRACT: `run` makes the preflight first).
        saml = any(needs_saml(r.scenario) for r in runs)
        problem = preflight(remote, full=False, saml=saml).first_problem()
        if problem is not None:
            raise _UsageError(
                f"{args.target}: the SP cannot be used: {problem} "
                f"(see sso-harness target check {args.target})"
            )
    return remote, runs, artifacts_dir(args), _reporters_for(args)


def _idp_target(args: argparse.Namespace, remote: RemoteTarget | None) -> IdpTarget | None:
    if not args.idp_target:
        return None
    if remote is not None:
        raise _UsageError("--idp-target tests an IdP, --target FILE an SP: give one of them")
    if args.workers > 1:
        raise _UsageError("--idp-target runs one scenario at a time (the SP has one address)")
    if args.idp_flaw:
        raise _UsageError("--idp-flaw turns on flaws of the mock IdP only, not of a target file")
    target = load_idp_target(args.idp_target)
    print(setup_text(target), file=sys.stderr)
    return target


def setup_text(target: IdpTarget) -> str:
    """What to configure in the IdP under test before the run: the SP it talks to."""
    base = target.sp_public_url or f"http://{target.sp_host}:{target.sp_port}"
    lines = [
        f"IdP under test: {target.name}. Configure it with the reference SP:",
        f"  SP metadata    {base}/saml/metadata (entity ID)",
        f"  ACS            {base}/saml/acs (HTTP-POST)",
        f"  single logout  {base}/saml/slo",
    ]
    if target.provisions:
        token = "the token of the file's [scim]" if target.scim_token else "(no token given)"
        lines.append(f"  SCIM           {base}/scim/v2, bearer {token}")
    return "\n".join(lines)


def _reporters_for(args: argparse.Namespace) -> list[Reporter]:
    reporters: list[Reporter] = [ConsoleReporter(verbose=args.verbose)]
    if args.json:
        reporters.append(JsonReporter(args.json))
    if args.junit:
        reporters.append(JUnitReporter(args.junit))
    if args.html:
        reporters.append(HtmlReporter(args.html))
    return reporters


def run(args: argparse.Namespace) -> int:
    return run_command(args)
