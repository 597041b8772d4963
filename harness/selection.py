"""``-k EXPR``: choose scenarios by name, like pytest's -k: words match as substrings (without
regard to case) of a scenario's suite, file name, parameters, title and tags; words combine
with ``and``, ``or``, ``not`` and parentheses."""

from __future__ import annotations

import re

from harness.scenario.model import ScenarioRun

_TOKEN = re.compile(r"\s*(\(|\)|[^\s()]+)")


class SelectionError(ValueError):
    pass


def _haystack(run: ScenarioRun) -> str:
    scenario = run.scenario
    return " ".join((run.suite, run.name, scenario.title, *scenario.tags)).lower()


def matches(expression: str, run: ScenarioRun) -> bool:
    tokens: list[str] = _TOKEN.findall(expression)
    if not tokens:
        return True
    text = _haystack(run)
    position = 0

    def peek() -> str | None:
        return tokens[position] if position < len(tokens) else None

    def take() -> str:
        nonlocal position
        if position >= len(tokens):
            raise SelectionError(f"-k {expression!r}: the expression ends too early")
        position += 1
        return tokens[position - 1]

    def disjunction() -> bool:
        value = conjunction()
        while peek() == "or":
            take()
            value = conjunction() or value
        return value

    def conjunction() -> bool:
        value = negation()
        while peek() == "and":
            take()
            value = negation() and value
        return value

    def negation() -> bool:
        if peek() == "not":
            take()
            return not negation()
        word = take()
        if word == "(":
            value = disjunction()
            if take() != ")":
                raise SelectionError(f"-k {expression!r}: a '(' is not closed")
            return value
        if word in (")", "and", "or"):
            raise SelectionError(f"-k {expression!r}: unexpected '{word}'")
        return word.lower() in text

    result = disjunction()
    if position != len(tokens):
        raise SelectionError(f"-k {expression!r}: unexpected '{tokens[position]}'")
    return result
