"""A journal entry turned into a scenario file is a scenario the harness loads and runs, with
the same verdict: a response broken on purpose is refused by the reference SP (the check
passes) and accepted by an SP with the matching flaw (the check fails)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness import runner
from harness.events import RunFinished
from harness.results import Outcome, RunReport
from harness.runner import RunOptions
from harness.scenario.loader import discover, load_scenario
from mock_idp.idp import MockIdP
from mock_idp.journal import Journal, JournalEntry
from mock_idp.refusals import APIError
from mock_idp.reproduce import scenario_yaml, user_ref

NOW = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)


def response_entry(journal: Journal, **fields: object) -> JournalEntry:
    defaults: dict[str, object] = {
        "time": NOW,
        "direction": "out",
        "kind": "Response",
        "binding": None,
        "sp": "http://sp.test/saml/metadata",
        "xml": "<samlp:Response/>",
        "user": "Dana.Scully+test@example.com",
        "in_response_to": "_req",
    }
    return journal.record(**{**defaults, **fields})


def write(tmp_path: Path, entry: JournalEntry, groups: tuple[str, ...] = ()) -> Path:
    path = tmp_path / "reproduce.yaml"
    idp = "http://idp.test/saml/metadata"
    path.write_text(scenario_yaml(entry, entity_id=idp, preset="okta", groups=groups))
    return path


def run_file(path: Path, **options: object) -> RunReport:
    for event in runner.run(discover([path]), RunOptions(**options)):  # type: ignore[arg-type]
        if isinstance(event, RunFinished):
            return event.report
    raise AssertionError("the run never finished")


def test_user_refs_follow_the_scenario_pattern() -> None:
    assert user_ref("Dana.Scully+test@example.com") == "dana-scully-test"
    assert user_ref("42@example.com") == "user-42"
    assert user_ref("<script>") == "script"
    assert user_ref("@@@") == "user"


def test_the_loader_accepts_the_scenario_with_its_notes(tmp_path: Path) -> None:
    entry = response_entry(
        Journal(),
        mutators=("expired", "clock-skew"),
        relay_state="/account",
        details={
            "flaws": ["drop-relay-state"],
            "mutator_calls": [
                {"name": "expired", "params": {"seconds": 7200}},
                {"name": "clock-skew", "params": {}},
            ],
        },
    )
    path = write(tmp_path, entry, groups=("Business Account Admins",))
    text = path.read_text()
    assert "# Reproduces journal entry #1" in text
    assert "drop-relay-state" in text
    scenario = load_scenario(path)
    (step,) = [s for s in scenario.steps if s.kind == "sign_in"]
    assert step.value.user == "dana-scully-test"
    assert step.value.preset == "okta"
    # The parameters the IdP used travel with the mutator: the run applies them the same way.
    assert step.value.mutators == ({"expired": {"seconds": 7200}}, "clock-skew")
    assert [(c.name, dict(c.params)) for c in step.value.mutator_calls] == [
        ("expired", {"seconds": 7200}),
        ("clock-skew", {}),
    ]
    assert step.value.relay_state == "/account"
    assert step.value.expect == "refused"
    assert step.value.via == "sp"
    assert scenario.given.users[0].groups == ("Business Account Admins",)


def test_an_idp_initiated_good_response_is_expected_to_sign_in(tmp_path: Path) -> None:
    entry = response_entry(Journal(), in_response_to=None)
    document = yaml.safe_load(write(tmp_path, entry).read_text())
    assert document["steps"][1]["sign_in"] == {
        "user": "dana-scully-test",
        "via": "idp",
        "preset": "okta",
        "expect": "signed-in",
    }
    load_scenario(tmp_path / "reproduce.yaml")


def test_only_a_response_to_a_user_is_reproducible() -> None:
    journal = Journal()
    request = response_entry(journal, direction="in", kind="AuthnRequest")
    with pytest.raises(APIError) as refused:
        scenario_yaml(request, entity_id="x", preset="generic")
    assert refused.value.status == 409


def test_the_run_gives_the_same_verdict(tmp_path: Path) -> None:
    entry = response_entry(Journal(), mutators=("wrong-audience",))
    path = write(tmp_path, entry)
    strict = run_file(path)
    failed = [r for r in strict.results if r.outcome in (Outcome.FAIL, Outcome.ERROR)]
    assert failed == [] and strict.results
    flawed = run_file(path, sp_flaws=("skip-audience",))
    assert any(r.outcome == Outcome.FAIL for r in flawed.results)


# -- an uploaded capture ---------------------------------------------------------------------


def _console(encrypt: bool) -> tuple[Any, str]:
    """The console of a mock IdP, and the SAMLResponse it posted to an SP (encrypted or not)."""
    from starlette.testclient import TestClient

    from mock_idp.app import create_app

    from .conftest import BASE, frozen_clock, sample_key
    from .fake_sp import FakeSP, form_fields

    sp = FakeSP(key=sample_key("sp"), encrypt=encrypt)
    idp = MockIdP(
        BASE,
        signing_keys=[sample_key("idp")],
        clock=frozen_clock(),
        allow_passwordless_idp_init=True,
    )
    idp.register_sp_metadata(sp.metadata())
    idp.add_user("Dana.Scully@contoso.test", email="Dana.Scully@contoso.test")
    client = TestClient(create_app(idp), base_url=BASE, headers={"origin": BASE})
    page = client.get(
        "/saml/idp-init", params={"sp": sp.entity_id, "user": "Dana.Scully@contoso.test"}
    )
    return client, form_fields(page.text)[1]["SAMLResponse"]


def test_an_uploaded_capture_becomes_a_scenario_that_replays_it(tmp_path: Path) -> None:
    client, capture = _console(encrypt=False)
    answer = client.post("/console/reproduce", data={"capture": capture})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-disposition"].endswith('filename="reproduce-capture.yaml"')
    path = tmp_path / "reproduce-capture.yaml"
    path.write_text(answer.text)
    scenario = load_scenario(path)
    assert [s.kind for s in scenario.steps] == ["provision", "replay"]
    assert scenario.given.organisation.email_domain == "contoso.test"
    report = run_file(path)
    assert report.summary.failed == 0 and report.summary.errored == 0
    assert [r.outcome for r in report.results] == [Outcome.PASS]


def test_an_encrypted_or_unreadable_capture_is_refused_saying_what_to_do() -> None:
    client, encrypted = _console(encrypt=True)
    refused = client.post("/console/reproduce", data={"capture": encrypted})
    assert refused.status_code == 422
    assert "sso-harness replay CAPTURE --sp-key KEY" in refused.text
    for garbage in ("not base64 at all!", "PHNhbWw="):
        answer = client.post("/console/reproduce", data={"capture": garbage})
        assert answer.status_code == 422, answer.text
    assert client.post("/console/reproduce", data={}).status_code == 422
