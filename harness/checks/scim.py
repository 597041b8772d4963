"""Judging what the SP's SCIM endpoint holds after the IdP provisioned it (RFC 7644 §3)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from harness.checks.model import CheckFailed


@dataclass(frozen=True)
class ScimObservation:
    ref: str
    wanted: dict[str, Any]  # exists, active, groups: only the keys given are compared
    observed: dict[str, Any]
    evidence: dict[str, Any] = field(default_factory=dict)


def scim_state(seen: ScimObservation) -> None:
    """The SP's SCIM endpoint holds the user as the IdP last provisioned it."""
    differs = [k for k, v in seen.wanted.items() if v is not None and seen.observed.get(k) != v]
    if differs:
        raise CheckFailed(
            f"the SP's SCIM state of {seen.ref} differs in {', '.join(differs)}",
            expected=str({k: v for k, v in seen.wanted.items() if v is not None}),
            observed=str(seen.observed),
            evidence=seen.evidence,
        )
