"""The security judges on what a peer could answer: who is signed in decides the verdict, and
nothing is passed or failed that was never judged (the message never arrived, the control
failed, a probe was lost)."""

from __future__ import annotations

import pytest

from harness.checks.model import CheckFailed, CheckSkipped, CheckWarned, Observed
from harness.checks.security import CaseRun, judge_case
from harness.checks.security_catalogue import CASES_BY_ID
from harness.signin import SignInAttempt

VICTOR, MALLORY = "victor@example.com", "mallory@example.com"
CONTROL = SignInAttempt(signed_in=True, delivered=True, reached_idp=True, identity=VICTOR)


def run(case: str, identity: str | None, **changes: object) -> CaseRun:
    found = CASES_BY_ID[case]
    attempt = SignInAttempt(
        signed_in=identity == VICTOR, delivered=True, reached_idp=True, identity=identity
    )
    made = CaseRun(found, found.variants[0], VICTOR, MALLORY, attempt, CONTROL)
    for name, value in changes.items():
        setattr(made, name, value)
    return made


def test_a_wrapping_is_judged_by_who_is_signed_in() -> None:
    assert isinstance(judge_case(run("W03", None)), Observed)
    with pytest.raises(CheckWarned):  # only what was signed was read: not a forgery
        judge_case(run("W03", VICTOR))
    with pytest.raises(CheckFailed, match="forged sign-in") as failed:
        judge_case(run("W03", MALLORY))
    assert not isinstance(failed.value, CheckWarned)


def test_a_corrupt_signature_accepted_for_the_signed_subject_fails() -> None:
    with pytest.raises(CheckFailed) as failed:
        judge_case(run("S02", VICTOR))
    assert not isinstance(failed.value, CheckWarned)


def test_nothing_is_judged_without_delivery_or_control() -> None:
    lost = SignInAttempt(signed_in=False, reached_idp=True)
    with pytest.raises(CheckSkipped, match="never reached the SP"):
        judge_case(run("C12", None, attempt=lost))
    failed_control = SignInAttempt(signed_in=False, delivered=True, reached_idp=True)
    with pytest.raises(CheckSkipped, match="positive control"):
        judge_case(run("C12", None, control=failed_control))
    with pytest.raises(CheckSkipped, match="positive control"):
        judge_case(run("C12", VICTOR, control=None))


def test_a_hang_fails_whatever_was_answered() -> None:
    hung = SignInAttempt(signed_in=False, reason="no answer in time")
    with pytest.raises(CheckFailed, match=r"took 31\.0 s"):
        judge_case(run("X02", None, attempt=hung, answer_s=31.0))


def test_an_out_of_band_fetch_fails_even_when_the_sp_refused() -> None:
    hit = [{"method": "GET", "path": "/saml-security.X01.external-entity/x"}]
    with pytest.raises(CheckFailed, match="out-of-band"):
        judge_case(run("X01", None, out_of_band=hit))
    assert isinstance(judge_case(run("X01", None)), Observed)


def _probes(*answers: tuple[bool, int | None, str]) -> list[dict[str, object]]:
    return [
        {"part": part, "delivered": delivered, "status": status, "reason": reason}
        for part, (delivered, status, reason) in zip(
            ("last-byte", "first-byte", "key"), answers, strict=True
        )
    ]


def test_decryption_answers_must_be_alike_and_all_delivered() -> None:
    alike = _probes((True, 403, "x"), (True, 403, "x"), (True, 403, "x"))
    assert isinstance(judge_case(run("E02", None, evidence={"oracle_probes": alike})), Observed)
    told = _probes((True, 403, "x"), (True, 400, "malformed"), (True, 403, "x"))
    with pytest.raises(CheckFailed, match="differently"):
        judge_case(run("E02", None, evidence={"oracle_probes": told}))
    lost = _probes((True, 403, "x"), (False, None, "no-response"), (True, 403, "x"))
    with pytest.raises(CheckSkipped, match="never reached"):
        judge_case(run("E02", None, evidence={"oracle_probes": lost}))


def test_a_policy_is_observed_either_way() -> None:
    assert judge_case(run("A01", VICTOR)).observed.startswith("accepted")  # type: ignore[union-attr]
    assert judge_case(run("A01", None)).observed.startswith("refused")  # type: ignore[union-attr]
