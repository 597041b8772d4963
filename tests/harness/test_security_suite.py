"""The saml_security suite against the reference SP: clean, every check passes (T01 alone is
skipped in-process); under each SAML flaw of the reference SP, exactly the checks of the rule
the flaw breaks fail, and no others; and every check that asks the SP to refuse, sign in or
keep the browser on its site is shown to fail under some flaw (a check no flaw can break would
prove nothing)."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import pytest

from harness.checks.security_catalogue import CASES
from harness.cli import main
from harness.events import CheckFinished
from harness.results import CheckResult, Outcome
from harness.runner import RunOptions, run_scenario
from harness.scenario.loader import discover
from reference_sp.saml_flaws import SAML_FLAWS
from tests.support.reference_process import reference_sp_process

SUITE = Path(__file__).resolve().parents[2] / "scenarios" / "saml_security"
PREFIX = "saml-security."
SEEN = {Outcome.FAIL, Outcome.WARN}

# The flaws, one or a few together, and the checks (without the prefix) each must fail or warn.
SP_CASES: list[tuple[tuple[str, ...], set[str]]] = [
    # XSW4 wraps the signed assertion inside an unsigned one: nothing trusted signs the outer.
    (("accept-unsigned",), {"S01.unsigned-name-id", "E01.unsigned-encrypted", "W04.xsw4"}),
    # An SP that never verifies signatures cannot tell a foreign key's from the IdP's (S04).
    (
        ("skip-signature-verification",),
        {
            "S02.corrupt-signature",
            "S02.tamper-after-signing",
            "S04.wrong-key",
            "S04.keyinfo-self-signed",
            "S05.hmac-signature",
            "S07.two-signed-info",
            "S08.digest-comment",
            "S10.another-idps-key",
            "W08.xsw8",
            "W10.stray-digest",
        },
    ),
    # Another organisation's IdP key travels in KeyInfo too (S10).
    (
        ("trust-keyinfo-cert",),
        {"S04.wrong-key", "S04.keyinfo-self-signed", "S10.another-idps-key"},
    ),
    (("trust-keyinfo-hmac",), {"S05.hmac-signature"}),
    (("first-signing-key-only",), {"P06.second-key"}),
    (("tell-decryption-errors",), {"E02.padding-oracle"}),
    (("no-clock-skew",), {"P05.two-minutes-ahead", "P05.two-minutes-late"}),
    # The unsolicited cases after C08 lose their control (an IdP-initiated sign-in) and are
    # skipped, not failed.
    (("refuse-unsolicited",), {"C08.unsolicited"}),
    (("trust-every-organisation-key",), {"S10.another-idps-key"}),
    (("skip-reference-uri",), {"S06.empty", "S06.other", "S06.external"}),
    (("first-signed-info",), {"S07.two-signed-info"}),
    (("digest-first-node",), {"S08.digest-comment"}),
    (("digest-from-document",), {"W10.stray-digest"}),
    (
        ("verify-by-reference",),
        {"W01.xsw1", "W02.xsw2", "W05.xsw5", "W06.xsw6", "W08.xsw8"},
    ),
    # The attacker's assertion placed last is read only by an SP reading the last one: the
    # first is the signed subject's, so accepting it is a warning, not a forgery.
    (
        ("process-first-assertion-unverified",),
        {
            "E03.plaintext-beside-encrypted",
            "S03.first",
            "S03.last",
            "S09.duplicate-id",
            "W03.xsw3",
            "W04.xsw4",
            "W07.xsw7",
        },
    ),
    (("name-id-first-text",), {"X05.comment", "X05.pi", "X05.cdata"}),
    (("resolve-entities",), {"X01.external-entity", "X01.external-dtd"}),
    (("run-transforms",), {"X03.xslt-transform"}),
    (("two-parsers",), {"W11.doctype-differential"}),
    # Its look-alike is added after the Response's signature: only an SP that also ignores
    # that signature reads it (tests/reference_sp/test_parser_flaws.py), never in this suite.
    (("match-prefixes",), set()),
    (("skip-destination",), {"C01.wrong-destination", "C01.no-destination"}),
    (("skip-recipient",), {"C02.wrong-recipient", "C02.no-recipient"}),
    (
        ("ignore-expiry",),
        {
            "C03.subject-expired",
            "C03.no-subject-expiry",
            "C04.subject-not-yet-valid",
            "C11.not-yet-valid",
            "C11.expired",
            "C11.inverted-validity",
            "C18.session-expired",
        },
    ),
    (("any-confirmation-method",), {"C05.sender-vouches"}),
    (
        ("skip-in-response-to",),
        {"C06.bad-in-response-to", "C07.other-browser", "C09.unsolicited-in-response-to"},
    ),
    (("no-replay-cache",), {"C10.unsolicited", "C14.one-time-use"}),
    # A solicited replay from another browser meets two defences: the request is bound to the
    # browser that made it, and the assertion ID to its first use.
    (
        ("skip-in-response-to", "no-replay-cache"),
        {
            "C06.bad-in-response-to",
            "C07.other-browser",
            "C09.unsolicited-in-response-to",
            "C10.solicited",
            "C10.unsolicited",
            "C14.one-time-use",
        },
    ),
    (
        ("skip-audience",),
        {"C12.wrong-audience", "C13.extra-audience-restriction", "C13.no-audience"},
    ),
    # A Response the IdP made for another SP breaks four rules at once: only an SP that checks
    # none of them takes it.
    (
        ("skip-audience", "skip-recipient", "skip-destination", "skip-in-response-to"),
        {
            "C01.no-destination",
            "C01.wrong-destination",
            "C02.no-recipient",
            "C02.wrong-recipient",
            "C06.bad-in-response-to",
            "C07.other-browser",
            "C09.unsolicited-in-response-to",
            "C12.wrong-audience",
            "C13.extra-audience-restriction",
            "C13.no-audience",
            "S11.another-sps-response",
        },
    ),
    (("ignore-unknown-conditions",), {"C14.unknown-condition"}),
    (
        ("skip-issuer",),
        {
            "C15.wrong-issuer",
            "C15.mismatched-issuer",
            "C15.issuer-format",
            "C15.no-assertion-issuer",
        },
    ),
    (("ignore-status",), {"C16.status"}),
    (("skip-version-check",), {"C17.wrong-version"}),
    (("no-authn-statement-needed",), {"C17.no-authn-statement"}),
    (
        ("open-redirect",),
        {"R01.absolute", "R01.scheme-relative", "R01.backslash", "R01.javascript"},
    ),
]
SP_CASES_BY_FLAW = {flaws[0]: broken for flaws, broken in SP_CASES if len(flaws) == 1}
# An IdP that signs nothing fails the positive control; every other case is then skipped.
IDP_CASES: list[tuple[tuple[str, ...], set[str]]] = [
    (("unsigned",), {"P01.both-signed"}),
]

# Checks no flaw can make fail, and why (reported to the catalogue's owner).
UNPROVABLE = {
    # The IdP encrypts every response to an SP that offers a key, P01 included: P04 is P01,
    # and when P01 fails, P04 is skipped for want of a positive control.
    "P04.encrypted": "identical to its own positive control P01",
    "X06.prefix-redeclared": "its look-alike reaches only an SP ignoring the Response signature",
    # No flaw models libxml2's ID lookup (XSW10) or REXML's namespace reading (W12), and
    # libxml2's amplification limit protects even the flawed SP from billion laughs.
    "W09.xsw10": "no flaw models the parser quirk it exploits",
    "W12.namespace-differential": "no flaw models the parser quirk it exploits",
    "X02.entity-expansion": "libxml2's limits answer quickly even in the flawed SP",
    # A LogoutResponse names nobody: no SP, however flawed, finds an identity in it.
    "S11.logout-response": "the message names no user to sign in",
}


@functools.cache
def results(
    sp_flaws: tuple[str, ...] = (), idp_flaws: tuple[str, ...] = ()
) -> dict[str, list[CheckResult]]:
    """Every result of the suite's security checks by check id (without the prefix)."""
    options = RunOptions(sp_flaws=sp_flaws, idp_flaws=idp_flaws)
    found: dict[str, list[CheckResult]] = {}
    for run in discover([SUITE]):
        for event in run_scenario(run, options):
            if isinstance(event, CheckFinished):
                found.setdefault(event.result.check.removeprefix(PREFIX), []).append(event.result)
    return found


