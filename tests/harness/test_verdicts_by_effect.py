"""Verdicts that hold for any peer (DESIGN): no control, no verdict; a response that never
reached the SP is not a refusal; a failed step skips what depends on it and nothing else."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.events import CheckFinished, ScenarioSkipped
from harness.results import Outcome
from harness.runner import RunOptions, run_scenario
from harness.scenario.loader import discover
from harness.targets import Features, Probes, RemoteTarget

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


def results(path: Path, options: RunOptions | None = None) -> list[tuple[str, Outcome, str]]:
    (run,) = discover([path])
    found = []
    for event in run_scenario(run, options or RunOptions()):
        if isinstance(event, CheckFinished):
            r = event.result
            found.append((r.check, r.outcome, r.message))
        elif isinstance(event, ScenarioSkipped):
            found.append(("scenario", Outcome.SKIP, event.reason))
    return found


def write(tmp_path: Path, text: str) -> Path:
    suite = tmp_path / "suite"
    suite.mkdir(exist_ok=True)
    path = suite / "case.yaml"
    path.write_text(text)
    return path


def test_refusals_are_not_passed_when_the_positive_control_fails(tmp_path: Path) -> None:
    """An IdP that signs nothing makes the control fail: every refusal is then skipped with
    the reason, never passed (an SP that refuses everything would otherwise pass them all)."""
    path = write(
        tmp_path,
        """
title: refusals next to their control
given: {users: [{ref: dana}]}
steps:
  - provision: initial
  - sign_in: {user: dana, session: expired, mutators: [expired], expect: refused}
  - sign_in: {user: dana, session: audience, mutators: [wrong-audience], expect: refused}
""",
    )
    clean = results(path)
    assert [o for _, o, _ in clean] == [Outcome.PASS, Outcome.PASS]
    broken = results(path, RunOptions(idp_flaws=("unsigned",)))
    assert [o for _, o, _ in broken] == [Outcome.SKIP, Outcome.SKIP]
    assert all("positive control" in m and "failed" in m for _, _, m in broken)


def test_a_refusal_without_any_control_is_skipped(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
title: an unknown user, and nobody signed in before
given: {users: [{ref: nolan, assigned: false}]}
steps:
  - provision: initial
  - expect: {user: nolan, sign_in: refused, reason: unknown-user}
""",
    )
    ((check, outcome, message),) = results(path)
    assert (check, outcome) == ("sso.refused", Outcome.SKIP)
    assert "no positive control" in message


def test_a_response_that_never_reached_the_sp_is_no_refusal(tmp_path: Path) -> None:
    """The mock IdP refusing to send a break it cannot make (a signature to corrupt on an
    unsigned response) is not the SP refusing: the check is skipped, not passed."""
    path = write(
        tmp_path,
        """
title: nothing reaches the ACS
given: {users: [{ref: dana}]}
steps:
  - provision: initial
  - sign_in: {user: dana, session: control}
  - sign_in: {user: dana, session: x, mutators: [unsigned, corrupt-signature], expect: refused}
""",
    )
    found = results(path)
    assert found[0][1] == Outcome.PASS
    check, outcome, message = found[1]
    assert (check, outcome) == ("sso.refuses.corrupt-signature", Outcome.SKIP)
    assert message.startswith("the response never reached the SP: the IdP sent no response")


def test_a_failed_activation_skips_its_check_in_and_nothing_else(tmp_path: Path) -> None:
    """Dependencies, not cascades: the device never activated, so its check-in is skipped
    with the reason, and the deprovisioning checks after it still run (and pass)."""
    path = write(
        tmp_path,
        """
title: an old client, then a block
given: {users: [{ref: dana}, {ref: alex, groups: [Business Account Admins]}]}
steps:
  - provision: initial
  - sign_in: dana
  - activate_device: {user: dana, client_version: "17.0", as: laptop}
  - expect: {device: laptop, check_in: active}
  - block: dana
  - provision: incremental
  - expect:
      - {user: dana, open_session: ended}
      - {user: dana, sign_in: refused, reason: user-inactive}
""",
    )
    found = results(path)
    outcomes = [(c, o) for c, o, _ in found]
    assert outcomes == [
        ("sso.signs-in", Outcome.PASS),
        ("activation.completes", Outcome.FAIL),
        ("activation.check-in", Outcome.SKIP),
        ("session.ended", Outcome.PASS),
        ("sso.refused", Outcome.PASS),
    ]
    assert "was never activated" in found[2][2]


