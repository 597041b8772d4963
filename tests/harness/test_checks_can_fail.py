"""Every check the suites run is shown to fail: a flaw of the reference SP or of the mock IdP
breaks the rule the check enforces, and the check reports it (a check no flaw can break would
prove nothing)."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.events import CheckFinished
from harness.results import Outcome
from harness.runner import RunOptions, run_scenario
from harness.scenario.loader import discover
from harness.scenario.model import ScenarioRun

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
BLOCKED = "deprovisioning/blocked-employee-loses-everything.yaml"
BROKEN = "sso_login/broken-responses-refused.yaml"

# (component, flaw, scenario file, the checks that must fail)
CASES: list[tuple[str, str, str, set[str]]] = [
    (
        "idp",
        "unsigned",
        "sso_login/sp-initiated-sign-in-for-each-preset.yaml",
        {"sso.signs-in"},
    ),
    (
        "sp",
        "sessions-last-one-request",
        "sso_login/sp-initiated-sign-in-for-each-preset.yaml",
        {"session.active"},
    ),
    (
        "idp",
        "drop-relay-state",
        "sso_login/deep-link-through-relay-state.yaml",
        {"sso.lands-on-deep-link"},
    ),
    (
        "sp",
        "sign-in-inactive-users",
        "sso_login/unknown-and-inactive-users-refused.yaml",
        {"sso.refused"},
    ),
    (
        "sp",
        "match-users-across-organisations",
        "sso_login/second-organisation-isolated.yaml",
        {"sso.organisations-isolated"},
    ),
    (
        "sp",
        "keep-session-on-logout",
        "sso_login/single-logout-ends-the-session.yaml",
        {"slo.signed-out"},
    ),
    ("sp", "keep-sessions-on-deprovision", BLOCKED, {"session.ended"}),
    ("sp", "keep-license-on-deactivate", BLOCKED, {"license.state"}),
    ("sp", "keep-activations-on-deprovision", BLOCKED, {"activation.check-in"}),
    ("sp", "scim-ignore-deactivation", BLOCKED, {"scim.state", "admin.access"}),
    (
        "sp",
        "admin-by-stale-group",
        "admin_grants/admin-group-grants-and-revokes-admin.yaml",
        {"admin.access"},
    ),
    (
        "sp",
        "allow-old-clients",
        "license_revocation/activation-rules.yaml",
        {"activation.completes"},
    ),
    ("sp", "accept-unsigned", BROKEN, {"sso.refuses.unsigned"}),
    ("sp", "ignore-expiry", BROKEN, {"sso.refuses.expired"}),
    ("sp", "skip-audience", BROKEN, {"sso.refuses.wrong-audience"}),
    ("sp", "skip-recipient", BROKEN, {"sso.refuses.wrong-recipient"}),
    ("sp", "skip-destination", BROKEN, {"sso.refuses.wrong-destination"}),
    ("sp", "skip-issuer", BROKEN, {"sso.refuses.wrong-issuer"}),
    ("sp", "skip-in-response-to", BROKEN, {"sso.refuses.bad-in-response-to"}),
    ("sp", "ignore-status", BROKEN, {"sso.refuses.status"}),
    ("sp", "trust-keyinfo-cert", BROKEN, {"sso.refuses.wrong-key"}),
]


def first_run(relative: str) -> ScenarioRun:
    runs = discover([SCENARIOS / relative])
    return next((r for r in runs if r.dialect == "rfc" and r.preset == "generic"), runs[0])


def outcomes(run: ScenarioRun, options: RunOptions) -> dict[str, set[Outcome]]:
    found: dict[str, set[Outcome]] = {}
    for event in run_scenario(run, options):
        if isinstance(event, CheckFinished):
            found.setdefault(event.result.check, set()).add(event.result.outcome)
    return found


@pytest.mark.parametrize(
    ("component", "flaw", "scenario", "broken"), CASES, ids=[c[1] for c in CASES]
)
def test_the_flaw_makes_its_checks_fail(
    component: str, flaw: str, scenario: str, broken: set[str]
) -> None:
    run = first_run(scenario)
    clean = outcomes(run, RunOptions())
    assert all(o == {Outcome.PASS} for o in clean.values()), clean
    flaws = (flaw,)
    options = RunOptions(sp_flaws=flaws) if component == "sp" else RunOptions(idp_flaws=flaws)
    flawed = outcomes(run, options)
    # A broken SHOULD is reported as a warning: it still shows the check caught the flaw.
    failing = {check for check, seen in flawed.items() if seen & {Outcome.FAIL, Outcome.WARN}}
    assert broken <= failing, f"{flaw} broke {sorted(failing)}, not all of {sorted(broken)}"
    assert Outcome.ERROR not in set().union(*flawed.values())


def test_no_check_of_the_suites_is_left_unproven() -> None:
    proven = set().union(*(c[3] for c in CASES))
    used: set[str] = set()
    for run in discover([SCENARIOS]):
        if run.scenario.property is not None:
            continue  # its invariants are checks already proven by the scenarios above
        for step in run.scenario.steps:
            used |= _checks_of(step.kind, step.value)
    assert used <= proven, f"checks no flaw is shown to break: {sorted(used - proven)}"


def _checks_of(kind: str, value: object) -> set[str]:
    """The check ids a step can produce (mirrors harness.steps)."""
    get = lambda name: getattr(value, name, None)  # noqa: E731
    if kind == "sign_in":
        if get("idp") == "other":
            return {"sso.organisations-isolated"}
        if get("expect") == "refused":
            mutators = get("mutators") or ()
            return {f"sso.refuses.{mutators[-1]}"} if mutators else {"sso.refused"}
        return {"sso.signs-in"} | ({"sso.lands-on-deep-link"} if get("relay_state") else set())
    if kind == "sign_out":
        return {"slo.signed-out"}
    if kind == "activate_device":
        return {"activation.completes"}
    if kind != "expect":
        return set()
    checks = set()
    if get("sign_in") == "signed-in":
        checks.add("sso.signs-in")
    elif get("sign_in") == "refused":
        checks.add("sso.refused")
    if get("open_session") == "ended":
        checks.add("session.ended")
    elif get("open_session") == "active":
        checks.add("session.active")
    if get("admin") is not None:
        checks.add("admin.access")
    if get("license") is not None:
        checks.add("license.state")
    if get("check_in") is not None:
        checks.add("activation.check-in")
    if get("scim") is not None:
        checks.add("scim.state")
    return checks
