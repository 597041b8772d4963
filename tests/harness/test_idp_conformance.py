"""The IdP-under-test suite, end to end: the mock IdP in every preset and dialect passes it (with
the deviations its vendors document, named); each of its flaws fails exactly its checks; and a
"real" IdP (the mock IdP served on loopback, reached only through its metadata URL and its login
form, as the harness reaches any IdP) is judged from an IdP target file in each way of signing
in: a login form, a script, and an operator who does what the harness asks."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from harness import runner
from harness.events import RunFinished
from harness.idp_drivers import Operator
from harness.idp_target import load_idp_target
from harness.idp_world import sp_metadata_for
from harness.results import CheckResult, Outcome, RunReport
from harness.runner import RunOptions
from harness.scenario.loader import discover
from harness.selection import matches
from harness.targets import TargetError
from mock_idp.app import create_app
from mock_idp.idp import MockIdP
from mock_idp.keystore import load_or_create
from tests.peers.servers import free_port
from tests.support.servers import serve

SUITE = Path(__file__).parents[2] / "scenarios" / "idp_conformance"
PASSWORD = "a test user's password"


def run_suite(select: str = "", **options: Any) -> RunReport:
    runs = [r for r in discover([SUITE]) if not select or matches(select, r)]
    for event in runner.run(runs, RunOptions(**options)):
        if isinstance(event, RunFinished):
            return event.report
    raise AssertionError("the run never finished")


def ids(report: RunReport, *outcomes: Outcome) -> set[str]:
    return {r.check for r in report.results if r.outcome in outcomes}


def results(report: RunReport, scenario: str, check: str) -> list[CheckResult]:
    return [r for r in report.results if r.scenario.startswith(scenario) and r.check == check]


def test_the_mock_idp_passes_in_every_preset_and_dialect_with_its_vendors_deviations_named() -> (
    None
):
    report = run_suite()
    assert ids(report, Outcome.FAIL, Outcome.ERROR) == set()
    # The mock IdP's metadata is on http://idp.test: a SHOULD of saml2int, honestly a WARN.
    assert ids(report, Outcome.WARN) == {"idp.metadata.endpoints-tls"}
    entra = results(report, "sp-initiated-sign-in[preset=entra]", "idp.response.response-signed")
    assert entra and all("documented entra behaviour" in (r.observed or "") for r in entra)
    generic = results(
        report, "sp-initiated-sign-in[preset=generic]", "idp.response.response-signed"
    )
    assert generic and not any("deviation" in (r.observed or "") for r in generic)
    entra_scim = results(report, "provisioning[dialect=entra]", "idp.scim.deviations")
    assert any("boolean-as-string (documented entra" in (r.observed or "") for r in entra_scim)
    okta_scim = results(report, "provisioning[dialect=okta]", "idp.scim.content-type")
    assert any("documented okta behaviour" in (r.observed or "") for r in okta_scim)
    rfc_scim = results(report, "provisioning[dialect=rfc]", "idp.scim.deviations")
    assert rfc_scim and not any("deviation:" in (r.observed or "") for r in rfc_scim)
    signed_in = results(report, "sp-initiated-sign-in", "sso.signs-in")
    assert len(signed_in) == 8 and all(r.outcome is Outcome.PASS for r in signed_in)


# Each flaw of the mock IdP, and exactly the checks of the suite it fails (the generic preset's
# sign-ins and single logout). A flaw the Response shows fails its judge; one the SP then
# refuses fails the sign-in too.
FLAW_FAILS: dict[str, set[str]] = {
    "no-destination": {"idp.response.destination", "sso.signs-in"},
    "sha1": {"idp.response.signature-algorithms", "sso.signs-in"},
    "unsigned-assertion": {"idp.response.assertion-signed", "sso.signs-in"},
    "unsigned": {"idp.response.assertion-signed", "idp.response.response-signed", "sso.signs-in"},
    "bad-in-response-to": {
        "idp.response.in-response-to",
        "idp.response.subject-confirmation",
        "sso.signs-in",
    },
    # The reference SP admits a solicited response without InResponseTo as unsolicited (it
    # allows IdP-initiated sign-in): the Response breaks the rules, the sign-in works.
    "no-in-response-to": {"idp.response.in-response-to", "idp.response.subject-confirmation"},
    "no-audience": {"idp.response.audience", "sso.signs-in"},
    "no-recipient": {"idp.response.subject-confirmation", "sso.signs-in"},
    "no-subject-expiry": {"idp.response.subject-confirmation", "sso.signs-in"},
    "no-session-index": {"idp.response.session-index"},
    "clock-skew": {"idp.response.validity-window", "sso.signs-in"},
    "mismatched-issuer": {"idp.response.issuer", "sso.signs-in"},
    "ignore-nameid-policy": {"idp.response.name-id-format"},
    "drop-relay-state": {"idp.response.relay-state"},
    "weak-encryption": {"idp.response.encryption-algorithms", "sso.signs-in"},
    "accept-unsigned-requests": {"idp.request.unsigned-refused"},
    "ignore-force-authn": {"idp.request.force-authn"},
    # Posted to the default ACS, its Destination and Recipient name that one too.
    "ignore-acs-url": {
        "idp.request.requested-acs",
        "idp.response.destination",
        "idp.response.subject-confirmation",
    },
}
FLAW_SELECTION = "sp-initiated-sign-in and generic or single-logout"
# The generic preset's NameID is the emailAddress the SP asks for anyway: the policy ignored
# shows only where the preset's own default differs (Okta's unspecified).
FLAW_SELECTIONS = {
    "ignore-nameid-policy": "sp-initiated-sign-in and okta",
    # Requests the SP never sends: the harness sends them in its name.
    "accept-unsigned-requests": "requests-in-the-sps-name",
    "ignore-force-authn": "requests-in-the-sps-name",
    "ignore-acs-url": "requests-in-the-sps-name",
}


def test_every_flaw_of_the_mock_idp_is_tabled() -> None:
    from mock_idp.flaws import FLAWS_BY_NAME

    assert set(FLAW_FAILS) == set(FLAWS_BY_NAME)


@pytest.mark.parametrize("flaw", sorted(FLAW_FAILS))
def test_each_flaw_of_the_mock_idp_fails_exactly_its_checks(flaw: str) -> None:
    report = run_suite(FLAW_SELECTIONS.get(flaw, FLAW_SELECTION), idp_flaws=(flaw,))
    assert ids(report, Outcome.FAIL, Outcome.ERROR) == FLAW_FAILS[flaw]


# -- a "real" IdP, from its target file ------------------------------------------------------


def _write_target(folder: Path, idp_base: str, sp_port: int, extra: str = "") -> Path:
    path = folder / "idp.toml"
    path.write_text(
        f"""name = "the mock IdP, reached as a real one"