def test_a_session_never_opened_is_not_judged(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
title: a sign-in that fails, then its session
given: {users: [{ref: dana}]}
steps:
  - provision: initial
  - sign_in: {user: dana, mutators: [unsigned]}
  - expect: {user: dana, open_session: ended}
  - sign_out: dana
""",
    )
    found = results(path)
    assert [(c, o) for c, o, _ in found] == [
        ("sso.signs-in", Outcome.FAIL),
        ("session.ended", Outcome.SKIP),
        ("slo.signed-out", Outcome.SKIP),
    ]
    assert "sign-in at line" in found[1][2]


def test_business_checks_are_skipped_on_a_target_without_them() -> None:
    """`admin: false` and `license: none` prove nothing on an SP that has neither."""
    from harness.verdicts import Verdict  # noqa: F401 - the verdict model the steps return

    target = RemoteTarget(
        name="t",
        path="t.toml",
        sp_base="http://127.0.0.1:9",
        sp_metadata_url=None,
        sp_metadata_file=None,
        scim_url=None,
        scim_token=None,
        email_domain="example.com",
        idp_port=9,
        probes=Probes(),
        features=Features(
            scim=False,
            admin=False,
            licenses=False,
            activations=False,
            idp_initiated=False,
            single_logout=False,
            second_organisation=False,
        ),
    )
    from harness.runner import why_skipped

    runs = {r.path.rsplit("/", 1)[-1]: r for r in discover([SCENARIOS])}
    options = RunOptions(remote=target)
    assert why_skipped(runs["admin-group-grants-and-revokes-admin.yaml"], options) == (
        "the target has no SCIM provisioning, no admin role granted through an IdP group"
    )
    assert why_skipped(runs["idp-initiated-sign-in.yaml"], options) == (
        "the target has no IdP-initiated sign-in"
    )
    assert why_skipped(runs["broken-responses-refused.yaml"], options) is None
    assert why_skipped(runs["single-logout-ends-the-session.yaml"], options) == (
        "the target has no single logout"
    )


def test_a_sign_in_can_ask_for_its_own_preset_and_name_id_format(sso_world: Any) -> None:
    """`sign_in: {preset, name_id_format}` are read: that one response is the vendor's (Okta
    writes `saml2p:`), the next is the world's own again."""
    import base64
    from urllib.parse import parse_qs

    from harness.provisioning import provision
    from harness.scenario.model import SignIn
    from harness.sessions import attempt_sign_in
    from harness.steps import add_user

    add_user(sso_world, "dana", ())
    provision(sso_world, "initial", "rfc")

    def posted(attempt: Any) -> str:
        form = next(e["form"] for e in attempt.exchange if "SAMLResponse=" in e.get("form", ""))
        return base64.b64decode(parse_qs(form)["SAMLResponse"][0]).decode()

    okta = attempt_sign_in(sso_world, SignIn(user="dana", session="a", preset="okta"))
    plain = attempt_sign_in(sso_world, SignIn(user="dana", session="b"))
    assert okta.signed_in and plain.signed_in
    assert posted(okta).startswith("<saml2p:Response") and posted(plain).startswith("<samlp:")
    opaque = attempt_sign_in(
        sso_world, SignIn(user="dana", session="c", name_id_format="persistent", via="idp")
    )
    assert not opaque.signed_in and opaque.reason == "unsupported-nameid-format"


def test_a_failing_me_probe_is_no_evidence_that_nobody_is_signed_in() -> None:
    """An SP whose me page answers 500 has neither refused a response nor ended a session:
    the judges skip, they do not pass (checks are functions: judged here directly)."""
    import pytest

    from harness.checks.model import CheckSkipped
    from harness.checks.session import SessionObservation, session_state
    from harness.checks.sign_in import SignInCase, refuses
    from harness.signin import SignInAttempt

    ok = SignInAttempt(signed_in=True, identity="dana@example.com", delivered=True)
    broken = SignInAttempt(signed_in=False, delivered=True, reached_idp=True)
    broken.me_failed = "the me probe answered 500"
    with pytest.raises(CheckSkipped, match="answered 500"):
        refuses(SignInCase("dana", "dana@example.com", broken, control=ok))
    refuses(
        SignInCase("dana", "dana@example.com", SignInAttempt(False, delivered=True), control=ok)
    )
    answer = {"status": 503, "body": "down"}
    with pytest.raises(CheckSkipped, match="answered 503"):
        session_state(SessionObservation("dana", "dana@example.com", "ended", None, None, answer))
    session_state(
        SessionObservation("dana", "dana@example.com", "ended", None, None, {"status": 401})
    )
