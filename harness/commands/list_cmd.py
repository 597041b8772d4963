"""``sso-harness list suites|checks|flaws|dialects [--json]``: what exists, with requirement ids.

Each listing reads its explicit registry (scenario folders, ``harness.checks.registry.CHECKS``,
both components' ``FLAWS``, the SCIM dialects), so what is listed is exactly what ``run``
accepts. Text output is one aligned row per item, for people and for grep; ``--json`` is for
scripts.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from harness.exit_codes import ExitCode
from harness.reporters.check_catalogue import render_markdown

Listing = dict[str, Any]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("what", choices=sorted(LISTINGS), help="what to list")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument(
        "--format",
        choices=("text", "json", "markdown"),
        default=None,
        help="text (default), json (as --json), or markdown (the page docs/ commits)",
    )
    parser.add_argument(
        "--scenarios",
        metavar="DIR",
        type=Path,
        default=None,
        help="the folder of suites (default: scenarios/ here, else the installed suites)",
    )


def _first_sentence(doc: str | None) -> str:
    text = " ".join((doc or "").split())
    sentence = text.split(". ")[0].rstrip(".")
    # Dialect docstrings open with "``name``: "; the name is already in its own column.
    if sentence.startswith("``") and "``: " in sentence:
        sentence = sentence.split("``: ", 1)[1]
    return sentence.replace("``", "")


def _describe(factory: Callable[..., object]) -> str:
    # A vendor's dialect documents itself in its module's docstring (its sources and quirks).
    module = sys.modules.get(factory.__module__)
    return _first_sentence(factory.__doc__ or (module.__doc__ if module else ""))


def list_suites(scenarios: Path | None) -> Listing:
    from harness.scenario.loader import ScenarioError, expand, load_scenario
    from harness.suites import default_roots

    root = scenarios if scenarios is not None else default_roots()[0]
    if not root.is_dir():
        raise _UsageError(f"no scenario folder at {root}")
    suites: list[dict[str, Any]] = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        files: list[dict[str, Any]] = []
        for file in sorted(folder.glob("*.yaml")):
            try:
                scenario = load_scenario(file)
            except ScenarioError as exc:
                files.append({"file": file.name, "error": str(exc)})
                continue
            runs = len(expand(folder.name, file, scenario))
            files.append({"file": file.name, "title": scenario.title, "runs": runs})
        suites.append(
            {"name": folder.name, "path": str(folder), "scenarios": len(files), "files": files}
        )
    return {"root": str(root), "suites": suites}


def list_checks(_: Path | None) -> Listing:
    from harness.checks.registry import CHECKS, check_by_id

    try:
        check_by_id()  # a duplicate id is a defect the listing must not hide
    except ValueError as exc:
        raise _UsageError(str(exc)) from None
    return {
        "checks": [
            {
                "id": check.id,
                "requirement": check.requirement,
                "level": check.level,
                "title": check.title,
                "clause": check.clause,
                **_security_case_of(check.id),
            }
            for check in CHECKS
        ]
    }


def _security_case_of(check_id: str) -> dict[str, Any]:
    """What a security check sends and expects (nothing for the other checks)."""
    from harness.checks.security_catalogue import CASES_BY_ID
    from harness.protocol.saml.mutators import get_mutator

    parts = check_id.split(".")
    if len(parts) != 3 or parts[0] != "saml-security" or parts[1] not in CASES_BY_ID:
        return {}
    case = CASES_BY_ID[parts[1]]
    variant = next(v for v in case.variants if v.name == parts[2])
    sends = []
    for call in variant.mutators:
        params = ", ".join(f"{k}={v}" for k, v in call.params.items())
        named = f"{call.name}({params})" if params else call.name
        sends.append(f"{named}: {get_mutator(call.name).description}")
    if variant.via == "idp":
        sends.append("IdP-initiated (unsolicited)")
    if variant.relay_state is not None:
        sends.append(f"RelayState {variant.relay_state}")
    return {
        "case": case.id,
        "kind": case.kind,
        "expect": case.expect,
        "sends": sends,
        "references": list(case.references),
    }


def list_flaws(_: Path | None) -> Listing:
    from mock_idp.flaws import FLAWS as IDP_FLAWS
    from reference_sp.flaws import FLAWS as SP_FLAWS

    flaws = [
        {
            "component": "reference-sp",
            "option": "--sp-flaw",
            "name": flaw.name,
            "rule": flaw.rule,
            "description": flaw.description,
        }
        for flaw in SP_FLAWS.values()
    ]
    flaws += [
        {
            "component": "mock-idp",
            "option": "--idp-flaw",
            "name": flaw.name,
            "rule": flaw.rule,
            "description": flaw.description,
        }
        for flaw in IDP_FLAWS
    ]
    return {"flaws": flaws}


def list_dialects(_: Path | None) -> Listing:
    from harness.protocol.scim.dialects import DIALECTS

    return {
        "dialects": [
            {"name": name, "description": _describe(factory)} for name, factory in DIALECTS.items()
        ]
    }


LISTINGS: dict[str, Callable[[Path | None], Listing]] = {
    "suites": list_suites,
    "checks": list_checks,
    "flaws": list_flaws,
    "dialects": list_dialects,
}


class _UsageError(Exception):
    pass


def _table(rows: Sequence[Sequence[str]]) -> str:
    """Columns aligned on the widest cell; the last column is free text and not padded."""
    if not rows:
        return ""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    return "\n".join(
        "  ".join(
            [*(cell.ljust(w) for cell, w in zip(row, widths, strict=False)), row[-1]]
        ).rstrip()
        for row in rows
    )


def render_text(what: str, listing: Listing) -> str:
    if what == "suites":
        blocks = [f"suites under {listing['root']}"]
        for suite in listing["suites"]:
            files = suite["files"]
            blocks.append(f"\n{suite['name']}  ({suite['scenarios']} scenarios)")
            rows = [
                ["  " + f["file"], f"{f['runs']} runs", f["title"]]
                if "error" not in f
                else ["  " + f["file"], "INVALID", f["error"]]
                for f in files
            ]
            if rows:
                blocks.append(_table(rows))
        return "\n".join(blocks)
    if what == "checks":
        rows = [[c["id"], c["requirement"], c["level"], c["title"]] for c in listing["checks"]]
        return _table([["CHECK", "REQUIREMENT", "LEVEL", "TITLE"], *rows])
    if what == "flaws":
        rows = [[f["option"], f["name"], f["rule"], f["description"]] for f in listing["flaws"]]
        return _table([["OPTION", "FLAW", "BREAKS", "WHAT IT DOES"], *rows])
    rows = [[d["name"], d["description"]] for d in listing["dialects"]]
    return _table([["DIALECT", "HOW IT PROVISIONS"], *rows])


def run(args: argparse.Namespace) -> int:
    output = args.format or ("json" if args.json else "text")
    if output == "markdown" and args.what != "checks":
        print("sso-harness list: --format markdown lists checks only", file=sys.stderr)
        return ExitCode.USAGE
    try:
        listing = LISTINGS[args.what](args.scenarios)
    except _UsageError as exc:
        print(f"sso-harness list: {exc}", file=sys.stderr)
        return ExitCode.USAGE
    if output == "json":
        print(json.dumps(listing, indent=2, ensure_ascii=False))
    elif output == "markdown":
        print(render_markdown(listing), end="")
    else:
        print(render_text(args.what, listing))
    invalid = [f["file"] for s in listing.get("suites", []) for f in s["files"] if "error" in f]
    if invalid:
        # Listed above with their reason; the status tells a CI job that a suite cannot run.
        print(f"sso-harness list: {len(invalid)} invalid scenario file(s)", file=sys.stderr)
        return ExitCode.USAGE
    return ExitCode.OK
