"""The console reporter: progress, each failure with expected, observed, evidence and the rule,
then the summary; text from the system under test is never read as rich markup."""

from __future__ import annotations

import dataclasses
import io
import time
from pathlib import Path

import pytest
from rich.console import Console

from harness.events import Event, ScenarioStarted
from harness.reporters import console as console_module
from harness.reporters.console import ConsoleReporter, default_console
from harness.results import CheckResult, Outcome, RunReport
from tests.harness.sample_report import FAILING_STEP, FLAWED, events, looked_at_report, report


def run_console(
    *,
    verbose: bool = False,
    terminal: bool = False,
    stream: list[Event] | None = None,
    width: int = 120,
) -> str:
    out = io.StringIO()
    console = Console(file=out, width=width, force_terminal=terminal, color_system=None)
    reporter = ConsoleReporter(console, verbose=verbose)
    for event in stream or events():
        reporter.handle(event)
    return out.getvalue()


def flawed_run(tmp_path: Path) -> str:
    run = report(options=FLAWED, skipped=True, scenario_file=tmp_path / "sign-in.yaml")
    return run_console(stream=events(run=run))


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
    assert "rerun: sso-harness run --target reference --seed 1234" in text


def test_verbose_lists_passes_and_a_terminal_run_works() -> None:
    assert "sso.signed-in [SAML-PROF-4.1.4.3] signed in as dana" in run_console(verbose=True)
    assert "seed 1234" in run_console(terminal=True)


def test_the_options_asked_and_the_rerun_command_are_printed(tmp_path: Path) -> None:
    text = flawed_run(tmp_path)
    assert "seed 1234, run 5eed1e55c0de" in text
    assert (
        "asked: paths scenarios/sso_login scenarios/deprovisioning/it's here.yaml; "
        "-k audience or deprov; dialect okta; SP flaws accept-unsigned, "
        "ignore-audience; IdP flaws scim-boolean-as-string; workers 2"
    ) in text
    assert "a deliberately flawed run: failures are expected" in text
    assert text.rstrip().endswith(
        "rerun: sso-harness run --target reference --seed 1234 --dialect okta "
        "-k 'audience or deprov' --sp-flaw accept-unsigned --sp-flaw ignore-audience "
        "--idp-flaw scim-boolean-as-string --workers 2 scenarios/sso_login "
        "'scenarios/deprovisioning/it'\"'\"'s here.yaml'"
    )


def test_a_plain_run_asks_nothing_special() -> None:
    text = run_console()
    assert "asked:" not in text
    assert "deliberately flawed" not in text


def test_scenarios_skipped_before_they_started_are_listed_up_front_by_reason(
    tmp_path: Path,
) -> None:
    text = flawed_run(tmp_path)
    grouped = "-- 2 skipped before they started: the target has no admin probe"
    assert grouped in text
    assert "admin/admin via group okta" in text and "admin/admin revoked okta" in text
    assert "-- 1 skipped before they started: the target states seats = 3, the scenario 5" in text
    assert text.index(grouped) < text.index("sso_login/sp-initiated entra (3 checks")
    assert (
        "3 scenarios skipped before they started: 2 the target has no admin probe; "
        "1 the target states seats = 3, the scenario 5"
    ) in text


def test_a_closing_list_names_every_failure_with_its_step(tmp_path: Path) -> None:
    text = flawed_run(tmp_path)
    closing = text[text.index("failures:") :]
    scenario_file = tmp_path / "sign-in.yaml"
    lines = [line.strip() for line in closing.splitlines()]
    assert (
        f"FAIL  sso_login/sp-initiated entra  {scenario_file}:6  sso.audience-enforced: "
        "the SP accepted an assertion for another SP"
    ) in lines
    assert f"| {FAILING_STEP}" in lines  # the YAML line of the failing step, under it
    assert (
        "WARN  sso_login/sp-initiated entra  -  sso.session-index: "
        "no SessionIndex [bold]kept[/bold]"
    ) in lines
    assert any(line.startswith("ERROR deprovisioning/blocked employee okta") for line in lines)
    assert sum(line[:5].strip() in ("FAIL", "WARN", "ERROR") for line in lines) == 4
    assert "sso.signed-in" not in closing  # passes are not failures
    # The failure's panel shows the step too, where it happened.
    assert f"step     {scenario_file}:6" in text
    assert text.count(FAILING_STEP) == 2


def test_a_missing_scenario_file_only_loses_the_yaml_line(tmp_path: Path) -> None:
    run = report(scenario_file=tmp_path / "gone.yaml")
    (tmp_path / "gone.yaml").unlink()
    text = run_console(stream=events(run=run))
    assert f"{tmp_path / 'gone.yaml'}:6  sso.audience-enforced" in text
    assert FAILING_STEP not in text


def test_a_refusal_by_nobody_never_prints_none() -> None:
    result = CheckResult(
        "sso_login",
        "s",
        "sso.signed-in",
        "SAML-PROF-4.1.4.3",
        "MUST",
        Outcome.FAIL,
        "dana was not signed in",
        expected="a session for dana",
        observed="refused by the None: None",
    )
    run = RunReport(seed=1, target="reference", started="x", duration_s=1, results=[result])
    text = run_console(stream=events(run=run, durations=(0.5,)))
    assert "None" not in text
    assert "observed not signed in, and no refusal seen" in text


