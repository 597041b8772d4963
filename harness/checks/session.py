"""Judging sessions already open at the SP: they stay open while their user is entitled, end
when the user is deprovisioned, and end on sign-out. A session that was never opened cannot be
judged: the check is skipped with the reason, never passed."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from harness.checks.model import CheckFailed, CheckSkipped
from harness.signin import me_probe_failure


@dataclass(frozen=True)
class SessionObservation:
    ref: str
    user_name: str
    wanted: str  # "active" or "ended"
    identity: str | None  # who the me probe names in the user's browser now
    not_open: str | None = None  # why the user has no session to look at (None: it is open)
    answer: Any = None  # what the me probe answered


def session_state(seen: SessionObservation) -> None:
    """The user's open session is still open (``active``) or no longer is (``ended``)."""
    if seen.not_open is not None:
        raise CheckSkipped(f"{seen.ref} has no session to look at: {seen.not_open}")
    failed = me_probe_failure(seen.answer)
    if failed is not None:  # an SP failing its me probe has not ended the session
        raise CheckSkipped(failed, evidence={"me probe": seen.answer})
    state = "active" if seen.identity is not None else "ended"
    if state != seen.wanted:
        raise CheckFailed(
            f"the session of {seen.ref} is {state}",
            expected=seen.wanted,
            observed=state if seen.identity is None else f"{state} (signed in as {seen.identity})",
            evidence={"me probe": seen.answer},
        )


@dataclass(frozen=True)
class LogoutObservation:
    ref: str
    identity_before: str | None  # who the me probe named before signing out
    identity_after: str | None
    not_started: str | None = None  # why no sign-out could be started (None: it was)
    exchange: list[dict[str, Any]] = field(default_factory=list)


def signed_out(seen: LogoutObservation) -> None:
    """Signing out (single logout, started at the SP) ends the SP's session."""
    if seen.identity_before is None:
        raise CheckSkipped(f"{seen.ref} was not signed in before signing out")
    if seen.not_started is not None:
        raise CheckSkipped(f"no sign-out could be started: {seen.not_started}")
    if seen.identity_after is not None:
        raise CheckFailed(
            f"{seen.ref} is still signed in after signing out",
            expected="no session",
            observed=f"the me probe names {seen.identity_after}",
            evidence={"exchange": seen.exchange},
        )