[idp]
metadata_url = "{idp_base}/saml/metadata"
[sp]
port = {sp_port}
[users.alice]
user_name = "alice@corp.test"
password = "{PASSWORD}"
{extra}"""
    )
    return path


@pytest.fixture
def real_idp(tmp_path: Path) -> Iterator[tuple[MockIdP, str, int]]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    keys = [load_or_create(tmp_path / "idp-key")]
    idp = MockIdP(base, signing_keys=keys, preset="generic")
    idp.add_user(
        "alice@corp.test",
        password=PASSWORD,
        email="alice@corp.test",
        given_name="Alice",
        family_name="Tester",
    )
    with serve(create_app(idp), port=port):
        yield idp, base, free_port()


def _trust(idp: MockIdP, path: Path) -> Any:
    target = load_idp_target(path)
    # The IdP's administrator registers the SP from the metadata the harness printed.
    idp.register_sp_metadata(sp_metadata_for(target))
    return target


SIGN_IN = "sp-initiated-sign-in and generic or metadata or single-logout"


def test_a_real_idp_is_judged_through_its_login_form(
    real_idp: tuple[MockIdP, str, int], tmp_path: Path
) -> None:
    idp, base, sp_port = real_idp
    target = _trust(idp, _write_target(tmp_path, base, sp_port, "[features]\nsingle_logout = true"))
    report = run_suite(SIGN_IN, idp_target=target)
    assert ids(report, Outcome.FAIL, Outcome.ERROR) == set()
    signed_in = results(report, "sp-initiated-sign-in", "sso.signs-in")
    assert [r.outcome for r in signed_in] == [Outcome.PASS, Outcome.PASS]
    assert ids(report, Outcome.PASS) >= {"idp.response.name-id-stable", "slo.signed-out"}


def test_suites_of_the_other_direction_are_skipped_with_the_reason(tmp_path: Path) -> None:
    target = load_idp_target(_write_target(tmp_path, "http://127.0.0.1:9", 8001))
    sp_run = discover([SUITE.parent / "sso_login"])[0]
    idp_run = discover([SUITE])[0]
    assert "tests an SP" in (runner.why_skipped(sp_run, RunOptions(idp_target=target)) or "")
    assert runner.why_skipped(idp_run, RunOptions(idp_target=target)) is None
    assert runner.why_skipped(idp_run, RunOptions()) is None


def test_a_broken_real_idp_fails_where_it_breaks(
    real_idp: tuple[MockIdP, str, int], tmp_path: Path
) -> None:
    idp, base, sp_port = real_idp
    target = _trust(idp, _write_target(tmp_path, base, sp_port))
    httpx.put(f"{base}/api/flaws", json={"enabled": ["no-audience"]}).raise_for_status()
    report = run_suite("sp-initiated-sign-in and generic", idp_target=target)
    assert ids(report, Outcome.FAIL) == {"idp.response.audience", "sso.signs-in"}


def test_scim_requests_of_a_vendor_that_does_not_document_them_fail(
    real_idp: tuple[MockIdP, str, int], tmp_path: Path
) -> None:
    """Entra's capitalised ops and string booleans, sent by an IdP that declares itself
    generic: not a documented quirk, a failure naming the deviation."""
    idp, base, sp_port = real_idp
    script = tmp_path / "directory.py"
    script.write_text(
        f"""import httpx
