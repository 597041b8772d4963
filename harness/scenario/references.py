"""The names a scenario's steps use, checked before it runs.

A step that names a user nobody declared, a device nobody activated, or a group the user is not
in would otherwise fail mid-run with a message about the world rather than the file. This walk
follows the scenario statically, in step order: users come from ``given.users`` and ``hire``;
devices from ``activate_device: {as: NAME}``; each user's groups from ``given`` and the
directory steps (``hire``, ``add_to_group``, ``remove_from_group``, ``rename_group``,
``delete_group``, ``delete``). Group names compare without regard to case, as the directory's.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass, field

from harness.scenario.model import (
    ActivateDevice,
    Expectation,
    GroupRef,
    Hire,
    Membership,
    RenameGroup,
    Scenario,
    Step,
)

# Steps that change a user in the IdP's directory: the user must be there at that point.
_DIRECTORY_CHANGES = frozenset(
    {"update", "add_to_group", "remove_from_group", "block", "reactivate", "unassign", "delete"}
)


class DanglingReferenceError(Exception):
    """A step names what does not exist at that point; the loader adds the file."""

    def __init__(self, line: int, message: str, hint: str) -> None:
        super().__init__(message)
        self.line, self.message, self.hint = line, message, hint


def _did_you_mean(word: str, known: Iterable[str], otherwise: str) -> str:
    close = difflib.get_close_matches(word, sorted(known), n=1)
    return f"did you mean '{close[0]}'?" if close else otherwise


@dataclass
class _Walk:
    groups_of: dict[str, list[str]] = field(default_factory=dict)  # the users in the directory
    deleted: dict[str, int] = field(default_factory=dict)  # ref -> line of its delete step
    devices: set[str] = field(default_factory=set)

    def declared(self) -> set[str]:
        return set(self.groups_of) | set(self.deleted)

    def user(self, ref: str, line: int, *, in_directory: bool = False) -> None:
        if ref not in self.declared():
            hint = _did_you_mean(
                ref, self.declared(), "declare it under given.users or hire it in an earlier step"
            )
            raise DanglingReferenceError(line, f"unknown user '{ref}'", hint)
        if in_directory and ref not in self.groups_of:
            raise DanglingReferenceError(
                line,
                f"user '{ref}' is no longer in the directory",
                f"deleted at line {self.deleted[ref]}; hire them again first",
            )

    def device(self, name: str, line: int) -> None:
        if name not in self.devices:
            hint = _did_you_mean(
                name, self.devices, "declare it with an earlier 'activate_device: {as: NAME}'"
            )
            raise DanglingReferenceError(line, f"unknown device '{name}'", hint)

    def step(self, step: Step) -> None:
        value = step.value
        line = step.line
        if isinstance(value, Hire):
            self.groups_of[value.ref] = list(value.groups)
            self.deleted.pop(value.ref, None)
            return
        user = getattr(value, "user", None)
        if isinstance(user, str):
            self.user(user, line, in_directory=step.kind in _DIRECTORY_CHANGES)
        if isinstance(value, Membership):
            self.membership(step.kind, value, line)
        elif isinstance(value, RenameGroup):
            for groups in self.groups_of.values():
                groups[:] = [value.to if _same(g, value.group) else g for g in groups]
        elif isinstance(value, GroupRef):
            for groups in self.groups_of.values():
                groups[:] = [g for g in groups if not _same(g, value.group)]
        elif isinstance(value, ActivateDevice):
            self.devices.add(value.as_)
        elif isinstance(value, Expectation) and value.device is not None:
            self.device(value.device, line)
        if step.kind == "delete" and isinstance(user, str):
            del self.groups_of[user]
            self.deleted[user] = line

    def membership(self, kind: str, value: Membership, line: int) -> None:
        groups = self.groups_of[value.user]
        member = any(_same(g, value.group) for g in groups)
        if kind == "add_to_group" and not member:
            groups.append(value.group)
        elif kind == "remove_from_group":
            if not member:
                held = ", ".join(f"'{g}'" for g in groups) or "none"
                raise DanglingReferenceError(
                    line,
                    f"user '{value.user}' is not in group '{value.group}' at this step",
                    _did_you_mean(value.group, groups, f"their groups here: {held}"),
                )
            groups[:] = [g for g in groups if not _same(g, value.group)]


def _same(group: str, other: str) -> bool:
    return group.casefold() == other.casefold()


def check_references(scenario: Scenario) -> None:
    """Raise DanglingReferenceError at the first step naming a user, device or membership that does
    not exist at that point of the scenario."""
    walk = _Walk(groups_of={u.ref: list(u.groups) for u in scenario.given.users})
    for step in scenario.steps:
        walk.step(step)
