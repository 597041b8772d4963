"""The console reporter: progress, each failure with expected, observed, evidence and the rule,
then the summary; text from the system under test is never read as rich markup."""

from __future__ import annotations

import io

from rich.console import Console

from harness.reporters.console import ConsoleReporter
from tests.harness.sample_report import events


def run_console(*, verbose: bool = False, terminal: bool = False) -> str:
    out = io.StringIO()
    console = Console(file=out, width=120, force_terminal=terminal, color_system=None)
    reporter = ConsoleReporter(console, verbose=verbose)
    for event in events():
        reporter.handle(event)
    return out.getvalue()


def test_a_failure_shows_expected_observed_evidence_and_rule() -> None:
    text = run_console()
    assert "FAIL sso.audience-enforced" in text
    assert "expected sign-in refused (wrong-audience)" in text
    assert "observed signed in as dana" in text
    assert "rule     SAML-CORE-2.5.1.4 (MUST)" in text
    assert "<saml:Issuer" in text  # the SAML evidence, indented
    assert "ERROR deprov.session-ended" in text
    assert "ConnectionError: refused" in text


def test_markup_and_control_characters_are_printed_literally() -> None:
    text = run_console(terminal=True)
    assert "no SessionIndex [bold]kept[/bold]" in text
    assert "\\x00\\x01binary\\x1b[31m" in text  # a peer's ANSI escape is shown, not obeyed
    assert "\x1b[31m" not in text


def test_scenario_lines_and_summary() -> None:
    text = run_console()
    assert "FAIL sso_login/sp-initiated entra (3 checks" in text
    assert "ERROR deprovisioning/blocked employee okta (5 checks" in text
    assert "seed 1234" in text
    assert "checks failed" not in text  # the run errored: that outranks failures
    assert "the harness errored" in text
    assert "rerun with --seed 1234" in text


def test_verbose_lists_passes_and_a_terminal_run_works() -> None:
    assert "sso.signed-in [SAML-PROF-4.1.4.3] signed in as dana" in run_console(verbose=True)
    assert "seed 1234" in run_console(terminal=True)
