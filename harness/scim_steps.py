"""The step ``scim_conformance: GROUP``: which function runs each group of the suite."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from harness import scim_groups as read
from harness import scim_groups_write as write
from harness.scenario.model import ScimConformanceStep
from harness.scim_conformance import Conformance, Outcome, run_group
from harness.verdicts import Verdict
from harness.world import World

GROUP_RUNS: dict[str, Callable[[Conformance], Iterator[Outcome]]] = {
    "discovery": read.discovery,
    "crud": read.crud,
    "filters": read.filters,
    "search": read.search,
    "case": read.case,
    "pagination": read.pagination,
    "sorting": read.sorting,
    "projection": read.projection,
    "patch": write.patch,
    "etags": write.etags,
    "bulk": write.bulk,
    "errors": write.errors,
    "authentication": write.authentication,
    "me": write.me,
    "robustness": write.robustness,
}


def run_scim_conformance(world: World, step: ScimConformanceStep, line: int) -> Iterator[Verdict]:
    yield from run_group(world, step.group, line, GROUP_RUNS[step.group])
