"""``sso-harness run``: run scenario suites against an SP and report every check."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from harness import runner
from harness.events import Reporter, RunFinished
from harness.reporters import ReportWriteError
from harness.reporters.console import ConsoleReporter
from harness.reporters.html import HtmlReporter
from harness.reporters.json_report import JsonReporter
from harness.reporters.junit import JUnitReporter
from harness.runner import RunOptions
from harness.scenario.loader import ScenarioError, discover
from harness.scenario.model import DIALECTS, ScenarioRun
from harness.selection import SelectionError, matches
from harness.suites import resolve_paths
from harness.targets import TargetError, load_target

EXIT_USAGE = 2
EXIT_HARNESS_ERROR = 3


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
        "--sp-flaw", action="append", default=[], metavar="NAME", help="a flaw of the reference SP"
    )
    parser.add_argument(
        "--idp-flaw", action="append", default=[], metavar="NAME", help="a flaw of the mock IdP"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="list passing checks too")


def _usage(message: str) -> int:
    print(f"sso-harness run: {message}", file=sys.stderr)
    return EXIT_USAGE


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
    from reference_sp.flaws import FLAWS as SP_FLAWS

    for name in args.sp_flaw:
        if name not in SP_FLAWS:
            return f"unknown SP flaw {name!r}; see 'sso-harness list flaws'"
    for name in args.idp_flaw:
        if name not in IDP_FLAWS:
            return f"unknown IdP flaw {name!r}; see 'sso-harness list flaws'"
    return None


def run_command(args: argparse.Namespace) -> int:
    if args.workers < 1:
        return _usage("--workers must be at least 1")
    remote = None
    if args.target != "reference":
        try:
            remote = load_target(args.target)
        except TargetError as exc:
            return _usage(str(exc))
    problem = _check_flaws(args)
    if problem:
        return _usage(problem)
    try:
        runs = select_runs(args)
    except ScenarioError as exc:
        return _usage(str(exc))
    except SelectionError as exc:
        return _usage(str(exc))
    if not runs:
        return _usage("no scenario to run (check the paths and -k)")
    reporters: list[Reporter] = [ConsoleReporter(verbose=args.verbose)]
    if args.json:
        reporters.append(JsonReporter(args.json))
    if args.junit:
        reporters.append(JUnitReporter(args.junit))
    if args.html:
        reporters.append(HtmlReporter(args.html))
    options = RunOptions(
        seed=args.seed,
        target=args.target,
        sp_flaws=tuple(args.sp_flaw),
        idp_flaws=tuple(args.idp_flaw),
        workers=args.workers,
        remote=remote,
    )
    status = EXIT_HARNESS_ERROR
    try:
        for event in runner.run(runs, options):
            for reporter in reporters:
                reporter.handle(event)
            if isinstance(event, RunFinished):
                status = event.report.exit_status()
    except ReportWriteError as exc:
        return _usage(f"cannot write the report: {exc}")
    return status


def run(args: argparse.Namespace) -> int:
    return run_command(args)
