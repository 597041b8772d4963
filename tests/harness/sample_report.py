"""Hand-built runs for the reporter tests: every outcome, two suites, hostile evidence, a SAML
and a SCIM exchange, and a real PNG screenshot; on request a run asked for flaws and options,
with scenarios skipped before they started and a failure pointing at its scenario file's line."""

from __future__ import annotations

import base64
import dataclasses
import zlib
from pathlib import Path
from urllib.parse import quote

from harness.events import (
    CheckFinished,
    Event,
    RunFinished,
    RunStarted,
    ScenarioFinished,
    ScenarioSkipped,
    ScenarioStarted,
)
from harness.protocol.saml.bindings import deflate_and_base64
from harness.rerun import AskedOptions
from harness.results import LOOKED_AT, CheckResult, Outcome, RunReport

HOSTILE = "</script><script>alert(1)</script>"
SAML_RESPONSE = (
    '<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_r1" Version="2.0">'
    '<saml:Issuer xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion">https://idp.test</saml:Issuer>'
    "</samlp:Response>"
)
AUTHN_REQUEST = (
    '<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_q1" '
    'Version="2.0"><saml:Issuer xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion">'
    "http://sp.test/saml/metadata</saml:Issuer></samlp:AuthnRequest>"
)
SCIM_BODY = '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"active":"False"}'


def tiny_png() -> bytes:
    """A valid 1x1 PNG, built by hand so the tests need no image library."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return len(data).to_bytes(4, "big") + body + zlib.crc32(body).to_bytes(4, "big")

    header = (1).to_bytes(4, "big") * 2 + bytes([8, 2, 0, 0, 0])
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def results() -> list[CheckResult]:
    return [
        CheckResult(
            "sso_login",
            "sp-initiated entra",
            "sso.signed-in",
            "SAML-PROF-4.1.4.3",
            "MUST",
            Outcome.PASS,
            "signed in as dana",
            duration_s=0.02,
        ),
        CheckResult(
            "sso_login",
            "sp-initiated entra",
            "sso.audience-enforced",
            "SAML-CORE-2.5.1.4",
            "MUST",
            Outcome.FAIL,
            "the SP accepted an assertion for another SP",
            evidence={
                # The shape harness.signin records: one entry per request of the browser.
                "exchange": [
                    {
                        "request": "GET http://sp.test/saml/login?email=dana%40acme.test",
                        "status": 302,
                        "location": "http://idp.test/saml/sso?SAMLRequest="
                        + quote(deflate_and_base64(AUTHN_REQUEST.encode())),
                    },
                    {
                        "request": "POST http://sp.test/saml/acs",
                        "status": 303,
                        "form": "SAMLResponse="
                        + quote(base64.b64encode(SAML_RESPONSE.encode()).decode())
                        + "&RelayState=%2Fadmin",
                        "location": "/admin",
                    },
                ],
                "note": HOSTILE,
                "raw": b"\x00\x01binary\x1b[31m",
            },
            duration_s=0.5,
            expected="sign-in refused (wrong-audience)",
            observed="signed in as dana",
        ),
        CheckResult(
            "sso_login",
            "sp-initiated entra",
            "sso.session-index",
            "SAML-PROF-4.1.4.2",
            "SHOULD",
            Outcome.WARN,
            "no SessionIndex [bold]kept[/bold]",
        ),
        CheckResult(
            "deprovisioning",
            "blocked employee okta",
            "deprov.scim-active",
            "RFC7643-2.3.2",
            "MUST",
            Outcome.FAIL,
            "active sent as a string",
            evidence={"scim": SCIM_BODY, "status": 200},
            expected="a JSON boolean",
            observed='"False"',
        ),
        CheckResult(
            "deprovisioning",
            "blocked employee okta",
            "deprov.session-ended",
            "BIZ-DEPROV-2",
            "MUST",
            Outcome.ERROR,
            "the SP did not answer",
            traceback="Traceback (most recent call last):\n  ...\nConnectionError: refused",
        ),
        CheckResult(
            "deprovisioning",
            "blocked employee okta",
            "deprov.device-revoked",
            "BIZ-DEPROV-4",
            "MUST",
            Outcome.SKIP,
            "no device activated in this dialect",
        ),
        # The same check met twice in one scenario (two steps).
        CheckResult(
            "deprovisioning",
            "blocked employee okta",
            "sso.signed-in",
            "SAML-PROF-4.1.4.3",
            "MUST",
            Outcome.PASS,
            "signed in before the block",
        ),
        CheckResult(
            "deprovisioning",
            "blocked employee okta",
            "sso.signed-in",
            "SAML-PROF-4.1.4.3",
            "MUST",
            Outcome.PASS,
            "signed in again after reactivation",
        ),
    ]


FLAWED = AskedOptions(
    paths=("scenarios/sso_login", "scenarios/deprovisioning/it's here.yaml"),
    select="audience or deprov",
    dialect="okta",
    sp_flaws=("accept-unsigned", "ignore-audience"),
    idp_flaws=("scim-boolean-as-string",),
    workers=2,
)
SKIPPED = (
    ScenarioSkipped("admin", "admin via group okta", "the target has no admin probe"),
    ScenarioSkipped("admin", "admin revoked okta", "the target has no admin probe"),
    ScenarioSkipped("licenses", "seat limit", "the target states seats = 3, the scenario 5"),
)
# The YAML of the scenario the audience failure comes from; the failing step is line 6.
SCENARIO_YAML = """title: SP-initiated sign-in
given:
  users: [{ref: dana}]
