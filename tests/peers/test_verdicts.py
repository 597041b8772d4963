"""The harness judging SPs this project did not write: each peer, a file target, through the
sso_login and deprovisioning suites. Every verdict is pinned here and explained, with its
citation, in docs/sp-under-test.md: a FAIL must be the library's documented or source-visible
behaviour, a SKIP a feature the peer lacks, and nothing may ERROR."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.cli import main

from .conftest import PEERS
from .servers import peer_as_target

pytestmark = pytest.mark.loopback

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"

# Every FAIL expected of each peer (scenario, check), explained in docs/sp-under-test.md.
EXPECTED_FAILURES: dict[str, set[tuple[str, str]]] = {
    # saml2/response.py: verify_recipient() compares Recipient only when the caller passes
    # conv_info; and with allow_unsolicited a response whose InResponseTo names no outstanding
    # request is taken as unsolicited (StatusResponse.issue_instant_ok/_verify).
    "pysaml2": {
        ("broken-responses-refused", "sso.refuses.wrong-recipient"),
        ("broken-responses-refused", "sso.refuses.bad-in-response-to"),
    },
    "python3-saml": set(),
}
# Why a peer may be skipped: features it lacks (its target file says so), nothing else.
SKIP_REASONS = (
    "the target has no SCIM",
    "the target has no admin role",
    "the target has no per-user licenses",
    "the target has no second organisation",
)


def outcomes(report: Path) -> list[dict[str, str]]:
    return [r for r in json.loads(report.read_text())["results"] if r["outcome"] != "pass"]


@pytest.mark.parametrize("peer", sorted(PEERS))
def test_the_verdicts_about_an_independent_sp(peer: str, tmp_path: Path) -> None:
    with peer_as_target(PEERS[peer], tmp_path, f"{peer} peer SP") as target:
        report = tmp_path / "report.json"
        status = main(
            [
                "run",
                str(SCENARIOS / "sso_login"),
                str(SCENARIOS / "deprovisioning"),
                "--target",
                str(target.target_file),
                "--json",
                str(report),
            ]
        )
    found = outcomes(report)
    assert [r for r in found if r["outcome"] == "error"] == []
    failures = {(r["scenario"], r["check"]) for r in found if r["outcome"] == "fail"}
    assert failures == EXPECTED_FAILURES[peer]
    odd_skips = [
        r for r in found if r["outcome"] == "skip" and not r["message"].startswith(SKIP_REASONS)
    ]
    assert odd_skips == []
    assert status == (1 if failures else 0)