def provision(cycle):
    target = {{"scim_url": "http://127.0.0.1:{sp_port}/scim/v2", "token": "t0ken",
              "dialect": "entra"}}
    httpx.post("{base}/api/provision", json={{"cycle": cycle, "target": target}},
               timeout=30).raise_for_status()
def block(user_name):
    httpx.patch("{base}/api/users/" + user_name, json={{"active": False}}).raise_for_status()
"""
    )
    for name in ("dana", "erin"):
        idp.add_user(f"{name}@corp.test", password=PASSWORD, email=f"{name}@corp.test")
    extra = (
        '[scim]\ntoken = "t0ken"\n[sign_in]\nscript = "directory.py"\n'
        '[users.dana]\nuser_name = "dana@corp.test"\n[users.erin]\nuser_name = "erin@corp.test"\n'
    )
    target = _trust(idp, _write_target(tmp_path, base, sp_port, extra))
    report = run_suite("provisioning and dialect=rfc", idp_target=target)
    failed = [r for r in report.results if r.outcome is Outcome.FAIL]
    assert {r.check for r in failed} == {"idp.scim.deviations"}
    assert failed[0].observed == "patch-op-not-lowercase, boolean-as-string"
    assert "which generic does not document" in failed[0].message


def test_an_operator_signs_in_when_the_idp_cannot_be_scripted(
    real_idp: tuple[MockIdP, str, int], tmp_path: Path
) -> None:
    idp, base, sp_port = real_idp
    target = _trust(
        idp, _write_target(tmp_path, base, sp_port, '[sign_in]\nmode = "interactive"\n')
    )
    told: list[str] = []

    def operator_acts(text: str) -> None:
        told.append(text)
        if "by opening " not in text:
            return
        url = text.split("by opening ", 1)[1].split(" in a browser", 1)[0]
        threading.Thread(target=_browser_signs_in, args=(url,), daemon=True).start()

    operator = Operator(say=operator_acts, timeout_s=20)
    report = run_suite("sp-initiated-sign-in and generic", idp_target=target, operator=operator)
    assert report is not None
    assert any("Sign in as alice@corp.test" in t for t in told)
    assert ids(report, Outcome.FAIL, Outcome.ERROR) == set()
    assert [r.outcome for r in results(report, "sp-initiated", "sso.signs-in")] == [
        Outcome.PASS,
        Outcome.PASS,
    ]


def _browser_signs_in(url: str) -> None:
    """The operator's browser: the SP's login, the IdP's form, the post back to the SP."""
    with httpx.Client(follow_redirects=True, timeout=10) as browser:
        page = browser.get(url)
        from harness.forms import form_with

        login = form_with(page.text, str(page.url), "username", "password")
        assert login is not None
        login.fields.update(username="alice@corp.test", password=PASSWORD)
        page = browser.post(login.action, data=login.fields)
        saml = form_with(page.text, str(page.url), "SAMLResponse")
        assert saml is not None
        browser.post(saml.action, data=saml.fields)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[idp]\nvendor = 'generic'\n", "give idp.metadata_url or idp.metadata_file"),
        ("[idp]\nmetadata_file = 'x.xml'\nvendr = 'okta'\n", "did you mean 'vendor'"),
        ("[idp]\nmetadata_file = 'x.xml'\n[sign_in]\nmode = 'robot'\n", "form, script or inter"),
        ("[idp]\nmetadata_file = 'x.xml'\n[sign_in]\nmode = 'script'\n", "needs a sign_in.script"),
        ("[idp]\nmetadata_file = 'x.xml'\n[users.bob]\npassword = 'x'\n", "user_name is required"),
        ("[idp]\nmetadata_file = 'x.xml'\n[scim]\nprovisions = true\n", "needs token or token_env"),
    ],
)
def test_a_bad_idp_target_file_is_one_line_naming_the_key(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "idp.toml"
    path.write_text(text)
    with pytest.raises(TargetError, match=message):
        load_idp_target(path)


def test_the_sp_metadata_for_an_idp_target_is_printed_before_the_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from harness.cli import main

    path = _write_target(tmp_path, "http://127.0.0.1:9", 18001)
    assert main(["target", "sp-metadata", str(path)]) == 0
    out, err = capsys.readouterr()
    assert 'entityID="http://127.0.0.1:18001/saml/metadata"' in out
    assert "http://127.0.0.1:18001/saml/acs?acs=2" in out  # the second ACS a request may name
    assert "ACS            http://127.0.0.1:18001/saml/acs (HTTP-POST)" in err
    assert PASSWORD not in out + err


def test_the_html_report_shows_each_idp_message_decoded_next_to_its_verdicts(
    tmp_path: Path,
) -> None:
    from harness.reporters.html import HtmlReporter

    path = tmp_path / "report.html"
    reporter = HtmlReporter(str(path))
    runs = [r for r in discover([SUITE]) if matches("sp-initiated-sign-in and generic", r)]
    for event in runner.run(runs, RunOptions()):
        reporter.handle(event)
    html = path.read_text()
    assert html.count("idp message") == 2  # one per sign-in, on its sso.signs-in result
    assert "assertion, decrypted" in html  # what the SP read, not the ciphertext
    assert "EncryptedAssertion" in html and "AuthnStatement" in html
    assert "idp.response.audience" in html and "judged by" in html


def test_the_tap_refuses_an_oversized_message_rather_than_hand_on_a_cut_one() -> None:
    import anyio

    from harness.saml_tap import SamlTap

    handed: list[bytes] = []

    async def sp(scope: Any, receive: Any, send: Any) -> None:  # what reaches the SP
        handed.append((await receive())["body"])

    sent: list[dict[str, Any]] = []
    chunks = [b"SAMLResponse=" + b"A" * (3 * 1024 * 1024), b"A" * (2 * 1024 * 1024)]

    async def receive() -> dict[str, Any]:
        body = chunks.pop(0)
        return {"type": "http.request", "body": body, "more_body": bool(chunks)}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "path": "/saml/acs", "method": "POST", "headers": []}
    anyio.run(SamlTap(sp), scope, receive, send)
    assert handed == []  # never a truncated body handed on
    assert sent[0]["status"] == 413
