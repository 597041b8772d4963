"""What a run report's evidence explains: a refusal's decisive fields first (the Audience from
the assertion in clear, beside the SP's entity ID), a passing sign-in's compact trace, and
``--trace`` keeping every check's evidence whole."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from harness.cli import main
from harness.results import LOOKED_AT, leading
from harness.trace import TRACE_BOUND, compact_trace

SCENARIO = """title: A response addressed to another SP is refused
given:
  users: [{ref: dana}]
steps:
  - provision: initial
  - sign_in: {user: dana, session: control}
  - sign_in:
      {user: dana, session: audience, mutators: [wrong-audience], expect: refused,
       reason: wrong-audience}
"""


def run(tmp_path: Path, *options: str) -> dict[str, dict[str, Any]]:
    scenario = tmp_path / "audience.yaml"
    scenario.write_text(SCENARIO, encoding="utf-8")
    report = tmp_path / "report.json"
    main(["run", str(scenario), "--json", str(report), *options])
    results = json.loads(report.read_text(encoding="utf-8"))["results"]
    return {r["check"]: r for r in results}


@pytest.fixture(scope="module")
def flawed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    return run(tmp_path_factory.mktemp("flawed"), "--sp-flaw", "skip-audience")


def test_a_wrong_audience_failure_leads_with_the_decrypted_audience(
    flawed: dict[str, dict[str, Any]],
) -> None:
    failed = flawed["sso.refuses.wrong-audience"]
    assert failed["outcome"] == "fail"
    evidence = failed["evidence"]
    assert next(iter(evidence)) == LOOKED_AT
    looked_at = evidence[LOOKED_AT]
    assert list(looked_at)[:2] == ["Audience", "SP entity ID"]
    assert looked_at["Audience"] == "https://other-sp.example/saml/metadata"
    assert looked_at["SP entity ID"].endswith("/saml/metadata")
    assert looked_at["Audience"] != looked_at["SP entity ID"]
    # The response went encrypted; the report shows its assertion in clear as well.
    assert "EncryptedAssertion" in evidence["response_sent"]
    assert (
        "https://other-sp.example/saml/metadata</saml:Audience>"
        in (evidence["assertion_decrypted"])
    )
    assert evidence["message fields"]["Assertion encrypted"] == "yes"
    keys = list(evidence)
    assert keys.index("assertion_decrypted") < keys.index("exchange") < keys.index("response_sent")


def test_a_passing_sign_in_keeps_a_compact_trace(flawed: dict[str, dict[str, Any]]) -> None:
    passed = flawed["sso.signs-in"]
    assert passed["outcome"] == "pass"
    evidence = passed["evidence"]
    assert evidence and next(iter(evidence)) == LOOKED_AT
    assert evidence[LOOKED_AT]["NameID"].startswith("dana")
    assert evidence[LOOKED_AT]["SP answered"].startswith("signed in as dana")
    exchange = evidence["exchange"]
    assert all(isinstance(line, str) for line in exchange)
    assert any(line.startswith("POST ") and "/saml/acs -> 303" in line for line in exchange)
    assert len(json.dumps(evidence)) <= TRACE_BOUND
    assert "--trace" in evidence["assertion_decrypted"]  # cut, saying how to keep it whole


def test_trace_keeps_every_checks_evidence_whole(tmp_path: Path) -> None:
    results = run(tmp_path, "--trace")
    passed = results["sso.signs-in"]["evidence"]
    assert next(iter(passed)) == LOOKED_AT
    assert all(isinstance(step, dict) for step in passed["exchange"])
    assert passed["assertion_decrypted"].rstrip().endswith("</saml:Assertion>")
    assert "EncryptedAssertion" in passed["response_sent"]
    refused = results["sso.refuses.wrong-audience"]
    assert refused["outcome"] == "pass"
    assert refused["evidence"][LOOKED_AT]["Audience"] == "https://other-sp.example/saml/metadata"


def test_a_compact_trace_is_bounded_and_keeps_what_was_looked_at() -> None:
    evidence = {
        "exchange": [{"request": f"GET http://sp.test/{'x' * 500}", "status": 302}] * 40,
        "blob": "A" * 100_000,
        "nested": {"deep": ["B" * 5_000] * 50},
        LOOKED_AT: {"Audience": "http://sp.test/saml/metadata"},
    }
    compact = compact_trace(evidence)
    assert next(iter(compact)) == LOOKED_AT
    assert compact[LOOKED_AT] == evidence[LOOKED_AT]
    assert len(json.dumps(compact)) <= TRACE_BOUND
    assert compact_trace({}) == {}


def test_the_fields_looked_at_lead_whatever_the_order_given() -> None:
    shown = leading({"exchange": [], LOOKED_AT: {"Audience": "a"}, "other": 1})
    assert list(shown) == [LOOKED_AT, "exchange", "other"]
    assert leading({"other": 1}) == {"other": 1}
