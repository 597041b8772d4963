"""The scim_conformance suite against the reference SP: clean, every check passes (and every
check of the catalogue is run); under each SCIM flaw, exactly the checks of the rule the flaw
breaks fail, and no others. The suite runs in-process in about a second, so each flaw runs the
whole server and robustness suites (not only the groups it touches): that is what proves that
nothing else moved."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest

from harness.checks.scim_conformance import CHECKS
from harness.events import CheckFinished
from harness.results import Outcome
from harness.runner import RunOptions, run_scenario
from harness.scenario.loader import discover
from harness.scenario.model import ScimConformanceStep
from reference_sp.flaws import FLAWS

SUITE = Path(__file__).resolve().parents[2] / "scenarios" / "scim_conformance"
SERVER = [SUITE / "server.yaml", SUITE / "robustness.yaml"]

FLAW_CASES: dict[str, set[str]] = {
    "scim-username-case-sensitive": {"scim.case.username-filter"},
    "scim-patch-not-atomic": {"scim.patch.atomic"},
    # Both walk pages by startIndex: the 3-user walk and the 60-user list by 25.
    "scim-ignores-start-index": {"scim.pagination.start-index", "scim.robustness.large-list"},
    "scim-loses-concurrent-member-adds": {"scim.robustness.concurrent-member-adds"},
    # Every check of an error body (RFC 7644 §3.12: status is a JSON string).
    "scim-error-status-as-number": {
        "scim.errors.not-found",
        "scim.errors.invalid-filter",
        "scim.errors.missing-required",
        "scim.errors.malformed-json",
    },
    "scim-syntax-error-untyped": {"scim.errors.invalid-syntax"},
    "scim-value-error-untyped": {"scim.errors.invalid-value"},
    "scim-uniqueness-error-untyped": {"scim.errors.uniqueness"},
    "scim-mutability-error-untyped": {"scim.errors.mutability"},
    "scim-replace-unmatched-filter-adds": {"scim.errors.no-target"},
    "scim-discovery-accepts-writes": {"scim.discovery.read-only"},
    "scim-discovery-ignores-filter": {"scim.discovery.filter-forbidden"},
    "scim-put-refuses-foreign-id": {"scim.crud.replace-ignores-read-only"},
    "scim-refuses-application-json": {"scim.crud.create-as-json"},
    "scim-search-ignores-filter": {"scim.search.type", "scim.search.root"},
    "scim-attributes-drop-id": {"scim.projection.attributes"},
    "scim-bulk-ignores-fail-on-errors": {"scim.bulk.fail-on-errors"},
    "scim-bulk-over-max-payload": {"scim.bulk.max-payload"},
    "scim-me-not-found": {"scim.me.answers-or-501"},
    "scim-duplicate-add-refused": {"scim.patch.duplicate-add"},
    "scim-keeps-two-primaries": {"scim.patch.one-primary"},
}


@functools.cache
def outcomes(paths: tuple[Path, ...], sp_flaws: tuple[str, ...] = ()) -> dict[str, set[Outcome]]:
    found: dict[str, set[Outcome]] = {}
    for run in discover(list(paths)):
        for event in run_scenario(run, RunOptions(sp_flaws=sp_flaws)):
            if isinstance(event, CheckFinished):
                found.setdefault(event.result.check, set()).add(event.result.outcome)
    return found


def failing(found: dict[str, set[Outcome]]) -> set[str]:
    return {c for c, seen in found.items() if seen & {Outcome.FAIL, Outcome.WARN, Outcome.ERROR}}


def test_the_reference_sp_passes_the_whole_suite() -> None:
    found = outcomes((SUITE,))
    assert not failing(found)
    assert {c for c, seen in found.items() if Outcome.SKIP in seen} == set()
    assert CHECKS.keys() <= found.keys()  # every check of the catalogue ran
    assert found["scim.state"] == {Outcome.PASS}  # the five dialects' lifecycles


@pytest.mark.parametrize("flaw", sorted(FLAW_CASES))
def test_each_scim_flaw_fails_exactly_its_checks(flaw: str) -> None:
    found = outcomes(tuple(SERVER), (flaw,))
    assert failing(found) == FLAW_CASES[flaw]
    assert {CHECKS[c].requirement for c in FLAW_CASES[flaw]} == {FLAWS[flaw].rule}


def test_every_scim_flaw_is_in_the_table() -> None:
    assert {f for f in FLAWS if f.startswith("scim-") and f != "scim-ignore-deactivation"} == set(
        FLAW_CASES
    )


def test_an_unknown_group_is_refused_naming_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"unknown SCIM group .filter.*filters"):
        ScimConformanceStep(group="filter")
