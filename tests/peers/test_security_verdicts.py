"""The SAML security suite against SPs this project did not write. Every FAIL and WARN is
pinned here and explained, with the library source that causes it, in docs/sp-under-test.md
("Security suite"): a false alarm would be a bug of the harness, never a finding."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.cli import main

from .conftest import PEERS
from .servers import peer_as_target

pytestmark = pytest.mark.loopback

SUITE = Path(__file__).resolve().parents[2] / "scenarios" / "saml_security"

# Checks (without the "saml-security." prefix) each peer fails, in its most secure documented
# configuration, allowing IdP-initiated sign-in (as its target file says).
EXPECTED_FAILURES: dict[str, set[str]] = {
    "pysaml2": {
        # saml2/response.py StatusResponse._verify: Destination compared only when present
        "C01.no-destination",
        # AuthnResponse.verify_recipient: True unless the caller passes conv_info (documented)
        "C02.wrong-recipient",
        # saml2/validate.py validate_on_or_after(None, slack) returns False, no error
        "C03.no-subject-expiry",
        # AuthnResponse.get_subject: "elif subject_confirmation.method == SCM_SENDER_VOUCHES: pass"
        "C05.sender-vouches",
        # allow_unsolicited: an unknown InResponseTo is taken as unsolicited (_bearer_confirmed),
        # so is a response to a request another browser made (login CSRF)
        "C06.bad-in-response-to",
        "C07.other-browser",
        "C09.unsolicited-in-response-to",
        # no replay cache (AuthnResponse.loads: "Should check that I haven't seen this before")
        "C10.solicited",
        "C10.unsolicited",
        # nothing in saml2/response.py reads OneTimeUse, and there is no replay cache
        "C14.one-time-use",
        # saml2/response.py for_me: no AudienceRestriction is "for me", restrictions are ORed
        "C13.extra-audience-restriction",
        "C13.no-audience",
    },
    "python3-saml": {
        # onelogin/saml2/response.py is_valid: "if destination:" (a missing one is not checked)
        "C01.no-destination",
        # is_valid: "if recipient and current_url not in recipient"
        "C02.no-recipient",
        # is_valid: "nooa = sc_data.get('NotOnOrAfter', None); if nooa: ..."
        "C03.no-subject-expiry",
        # validate_timestamps compares each bound with now (300 s drift), never with each other
        "C11.inverted-validity",
        # get_audiences gathers every Audience; "if valid_audiences and sp_entity_id not in ..."
        "C13.extra-audience-restriction",
        "C13.no-audience",
        # onelogin/saml2/xml_utils.py OneLogin_Saml2_XML.element_text strips comments only
        # (etree.strip_tags(node, etree.Comment)) and returns node.text: a processing
        # instruction the IdP signed inside the NameID cuts it to mallory's name (a forgery)
        "X05.pi",
        # is_valid compares SubjectConfirmationData NotOnOrAfter with now and no drift
        # ("if parsed_nooa <= OneLogin_Saml2_Utils.now(): continue"), though the Conditions get
        # ALLOWED_CLOCK_DRIFT (300 s): an IdP clock two minutes slow is refused (SDP-G01)
        "P05.two-minutes-late",
    },
}
EXPECTED_WARNINGS: dict[str, set[str]] = {
    # Neither library looks at the Issuer's Format (a SHOULD: the profile binds the IdP).
    "pysaml2": {"C15.issuer-format"},
    "python3-saml": {"C15.issuer-format"},
}
SKIP_REASONS = (
    "the ACS is on loopback",
    "the SP read the IdP's metadata before the run",
    "no second IdP that the SP trusts",
)


def _short(check: str) -> str:
    return check.removeprefix("saml-security.")


@pytest.mark.parametrize("peer", sorted(PEERS))
def test_the_security_verdicts_about_an_independent_sp(peer: str, tmp_path: Path) -> None:
    with peer_as_target(PEERS[peer], tmp_path, f"{peer} peer SP") as target:
        report = tmp_path / "report.json"
        status = main(
            ["run", str(SUITE), "--target", str(target.target_file), "--json", str(report)]
        )
    results = json.loads(report.read_text())["results"]
    by_outcome: dict[str, set[str]] = {}
    for result in results:
        by_outcome.setdefault(result["outcome"], set()).add(_short(result["check"]))
    assert by_outcome.get("error", set()) == set()
    assert by_outcome.get("fail", set()) == EXPECTED_FAILURES[peer]
    assert by_outcome.get("warn", set()) == EXPECTED_WARNINGS[peer]
    odd_skips = [
        r for r in results if r["outcome"] == "skip" and not r["message"].startswith(SKIP_REASONS)
    ]
    assert odd_skips == []
    assert status == 1
