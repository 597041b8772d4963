"""A check's outcome in a step, and the one way a step gets it: hand an observation to the
check's judge (``harness.checks``). Skips carry their reason; nothing passes unearned."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from harness.checks.model import Check, CheckFailed, CheckSkipped, Observed


class StepError(Exception):
    """The scenario asked for something impossible (an unknown user ref, a missing device):
    the scenario's fault, reported as an ERROR naming the line."""


@dataclass(frozen=True)
class Verdict:
    """One check's outcome in a step: held (no failure, no skip), failed, or not judged."""

    check: Check
    failure: CheckFailed | None
    duration_s: float
    line: int
    skipped: CheckSkipped | None = None
    held: Observed | None = None  # what a check that held saw, when its judge said


def judged(check: Check, line: int, observation: Any) -> Verdict:
    """Hand ``observation`` to the check's judge and time it."""
    if check.judge is None:  # a catalogue mistake, caught by the registry's tests
        raise TypeError(f"the check {check.id} has no judge")
    started = time.perf_counter()
    failure: CheckFailed | None = None
    skipped: CheckSkipped | None = None
    held: Observed | None = None
    try:
        held = check.judge(observation)
    except CheckFailed as exc:
        failure = exc
    except CheckSkipped as exc:
        skipped = exc
    return Verdict(check, failure, time.perf_counter() - started, line, skipped, held)


def not_judged(checks: Iterable[Check], line: int, reason: str) -> Iterator[Verdict]:
    for check in checks:
        yield Verdict(check, None, 0.0, line, CheckSkipped(reason))
