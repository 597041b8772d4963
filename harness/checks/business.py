"""Judging the business-account rules through the SP's probes: admin access, licenses, device
activations and their check-ins (shared/CONTRACT "Target file", business probes)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from harness.checks.model import CheckFailed, CheckSkipped


@dataclass(frozen=True)
class AdminObservation:
    ref: str
    wanted: bool
    signed_in: bool  # the user has (or could open) a session
    sign_in: str  # what the sign-in did, in words
    status: int | None = None  # the admin probe's status, when asked
    evidence: dict[str, Any] = field(default_factory=dict)


def admin_access(seen: AdminObservation) -> None:
    """The admin probe answers 200 exactly for a user who must administer, 403 otherwise."""
    if not seen.signed_in:
        if seen.wanted:
            raise CheckFailed(
                f"{seen.ref} cannot sign in, so cannot administer",
                expected="admin access",
                observed=seen.sign_in,
                evidence=seen.evidence,
            )
        return  # no session at all: no admin access either
    has_access = seen.status == 200
    if seen.status not in (200, 401, 403, 404):
        raise CheckSkipped(f"the admin probe answered {seen.status}, neither 200 nor 403")
    if has_access != seen.wanted:
        raise CheckFailed(
            f"{seen.ref} {'has' if has_access else 'lacks'} admin access",
            expected="admin probe 200" if seen.wanted else "admin probe 403",
            observed=f"admin probe {seen.status}",
            evidence=seen.evidence,
        )


@dataclass(frozen=True)
class LicenseObservation:
    ref: str
    wanted: str  # held, waiting or none
    state: str | None  # None: nobody could tell (no session, no administrator)
    evidence: dict[str, Any] = field(default_factory=dict)


def license_state(seen: LicenseObservation) -> None:
    """The user's license is held, waiting or none, as the user (or an administrator) sees it."""
    if seen.state is None:
        raise CheckSkipped(
            f"nobody could see the license of {seen.ref}: neither they nor an administrator "
            "could sign in",
            evidence=seen.evidence,
        )
    if seen.state != seen.wanted:
        raise CheckFailed(
            f"the license of {seen.ref} is {seen.state}",
            expected=seen.wanted,
            observed=seen.state,
            evidence=seen.evidence,
        )


@dataclass(frozen=True)
class ActivationObservation:
    device: str
    wanted: str  # activated or refused
    activated: bool
    reason: str | None  # why it was not activated, as told
    reason_told: bool = False
    expected_reason: str | None = None
    not_started: str | None = None  # the activation could not be started by the harness
    evidence: dict[str, Any] = field(default_factory=dict)


def activation_completes(seen: ActivationObservation) -> None:
    """A device activates through SSO, or is refused, as the activation rules say."""
    if seen.wanted == "activated" and not seen.activated:
        raise CheckFailed(
            f"the device {seen.device} was not activated",
            expected="activated",
            observed=f"refused: {seen.reason}",
            evidence=seen.evidence,
        )
    if seen.wanted != "refused":
        return
    if seen.activated:
        raise CheckFailed(
            f"the device {seen.device} was activated",
            expected=f"refused ({seen.expected_reason or 'any reason'})",
            observed="activated",
            evidence=seen.evidence,
        )
    if seen.not_started is not None:
        raise CheckSkipped(f"the activation never started: {seen.not_started}")
    if seen.expected_reason and seen.reason_told and seen.reason != seen.expected_reason:
        raise CheckFailed(
            "refused for another reason",
            expected=seen.expected_reason,
            observed=str(seen.reason),
            evidence=seen.evidence,
        )


@dataclass(frozen=True)
class CheckInObservation:
    device: str
    wanted: str  # active or revoked
    status: str | None
    reason: str | None = None
    expected_reason: str | None = None
    not_activated: str | None = None  # the device was never activated (None: it was)
    evidence: dict[str, Any] = field(default_factory=dict)


def check_in_state(seen: CheckInObservation) -> None:
    """The device's check-in answers active while its user is entitled, revoked after."""
    if seen.not_activated is not None:
        raise CheckSkipped(f"the device {seen.device} was never activated: {seen.not_activated}")
    reason_differs = seen.expected_reason is not None and seen.reason != seen.expected_reason
    if seen.status != seen.wanted or reason_differs:
        raise CheckFailed(
            f"the check-in of {seen.device} answers {seen.status}",
            expected=seen.wanted + (f" ({seen.expected_reason})" if seen.expected_reason else ""),
            observed=f"{seen.status} ({seen.reason})",
            evidence=seen.evidence,
        )
