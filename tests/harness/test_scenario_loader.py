"""The scenario language: typed, and every mistake named with its file, line and a hint."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.scenario.loader import ScenarioError, discover, load_scenario
from harness.scenario.model import Expectation, SignIn
from harness.suites import default_roots

GOOD = """\
title: A departing employee loses everything
dialects: [entra, okta]
given:
  organisation: {seats: 5}
  users: [{ref: dana, groups: [Business Account Admins]}]
steps:
  - provision: initial
  - sign_in: dana
  - sign_in: {user: dana, via: idp, expect: refused, reason: user-inactive}
  - activate_device: {user: dana, as: laptop}
  - expect:
      - {user: dana, admin: true}
      - {device: laptop, check_in: revoked}
"""


def write(tmp_path: Path, text: str, name: str = "scenario.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_a_scenario_loads_into_typed_steps(tmp_path: Path) -> None:
    scenario = load_scenario(write(tmp_path, GOOD))
    kinds = [s.kind for s in scenario.steps]
    assert kinds == ["provision", "sign_in", "sign_in", "activate_device", "expect", "expect"]
    assert scenario.steps[1].value == SignIn(user="dana")
    assert scenario.steps[2].value.reason == "user-inactive"
    assert isinstance(scenario.steps[4].value, Expectation)
    assert [s.line for s in scenario.steps] == [7, 8, 9, 10, 12, 13]


def test_parameters_multiply_into_runs(tmp_path: Path) -> None:
    text = GOOD.replace("dialects: [entra, okta]", "dialects: [entra, okta]\npresets: [okta, ping]")
    runs = discover([write(tmp_path, text)])
    assert [r.name for r in runs] == [
        "scenario[dialect=entra,preset=okta]",
        "scenario[dialect=entra,preset=ping]",
        "scenario[dialect=okta,preset=okta]",
        "scenario[dialect=okta,preset=ping]",
    ]


@pytest.mark.parametrize(
    ("text", "line", "message", "hint"),
    [
        (
            GOOD.replace("- sign_in: dana", "- sing_in: dana"),
            8,
            "unknown step 'sing_in'",
            "sign_in",
        ),
        (
            GOOD.replace("{user: dana, admin: true}", "{user: dana, admn: true}"),
            12,
            "unknown field 'admn'",
            "admin",
        ),
        (GOOD.replace("via: idp", "via: browser"), 9, "via", ""),
        (GOOD.replace("groups: [Business", "grups: [Business"), 5, "grups", "groups"),
        (GOOD.replace("dialects: [entra, okta]", "dialects: [entra, azure]"), 2, "dialects", ""),
        (GOOD.replace("seats: 5", "seats: -1"), 4, "seats", ""),
        (
            GOOD.replace("  - provision: initial\n", "  - provision: initial\n  - provision\n"),
            8,
            "a step is a mapping with one key",
            "",
        ),
        (GOOD.replace("- sign_in: dana", "- sign_in: dan"), 8, "unknown user 'dan'", "'dana'"),
        (
            GOOD.replace("{user: dana, admin: true}", "{user: alex, admin: true}"),
            12,
            "unknown user 'alex'",
            "declare it under given.users or hire it",
        ),
        (
            GOOD.replace("{device: laptop,", "{device: lapto,"),
            13,
            "unknown device 'lapto'",
            "did you mean 'laptop'?",
        ),
        (
            GOOD.replace("  - activate_device: {user: dana, as: laptop}\n", ""),
            12,
            "unknown device 'laptop'",
            "activate_device",
        ),
        (
            GOOD.replace("- provision: initial", "- remove_from_group: {user: dana, group: Sales}"),
            7,
            "user 'dana' is not in group 'Sales' at this step",
            "their groups here: 'Business Account Admins'",
        ),
        (
            GOOD.replace("- provision: initial", "- remove_from_group: [dana, Sales]"),
            7,
            "'remove_from_group' takes a mapping {user, group}",
            "",
        ),
        ("title: x\nsteps: [\n", 3, "not valid YAML", ""),
        ("title: xyz\n", 1, "needs a list of 'steps'", ""),
        ("title: xyz\ntitle: again\nsteps: []\n", 2, "'title' is given twice", ""),
        ("- just\n- a list\n", 1, "a scenario is a mapping", ""),
    ],
)
def test_mistakes_name_file_line_and_hint(
    tmp_path: Path, text: str, line: int, message: str, hint: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    error = caught.value
    assert error.path == str(path)
    assert error.line == line, str(error)
    assert message in str(error)
    assert hint in error.hint


MEMBERSHIPS = """\
title: Memberships followed through the steps
given:
  users: [{ref: dana, groups: [Sales]}]
steps:
  - rename_group: {group: Sales, to: Revenue}
  - hire: {ref: alex, groups: [Revenue]}
  - add_to_group: {user: dana, group: Support}
  - remove_from_group: {user: dana, group: Revenue}
  - delete_group: Support
  - remove_from_group: {user: alex, group: revenue}
  - delete: dana
  - expect: {user: dana, sign_in: refused}
"""


def test_memberships_are_followed_through_the_steps(tmp_path: Path) -> None:
    assert len(load_scenario(write(tmp_path, MEMBERSHIPS)).steps) == 8


@pytest.mark.parametrize(
    ("change", "line", "message"),
    [
        ("  - remove_from_group: {user: alex, group: Sales}\n", 13, "not in group 'Sales'"),
        ("  - remove_from_group: {user: alex, group: Support}\n", 13, "not in group 'Support'"),
        ("  - block: dana\n", 13, "user 'dana' is no longer in the directory"),
        ("  - hire: dana\n  - remove_from_group: {user: dana, group: Revenue}\n", 14, "'Revenue'"),
    ],
)
def test_a_membership_or_user_gone_by_then_is_a_load_error(
    tmp_path: Path, change: str, line: int, message: str
) -> None:
    with pytest.raises(ScenarioError) as caught:
        load_scenario(write(tmp_path, MEMBERSHIPS + change))
    assert caught.value.line == line, str(caught.value)
    assert message in str(caught.value)


def test_hostile_yaml_is_refused_not_executed(tmp_path: Path) -> None:
    path = write(tmp_path, "title: !!python/object/apply:os.system ['echo pwned']\nsteps: []\n")
    with pytest.raises(ScenarioError, match=r"YAML tag .* is not allowed"):
        load_scenario(path)


def test_every_built_in_scenario_loads() -> None:
    runs = discover(default_roots())
    suites = {r.suite for r in runs}
    assert {"sso_login", "admin_grants", "deprovisioning", "license_revocation"} <= suites
    assert len({(r.path, r.name) for r in runs}) == len(runs)
