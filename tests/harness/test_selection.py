from __future__ import annotations

import pytest

from harness.scenario.model import Scenario, ScenarioRun
from harness.selection import SelectionError, matches


def run(suite: str, name: str, tags: tuple[str, ...] = ()) -> ScenarioRun:
    scenario = Scenario.model_validate(
        {"title": "A title", "tags": tags, "steps": [{"kind": "sign_in", "value": 0}]}
    )
    return ScenarioRun(suite=suite, path=f"scenarios/{suite}/{name}.yaml", scenario=scenario)


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("", True),
        ("deprov", True),
        ("DEPROV", True),
        ("sso_login", False),
        ("deprov and blocked", True),
        ("deprov and not blocked", False),
        ("sso_login or blocked", True),
        ("not (sso_login or admin)", True),
        ("smoke", True),
    ],
)
def test_expressions(expression: str, expected: bool) -> None:
    assert matches(expression, run("deprovisioning", "blocked-employee", ("smoke",))) is expected


@pytest.mark.parametrize("expression", ["(a", "a and", "and a", "a b", ")"])
def test_bad_expressions(expression: str) -> None:
    with pytest.raises(SelectionError):
        matches(expression, run("x", "y"))