steps:
  - provision: initial
  - sign_in: {user: dana, mutate: wrong-audience, expect: refused}
"""
FAILING_STEP = "- sign_in: {user: dana, mutate: wrong-audience, expect: refused}"


def report(
    *,
    options: AskedOptions | None = None,
    skipped: bool = False,
    scenario_file: Path | None = None,
) -> RunReport:
    """The sample run; ``options`` what it was asked, ``skipped`` adds the SKIPPED scenarios,
    ``scenario_file`` (written with SCENARIO_YAML) is where the audience failure points."""
    checks = results()
    if scenario_file is not None:
        scenario_file.write_text(SCENARIO_YAML, encoding="utf-8")
        checks[1] = dataclasses.replace(checks[1], path=str(scenario_file), line=6)
    if skipped:
        checks += [event.result() for event in SKIPPED]
    return RunReport(
        seed=1234,
        target="reference",
        started="2026-11-28T21:30:00Z",
        duration_s=12.3456,
        results=checks,
        options=options or AskedOptions(),
        run_id="5eed1e55c0de" if options else "",
    )


def events(
    screenshot: Path | None = None,
    *,
    run: RunReport | None = None,
    durations: tuple[float, float] = (0.7, 0.7),
) -> list[Event]:
    """The events of the run above (or of ``run``), as the runner would yield them: the
    skipped scenarios first, then each scenario with its checks, taking ``durations``."""
    run = run or report()
    out: list[Event] = [
        RunStarted(run.seed, run.target, scenarios=2, options=run.options, run_id=run.run_id)
    ]
    scenarios: dict[tuple[str, str], list[CheckResult]] = {}
    for result in run.results:
        if result.check == "scenario" and result.outcome is Outcome.SKIP:
            out.append(ScenarioSkipped(result.suite, result.scenario, result.message))
            continue
        scenarios.setdefault((result.suite, result.scenario), []).append(result)
    for ((suite, scenario), checks), duration in zip(scenarios.items(), durations, strict=True):
        out.append(ScenarioStarted(suite, scenario))
        out.extend(CheckFinished(r) for r in checks)
        shots = (str(screenshot),) if screenshot and suite == "sso_login" else ()
        out.append(ScenarioFinished(suite, scenario, duration, screenshots=shots))
    out.append(RunFinished(run))
    return out


def write_png(path: Path) -> Path:
    path.write_bytes(tiny_png())
    return path


def png_base64() -> str:
    return base64.b64encode(tiny_png()).decode()


AUDIENCE_LOOKED_AT = {
    "Audience": "https://other-sp.example/saml/metadata",
    "SP entity ID": "http://sp.test/saml/metadata",
    "SP answered": "signed in as dana@acme.test",
}


def looked_at_report() -> RunReport:
    """The sample run, its audience failure naming the fields it looked at (given last: every
    reporter must show them first all the same)."""
    run = report()
    checks = list(run.results)
    failed = checks[1]
    checks[1] = dataclasses.replace(
        failed, evidence={**failed.evidence, LOOKED_AT: AUDIENCE_LOOKED_AT}
    )
    return dataclasses.replace(run, results=checks)