def outcomes(found: dict[str, list[CheckResult]], wanted: set[Outcome]) -> set[str]:
    return {check for check, seen in found.items() if {r.outcome for r in seen} & wanted}


def test_the_reference_sp_passes_the_suite() -> None:
    found = results()
    assert not outcomes(found, {Outcome.FAIL, Outcome.WARN, Outcome.ERROR})
    assert outcomes(found, {Outcome.SKIP}) == {"T01.acs-scheme"}  # in-process: no transport
    every = {case.check_id(v).removeprefix(PREFIX) for case in CASES for v in case.variants}
    assert every <= found.keys()


@pytest.mark.parametrize(
    ("flaws", "broken"), SP_CASES, ids=["+".join(flaws) for flaws, _ in SP_CASES]
)
def test_each_sp_flaw_fails_exactly_its_checks(flaws: tuple[str, ...], broken: set[str]) -> None:
    found = results(sp_flaws=flaws)
    assert not outcomes(found, {Outcome.ERROR})
    assert outcomes(found, SEEN) == broken


@pytest.mark.parametrize(("flaws", "broken"), IDP_CASES, ids=[f[0] for f, _ in IDP_CASES])
def test_an_idp_flaw_fails_the_positive_control(flaws: tuple[str, ...], broken: set[str]) -> None:
    found = results(idp_flaws=flaws)
    assert not outcomes(found, {Outcome.ERROR})
    assert outcomes(found, SEEN) == broken


