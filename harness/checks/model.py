"""What a check is: an id, the requirement it enforces with its level, and a one-line title.

A check function raises ``CheckFailed`` with what it expected, what it observed and the
evidence; the runner turns that into a FAIL (or a WARN for a SHOULD) result.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from harness.results import Level


@dataclass(frozen=True)
class Check:
    id: str  # stable, dotted: "sso.signed-in", "deprovisioning.session-ended"
    requirement: str  # "SAML-PROF-4.1.4.3", "RFC7644-3.6", "BIZ-DEPROV-2"
    level: Level
    title: str  # what it verifies, in one line a QA engineer would search for
    clause: str = ""  # the text of the requirement, quoted


class CheckFailed(Exception):  # noqa: N818 - it is the outcome's name
    def __init__(
        self,
        message: str,
        *,
        expected: str | None = None,
        observed: str | None = None,
        evidence: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.expected = expected
        self.observed = observed
        self.evidence: dict[str, Any] = evidence or {}


@dataclass(frozen=True)
class Requirement:
    id: str
    level: Level
    source: str  # "SAML 2.0 Profiles §4.1.4.3", "RFC 7644 §3.6", "business rule"
    text: str = field(default="")
