"""``sso-harness target check FILE``: probe the SP a target file describes and say what works
and which suites apply to it (exit 0 usable, 2 not)."""

from __future__ import annotations

import argparse
import sys
from collections import Counter

from harness.commands.run_cmd import setup_text
from harness.exit_codes import ExitCode
from harness.idp_target import load_idp_target
from harness.idp_world import sp_metadata_for
from harness.preflight import preflight
from harness.runner import RunOptions, why_skipped
from harness.scenario.loader import ScenarioError, discover
from harness.suites import default_roots
from harness.targets import CAPABILITIES, TargetError, load_target


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    check = sub.add_parser("check", help="probe the SP a target file describes")
    check.add_argument("file", metavar="FILE", help="the target file (TOML)")
    metadata = sub.add_parser(
        "sp-metadata",
        help="print the reference SP's metadata for an IdP target file (give it to the IdP)",
    )
    metadata.add_argument("file", metavar="FILE", help="the IdP target file (TOML)")


def _sp_metadata(args: argparse.Namespace) -> int:
    try:
        target = load_idp_target(args.file)
    except TargetError as exc:
        print(f"sso-harness target: {exc}", file=sys.stderr)
        return ExitCode.USAGE
    sys.stdout.write(sp_metadata_for(target).decode("utf-8"))
    print(setup_text(target), file=sys.stderr)
    return ExitCode.OK


def run(args: argparse.Namespace) -> int:
    if args.action == "sp-metadata":
        return _sp_metadata(args)
    try:
        target = load_target(args.file)
    except TargetError as exc:
        print(f"sso-harness target: {exc}", file=sys.stderr)
        return ExitCode.USAGE
    print(f"target {target.name!r}: the SP at {target.sp_base}")
    found = preflight(target)
    for probe in found.probes:
        mark = "ok  " if probe.ok else ("FAIL" if probe.essential else "--  ")
        print(f"  {mark} {probe.name}: {probe.detail}")
    features = target.features
    has = [name for name in CAPABILITIES if features.has(name)]
    lacks = [name for name in CAPABILITIES if not features.has(name)]
    print(f"  features: {', '.join(has) or 'sign-in only'}; not: {', '.join(lacks) or '-'}")
    try:
        runs = discover(default_roots())
    except ScenarioError as exc:
        print(f"  suites: cannot load them ({exc})")
        runs = []
    options = RunOptions(remote=target)
    applies: Counter[str] = Counter()
    skipped: dict[str, Counter[str]] = {}
    for scenario_run in runs:
        reason = why_skipped(scenario_run, options)
        if reason is None:
            applies[scenario_run.suite] += 1
        else:
            skipped.setdefault(scenario_run.suite, Counter())[reason] += 1
    for suite in sorted({r.suite for r in runs}):
        total = applies[suite] + sum(skipped.get(suite, Counter()).values())
        line = f"  suite {suite}: {applies[suite]} of {total} scenario runs apply"
        reasons = skipped.get(suite)
        if reasons:
            line += "; skipped: " + "; ".join(f"{n} as {r}" for r, n in reasons.most_common())
        print(line)
    if not found.usable:
        print(f"not usable: {found.first_problem()}", file=sys.stderr)
        if target.scim_url is not None and preflight(target, saml=False).usable:
            print(
                "its SCIM answers: the SCIM suites need no SAML "
                f"(sso-harness run scenarios/scim_conformance --target {args.file})",
                file=sys.stderr,
            )
        return ExitCode.USAGE
    print("usable: sso-harness run --target " + args.file)
    return ExitCode.OK
