"""What the next responses look like: queued mutator plans and request-matching rules.

A plan entry is consumed by the next response (to a given SP, if it names one) unless it is
sticky. A rule (like mock-oauth2-server's requestMappings) applies to every response whose SP
entityID, RelayState and user match; all matching rules apply, later ones win.
"""

from __future__ import annotations

import fnmatch
import itertools
import re
from dataclasses import dataclass, field

from harness.protocol.saml.mutators import MutatorCall

from .refusals import PlanFullError
from .rule_patterns import MAX_MATCH_TEXT, check_pattern

MAX_PLAN_ENTRIES = 1000
MAX_RULES = 1000


@dataclass
class PlannedResponse:
    id: int
    mutators: tuple[MutatorCall, ...]
    sticky: bool = False
    remaining: int = 1
    sp: str | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "mutators": [{"name": m.name, "params": dict(m.params)} for m in self.mutators],
            "sticky": self.sticky,
            "remaining": self.remaining,
            "sp": self.sp,
        }


class Plan:
    def __init__(self) -> None:
        self._entries: list[PlannedResponse] = []
        self._ids = itertools.count(1)

    def add(
        self,
        mutators: tuple[MutatorCall, ...],
        *,
        sticky: bool = False,
        count: int = 1,
        sp: str | None = None,
    ) -> PlannedResponse:
        # Every response walks the plan and the rules: bounded, so is the time per response.
        if len(self._entries) >= MAX_PLAN_ENTRIES:
            raise PlanFullError(f"the plan holds {MAX_PLAN_ENTRIES} entries; DELETE /api/plan")
        entry = PlannedResponse(next(self._ids), mutators, sticky, count, sp)
        self._entries.append(entry)
        return entry

    def take(self, sp: str) -> list[PlannedResponse]:
        """The entries that apply to the next response to ``sp``; once-only ones are consumed."""
        taken = [e for e in self._entries if e.sp in (None, sp)]
        for entry in taken:
            if not entry.sticky:
                entry.remaining -= 1
        self._entries = [e for e in self._entries if e.sticky or e.remaining > 0]
        return taken

    def entries(self) -> list[PlannedResponse]:
        return list(self._entries)

    def remove(self, entry_id: int) -> bool:
        before = len(self._entries)
        self._entries = [e for e in self._entries if e.id != entry_id]
        return len(self._entries) != before

    def clear(self) -> None:
        self._entries.clear()


def pattern_matches(pattern: str | None, value: str | None) -> bool:
    """None matches anything; ``re:...`` is a regular expression; else a glob (``*``, ``?``)."""
    if pattern is None:
        return True
    if value is None:
        return False
    if pattern.startswith("re:"):
        # Rules.add admitted only patterns whose cost is polynomial in the text; the cap on
        # the text bounds that cost (rule_patterns).
        return len(value) <= MAX_MATCH_TEXT and re.fullmatch(pattern[3:], value) is not None
    return fnmatch.fnmatchcase(value, pattern)


@dataclass
class RuleMatch:
    sp: str | None = None
    relay_state: str | None = None
    user: str | None = None


@dataclass
class RuleActions:
    """What a matching rule changes. ``attributes`` adds or replaces attributes (an empty list
    removes one); ``name_id`` may use ``{userName}``, ``{email}``, ``{id}`` placeholders."""

    attributes: dict[str, list[str]] = field(default_factory=dict)
    name_id_format: str | None = None
    name_id: str | None = None
    sign_assertion: bool | None = None
    sign_response: bool | None = None
    signature_algorithm: str | None = None
    encrypt: bool | None = None
    mutators: tuple[MutatorCall, ...] = ()


@dataclass
class Rule:
    id: int
    match: RuleMatch
    actions: RuleActions

    def matches(self, sp: str, relay_state: str | None, user: str) -> bool:
        return (
            pattern_matches(self.match.sp, sp)
            and pattern_matches(self.match.relay_state, relay_state)
            and pattern_matches(self.match.user, user)
        )

    def to_json(self) -> dict[str, object]:
        a = self.actions
        return {
            "id": self.id,
            "match": {
                "sp": self.match.sp,
                "relay_state": self.match.relay_state,
                "user": self.match.user,
            },
            "set": {
                "attributes": a.attributes,
                "name_id_format": a.name_id_format,
                "name_id": a.name_id,
                "sign_assertion": a.sign_assertion,
                "sign_response": a.sign_response,
                "signature_algorithm": a.signature_algorithm,
                "encrypt": a.encrypt,
                "mutators": [{"name": m.name, "params": dict(m.params)} for m in a.mutators],
            },
        }


class Rules:
    def __init__(self) -> None:
        self._rules: list[Rule] = []
        self._ids = itertools.count(1)

    def add(self, match: RuleMatch, actions: RuleActions) -> Rule:
        if len(self._rules) >= MAX_RULES:
            raise PlanFullError(f"there are {MAX_RULES} rules; DELETE /api/rules")
        for pattern in (match.sp, match.relay_state, match.user):
            if pattern and pattern.startswith("re:"):
                check_pattern(pattern[3:])  # refuse a bad or slow one now, not at the next login
        rule = Rule(next(self._ids), match, actions)
        self._rules.append(rule)
        return rule

    def matching(self, sp: str, relay_state: str | None, user: str) -> list[Rule]:
        return [r for r in self._rules if r.matches(sp, relay_state, user)]

    def all(self) -> list[Rule]:
        return list(self._rules)

    def remove(self, rule_id: int) -> bool:
        before = len(self._rules)
        self._rules = [r for r in self._rules if r.id != rule_id]
        return len(self._rules) != before

    def clear(self) -> None:
        self._rules.clear()