def test_every_saml_flaw_is_in_the_table() -> None:
    assert {flaw for flaws, _ in SP_CASES for flaw in flaws} >= SAML_FLAWS | {"open-redirect"}


def test_every_judged_check_is_shown_to_fail() -> None:
    judged = {
        case.check_id(variant).removeprefix(PREFIX)
        for case in CASES
        for variant in case.variants
        if case.expect in ("refused", "signed-in", "on-site", "uniform") or case.can_harm
    }
    proven = set().union(*(broken for _, broken in SP_CASES + IDP_CASES))
    assert UNPROVABLE.keys() <= judged
    assert judged - proven == UNPROVABLE.keys()


def test_a_flaw_changes_a_policy_observation() -> None:
    observed = results(sp_flaws=("accept-unsigned",))["P03.unsigned-assertion"][0].observed
    assert results()["P03.unsigned-assertion"][0].observed.startswith("refused")  # type: ignore[union-attr]
    assert observed is not None and observed.startswith("accepted")


@pytest.mark.loopback
@pytest.mark.parametrize(
    ("sp_options", "broken"),
    [((), set()), (("--flaw", "verify-by-reference"), SP_CASES_BY_FLAW["verify-by-reference"])],
    ids=["strict", "verify-by-reference"],
)
def test_the_suite_judges_the_reference_sp_as_a_file_target(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sp_options: tuple[str, ...], broken: set[str]
) -> None:
    """The same cases against `sso-harness sp` in its own process, through a target file: the
    strict SP passes them all (T01 is skipped on loopback), a flawed one fails exactly its own."""
    monkeypatch.setenv("REMOTE_SCIM_TOKEN", "remote-token")
    with reference_sp_process(tmp_path, *sp_options) as target:
        report = tmp_path / "report.json"
        status = main(["run", str(SUITE), "--target", str(target), "--json", str(report)])
    found: dict[str, set[str]] = {}
    for result in json.loads(report.read_text())["results"]:
        found.setdefault(result["outcome"], set()).add(result["check"].removeprefix(PREFIX))
    assert found.get("error", set()) == set()
    assert found.get("fail", set()) | found.get("warn", set()) == broken
    # T01: on loopback; P06: a real SP read the IdP's metadata before the run; S10: no second
    # organisation's IdP.
    assert found.get("skip", set()) == {"T01.acs-scheme", "P06.second-key", "S10.another-idps-key"}
    assert status == (1 if broken else 0)
