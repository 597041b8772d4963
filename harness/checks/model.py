"""What a check is: an id, the requirement it enforces with its level, and a one-line title.

A check's judge is a top-level function of one observation (what the steps saw at the peer). It
raises ``CheckFailed`` with what it expected, what it observed and the evidence (the runner
turns that into a FAIL, or a WARN for a SHOULD; ``CheckWarned`` is always a WARN), or
``CheckSkipped`` with the reason when the observation cannot decide (its positive control
failed, the message never reached the peer, a step it depends on failed): never a pass it did
not earn. A judge that holds may return :class:`Observed` to report what it saw.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from harness.protocol.requirements import requirement
from harness.results import Level


@dataclass(frozen=True)
class Check:
    id: str  # stable, dotted: "sso.signed-in", "deprovisioning.session-ended"
    requirement: str  # "SAML-PROF-4.1.4.3", "RFC7644-3.6", "BIZ-DEPROV-2"
    level: Level
    title: str  # what it verifies, in one line a QA engineer would search for
    clause: str = ""  # the text of the requirement, quoted
    # The function that judges an observation (None: judged by the step that runs it).
    judge: Callable[[Any], Observed | None] | None = field(default=None, compare=False, repr=False)


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


class CheckWarned(CheckFailed):
    """Reported as a WARN whatever the check's level: the peer did something a strict peer
    would not, without the harm the check is about (a wrapped response accepted, but only for
    the subject the IdP signed)."""


@dataclass(frozen=True)
class Observed:
    """What a judge that held saw, when that is worth reporting (a policy: the SP accepted
    SHA-1; a refusal: who was signed in, nobody). Returned by the judge, never raised."""

    observed: str
    expected: str | None = None
    evidence: dict[str, Any] = field(default_factory=dict)


class CheckSkipped(Exception):  # noqa: N818 - it is the outcome's name
    """The check cannot be judged from what was observed; the reason is reported."""

    def __init__(self, reason: str, *, evidence: dict[str, Any] | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.evidence: dict[str, Any] = evidence or {}


def cited(
    check_id: str,
    rule_id: str,
    title: str,
    judge: Callable[[Any], Observed | None] | None = None,
) -> Check:
    """A check citing a registered rule: its level and clause come from the registry, and an
    unknown id fails here, at import."""
    found = requirement(rule_id)
    return Check(check_id, found.id, found.level, title, found.text, judge)


def cited_all(
    prefix: str, rows: tuple[tuple[str, str, str, Callable[[Any], Observed | None]], ...]
) -> tuple[Check, ...]:
    """A family of checks from (id suffix, rule id, title, judge) rows, ids under ``prefix``."""
    return tuple(
        cited(prefix + suffix, rule_id, title, judge) for suffix, rule_id, title, judge in rows
    )
