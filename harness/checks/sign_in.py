"""Judging sign-ins by their effect: who the SP's me probe names afterwards.

A refusal passes only when it can be told apart from "the SP never saw the response" and from
"the SP cannot sign anyone in this way": the (mutated) response must have been delivered to the
SP, and the positive control of the same flow (the same way of signing in, unmutated) must have
signed someone in within the same world. The SP's reason code is compared only where the SP
tells one; otherwise it is evidence.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from harness.checks.model import CheckFailed, CheckSkipped
from harness.signin import SignInAttempt


@dataclass(frozen=True)
class SignInCase:
    """One sign-in and what it was expected to do."""

    ref: str
    user_name: str
    attempt: SignInAttempt
    relay_state: str | None = None
    reason: str | None = None  # the reason code expected of a refusal, if any
    # The positive control of the same flow in the same world (None: none was run), and why
    # the refusal cannot be judged without SCIM (None: it can).
    control: SignInAttempt | None = None
    unjudgeable: str | None = None

    @property
    def evidence(self) -> dict[str, Any]:
        found: dict[str, Any] = {"exchange": self.attempt.exchange}
        if self.attempt.reason:
            found["reason told"] = self.attempt.reason
        return found


def signs_in(case: SignInCase) -> None:
    """The user's sign-in opens a session at the SP that the me probe attributes to them."""
    if case.attempt.signed_in:
        return
    raise CheckFailed(
        f"{case.ref} was not signed in",
        expected=f"a session for {case.user_name}",
        observed=case.attempt.describe(),
        evidence=case.evidence,
    )


def lands_on_deep_link(case: SignInCase) -> None:
    """After the sign-in the SP lands the browser on the path the RelayState named."""
    if not case.attempt.signed_in:
        raise CheckSkipped(f"{case.ref} was not signed in: {case.attempt.describe()}")
    wanted = (case.relay_state or "").split("?", 1)[0]
    if case.attempt.landed_on != wanted:
        raise CheckFailed(
            "the SP did not land the user on the deep link",
            expected=wanted,
            observed=str(case.attempt.landed_on),
            evidence=case.evidence,
        )


def refuses(case: SignInCase) -> None:
    """The response reached the SP and no session exists afterwards (for anyone)."""
    attempt = case.attempt
    if case.unjudgeable is not None:  # e.g. no SCIM: the SP may rightly sign the user in
        raise CheckSkipped(case.unjudgeable, evidence=case.evidence)
    if attempt.identity is not None:
        raise CheckFailed(
            f"a session exists after a response the SP must refuse ({case.ref})",
            expected=f"refused ({case.reason or 'any reason'}), no session",
            observed=attempt.describe(),
            evidence=case.evidence,
        )
    if attempt.me_failed is not None:  # "nobody" must be the SP's answer, not its failure
        raise CheckSkipped(attempt.me_failed, evidence=case.evidence)
    if not attempt.delivered:
        raise CheckSkipped(
            f"the response never reached the SP: {attempt.describe()}", evidence=case.evidence
        )
    control = case.control
    if control is None:
        raise CheckSkipped(
            "no positive control: nobody signed in through this flow in the scenario",
            evidence=case.evidence,
        )
    if not control.signed_in:
        raise CheckSkipped(
            f"the positive control (the same flow, unmutated) failed: {control.describe()}",
            evidence=case.evidence | {"control": control.exchange},
        )
    if case.reason and attempt.reason_told and attempt.reason != case.reason:
        raise CheckFailed(
            "refused for another reason",
            expected=case.reason,
            observed=attempt.describe(),
            evidence=case.evidence,
        )
