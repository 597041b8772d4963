"""The IdP-under-test suite on an IdP the project did not write: pysaml2's ``Server``, served on
loopback and judged from an IdP target file through its own login form. Its verdicts are pinned
here and tabled in ``docs/idp-under-test.md``, each FAIL traced to pysaml2's documented defaults
or its source."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.idp_target import IdpTarget, load_idp_target
from harness.idp_world import sp_metadata_for
from harness.results import Outcome, RunReport
from tests.harness.test_idp_conformance import ids, run_suite
from tests.peers.pysaml2_idp import LOGIN_FIELDS, PySaml2IdP
from tests.peers.servers import free_port
from tests.support.servers import serve

PASSWORD = "pysaml2 peer password"
SELECTION = (
    "metadata or sp-initiated-sign-in and generic or sp-without-encryption or logout or requests"
)


def _target(folder: Path, idp_base: str, sp_port: int, encryption: bool) -> IdpTarget:
    path = folder / "pysaml2-idp.toml"
    path.write_text(
        f"""name = "pysaml2 {idp_base}"
[idp]
metadata_url = "{idp_base}/metadata"
[sp]
port = {sp_port}
want_encryption = {str(encryption).lower()}
[sign_in]
username_field = "{LOGIN_FIELDS[0]}"
password_field = "{LOGIN_FIELDS[1]}"
[users.alice]
user_name = "alice@corp.test"
password = "{PASSWORD}"
[features]
single_logout = true
"""
    )
    return load_idp_target(path)


def _judged(folder: Path, encryption: bool) -> RunReport:
    idp_port, sp_port = free_port(), free_port()
    base = f"http://127.0.0.1:{idp_port}"
    target = _target(folder, base, sp_port, encryption)
    peer = PySaml2IdP(base, sp_metadata_for(target), {"alice@corp.test": PASSWORD})
    try:
        with serve(peer.app, port=idp_port):
            return run_suite(SELECTION, idp_target=target)
    finally:
        peer.close()


@pytest.fixture(scope="module")
def encrypting(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunReport]:
    """The SP's metadata publishes an encryption key: pysaml2 encrypts the assertion."""
    yield _judged(tmp_path_factory.mktemp("pysaml2-idp-encrypting"), encryption=True)


@pytest.fixture(scope="module")
def in_clear(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunReport]:
    """The SP's metadata publishes no encryption key: pysaml2 sends the assertion in clear."""
    yield _judged(tmp_path_factory.mktemp("pysaml2-idp-clear"), encryption=False)


def failed(report: RunReport) -> set[tuple[str, str]]:
    return {(r.scenario, r.check) for r in report.results if r.outcome is Outcome.FAIL}


def test_pysaml2_in_clear_passes_every_rule_it_can_be_judged_by(in_clear: RunReport) -> None:
    """Signed Response and assertion (RSA-SHA256), one assertion, every field the SP needs, a
    stable emailAddress NameID, a SessionIndex, a signed LogoutResponse: nothing fails."""
    assert ids(in_clear, Outcome.FAIL, Outcome.ERROR) == set()
    # Its metadata's endpoints are on plain http because the peer is served so here.
    assert ids(in_clear, Outcome.WARN) == {"idp.metadata.endpoints-tls"}
    passed = ids(in_clear, Outcome.PASS)
    assert {
        "sso.signs-in",
        "idp.response.response-signed",
        "idp.response.assertion-signed",
        "idp.response.name-id-stable",
        "idp.response.session-index",
        "idp.logout.response-signed",
        "slo.signed-out",
        "idp.request.force-authn",
        "idp.request.requested-acs",
    } <= passed
    # Its metadata does not ask for signed AuthnRequests: an unsigned one is not judged.
    assert "idp.request.unsigned-refused" in ids(in_clear, Outcome.SKIP)
    summary = in_clear.summary
    assert (summary.passed, summary.failed, summary.warned, summary.skipped) == (139, 0, 1, 21)


def test_pysaml2_encrypts_with_its_default_triple_des_which_the_sp_refuses(
    encrypting: RunReport,
) -> None:
    """pysaml2 encrypts with 3DES-CBC unless told otherwise (``saml2/sigver.py``
    ``pre_encryption_part(msg_enc=TRIPLE_DES_CBC, ...)``): SDP-ALG01 calls CBC broken, the
    reference SP cannot decrypt it, nobody signs in, and what the assertion says is not judged
    (nor ForceAuthn, which needs an earlier sign-in whose assertion was read)."""
    sign_ins = {
        "single-logout",
        "sp-initiated-sign-in[preset=generic]",
        "requests-in-the-sps-name",
    }
    assert failed(encrypting) == {
        (scenario, check)
        for scenario in sign_ins
        for check in ("idp.response.encryption-algorithms", "sso.signs-in")
    }
    summary = encrypting.summary
    assert (summary.passed, summary.failed, summary.warned, summary.skipped) == (36, 9, 1, 95)
