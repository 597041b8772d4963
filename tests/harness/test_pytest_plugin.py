"""The pytest plugin: scenario files as items, and world fixtures for Python tests."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

SCENARIO = """\
title: A blocked employee's session ends
given:
  users: [{ref: dana}, {ref: alex, groups: [Business Account Admins]}]
steps:
  - provision: initial
  - sign_in: dana
  - block: dana
  - provision: incremental
  - expect: {user: dana, open_session: ended}
"""


def test_scenario_files_are_collected_and_pass(pytester: pytest.Pytester) -> None:
    pytester.mkdir("scenarios")
    pytester.mkdir("scenarios/deprovisioning")
    (pytester.path / "scenarios/deprovisioning/blocked.yaml").write_text(SCENARIO)
    result = pytester.runpytest("scenarios", "-q")
    result.assert_outcomes(passed=1)


def test_a_flaw_makes_the_item_fail_with_the_rule(pytester: pytest.Pytester) -> None:
    pytester.mkdir("scenarios")
    (pytester.path / "scenarios/blocked.yaml").write_text(SCENARIO)
    result = pytester.runpytest("scenarios", "-q", "--sso-sp-flaw", "keep-sessions-on-deprovision")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*FAIL session.ended (line 9)*", "*rule BIZ-DEPROV-1 (MUST)*"])


def test_a_broken_scenario_file_is_a_collection_error(pytester: pytest.Pytester) -> None:
    pytester.mkdir("scenarios")
    (pytester.path / "scenarios/typo.yaml").write_text(SCENARIO.replace("sign_in", "sing_in"))
    result = pytester.runpytest("scenarios", "-q")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*typo.yaml:6: unknown step 'sing_in'*sign_in*"])


def test_world_fixtures_for_python_tests(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        from harness.scenario.model import SignIn
        from harness.steps import add_user, attempt_sign_in
        from harness.provisioning import provision

        def test_sign_in(sso_world, mock_idp, reference_sp):
            add_user(sso_world, "dana", ())
            provision(sso_world, "initial", "entra")
            attempt = attempt_sign_in(sso_world, SignIn(user="dana"), sso_world.run)
            assert attempt.signed_in
            assert mock_idp is sso_world.idp and reference_sp is sso_world.sp
        """
    )
    result = pytester.runpytest("-q")
    result.assert_outcomes(passed=1)