def test_without_a_terminal_the_console_is_wide(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(console_module.sys.stdout, "isatty", lambda: False)
    monkeypatch.delenv("COLUMNS", raising=False)
    assert default_console().width == 200
    monkeypatch.setenv("COLUMNS", "150")
    assert default_console().width == 150


def test_long_scenario_names_are_never_wrapped() -> None:
    name = "a-very-long-scenario-name-" * 5 + "okta"
    results = [dataclasses.replace(r, scenario=name) for r in report().results]
    run = dataclasses.replace(report(), results=results)
    text = run_console(stream=events(run=run), width=80)
    assert f"sso_login/{name} (3 checks" in text
    assert f"deprovisioning/{name}  -  deprov.scim-active" in text


def test_the_artifacts_folder_is_named_when_something_was_kept(tmp_path: Path) -> None:
    (tmp_path / "shot.png").write_bytes(b"")
    kept = dataclasses.replace(report(), artifacts=str(tmp_path))
    assert f"screenshots and shrunk scenarios: {tmp_path}" in run_console(stream=events(run=kept))
    empty = dataclasses.replace(report(), artifacts=str(tmp_path / "never-made"))
    assert "screenshots and shrunk scenarios" not in run_console(stream=events(run=empty))
    (tmp_path / "nothing-kept").mkdir()
    nothing = dataclasses.replace(report(), artifacts=str(tmp_path / "nothing-kept"))
    assert "screenshots and shrunk scenarios" not in run_console(stream=events(run=nothing))


def test_a_failure_leads_with_the_fields_it_looked_at() -> None:
    text = run_console(stream=events(run=looked_at_report()))
    panel = text[text.index("FAIL sso.audience-enforced") :]
    assert panel.index("looked at:") < panel.index("exchange 1")
    assert "Audience:     https://other-sp.example/saml/metadata" in panel
    assert panel.index("Audience:") < panel.index("SP entity ID:") < panel.index("exchange 1")


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_progress_names_the_running_scenario_never_between_scenarios() -> None:
    out = io.StringIO()
    console = Console(file=out, width=120, force_terminal=True, color_system=None)
    reporter = ConsoleReporter(console)
    stream = events()
    descriptions = []
    for event in stream[:-1]:
        reporter.handle(event)
        assert reporter._progress is not None and reporter._task is not None
        descriptions.append(reporter._progress.tasks[0].description)
        if isinstance(event, ScenarioStarted):
            assert descriptions[-1] == f"{event.suite}/{event.scenario}"
    reporter.handle(stream[-1])
    assert "between scenarios" not in descriptions
    assert descriptions[0] == "starting" and descriptions[-1] == "finishing"


def test_without_a_terminal_a_heartbeat_names_the_running_scenario() -> None:
    out = io.StringIO()
    clock = FakeClock()
    reporter = ConsoleReporter(Console(file=out, width=200), heartbeat_s=10, clock=clock)
    stream = events()
    started = next(i for i, e in enumerate(stream) if isinstance(e, ScenarioStarted))
    for event in stream[: started + 1]:
        reporter.handle(event)
    name = "sso_login/sp-initiated entra"
    clock.now += 9
    reporter.heartbeat()
    assert "still running" not in out.getvalue()  # something was printed less than 10 s ago
    clock.now += 1
    reporter.heartbeat()
    assert f"still running {name} (10s)" in out.getvalue()
    clock.now += 5
    reporter.heartbeat()  # the heartbeat itself counts as output: the next one is 10 s later
    assert out.getvalue().count("still running") == 1
    clock.now += 5
    reporter.heartbeat()
    assert f"still running {name} (20s)" in out.getvalue()
    for event in stream[started + 1 :]:
        reporter.handle(event)
    clock.now += 60
    reporter.heartbeat()  # nothing runs any more: silence
    assert out.getvalue().count("still running") == 2


def test_the_heartbeat_thread_prints_while_a_scenario_runs_and_stops_at_the_end() -> None:
    out = io.StringIO()
    reporter = ConsoleReporter(Console(file=out, width=200), heartbeat_s=0.02)
    stream = events()
    started = next(i for i, e in enumerate(stream) if isinstance(e, ScenarioStarted))
    for event in stream[: started + 1]:
        reporter.handle(event)
    deadline = time.monotonic() + 2
    while "still running" not in out.getvalue():
        assert time.monotonic() < deadline, "no heartbeat"
        time.sleep(0.01)
    beat = reporter._beat
    assert beat is not None and beat.is_alive()
    for event in stream[started + 1 :]:
        reporter.handle(event)
    assert not beat.is_alive()
    assert out.getvalue().rstrip().splitlines()[-1].startswith("rerun: ")


def test_a_terminal_has_no_heartbeat_thread() -> None:
    console = Console(file=io.StringIO(), force_terminal=True, color_system=None)
    reporter = ConsoleReporter(console, heartbeat_s=0.01)
    reporter.handle(events()[0])
    assert reporter._beat is None
    reporter.handle(events()[-1])


def test_the_heartbeat_is_due_when_the_silence_reaches_its_interval() -> None:
    clock = FakeClock()
    reporter = ConsoleReporter(Console(file=io.StringIO()), heartbeat_s=10, clock=clock)
    stream = events()
    started = next(i for i, e in enumerate(stream) if isinstance(e, ScenarioStarted))
    for event in stream[: started + 1]:
        reporter.handle(event)
    reporter._stop_heartbeat()  # driven by hand here
    clock.now += 3
    assert reporter._next_beat_in() == 7
    clock.now += 7
    reporter.heartbeat()
    assert reporter._next_beat_in() == 10
