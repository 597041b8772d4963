"""Running scenario steps in a world: one handler per step kind (``STEP_HANDLERS``). Actions
change the world; sign-ins, sign-outs, activations and expectations observe the SP through its
public surface (its probes, its SCIM endpoint) and hand each observation to the check that
judges it (``harness.checks``).

Dependencies, not cascades: a step that fails records why in the world (``world.broken``), and
a later check that needs what it would have made (a session, a device, the provisioned
directory) is skipped with that reason, while the checks that do not need it still run.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from harness.checks import catalog
from harness.checks.model import Check
from harness.checks.sign_in import SignInCase
from harness.observe import (
    activate_device,
    admin_view,
    expect_admin,
    expect_check_in,
    expect_license,
    expect_scim,
    expect_session,
    sign_out,
)
from harness.provisioning import ProvisioningFailed, provision
from harness.replay_steps import run_replay
from harness.scenario.model import (
    ActivateDevice,
    Expectation,
    GroupRef,
    Hire,
    Membership,
    Provision,
    RenameGroup,
    SignIn,
    Step,
    UserAttributes,
    UserRef,
)
from harness.scim_steps import run_scim_conformance
from harness.security_steps import run_case
from harness.sessions import attempt_sign_in, idp_vouches_for, user_of
from harness.signin import SignInAttempt
from harness.verdicts import StepError, Verdict, judged, not_judged
from harness.world import PASSWORD, World, session_key

__all__ = [
    "PASSWORD",
    "STEP_HANDLERS",
    "StepError",
    "Verdict",
    "act",
    "activate_device",
    "add_user",
    "admin_view",
    "attempt_sign_in",
    "judged",
    "run_step",
]


# -- the directory ---------------------------------------------------------------------------


def add_user(
    world: World,
    ref: str,
    groups: tuple[str, ...],
    *,
    assigned: bool = True,
    active: bool = True,
    given_name: str | None = None,
    family_name: str | None = None,
    attributes: dict[str, str] | None = None,
) -> None:
    world.idp.add_user(
        world.user_name(ref),
        password=PASSWORD,
        email=world.user_name(ref),
        given_name=given_name or ref.capitalize(),
        family_name=family_name or "Tester",
        groups=list(groups),
        active=active,
        external_id=f"ext-{ref}",
        attributes={k: [v] for k, v in (attributes or {}).items()},
        assigned=assigned,
    )


def _hire(world: World, hire: Hire) -> None:
    add_user(world, hire.ref, hire.groups, assigned=hire.assigned)


_NAME_FIELDS = {
    "given_name": "given_name",
    "givenName": "given_name",
    "family_name": "family_name",
    "familyName": "family_name",
    "display_name": "display_name",
    "displayName": "display_name",
}


def _update(world: World, update: UserAttributes) -> None:
    user_name = user_of(world, update.user).user_name
    script = world.idp.script
    for name, new in update.set.items():
        if name in _NAME_FIELDS:
            script.update_user(user_name, {_NAME_FIELDS[name]: new})
        else:
            script.set_attribute(user_name, name, [new])


def _add_to_group(world: World, membership: Membership) -> None:
    world.idp.script.add_to_group(user_of(world, membership.user).user_name, membership.group)


def _remove_from_group(world: World, membership: Membership) -> None:
    user_name = user_of(world, membership.user).user_name
    world.idp.script.remove_from_group(user_name, membership.group)


def _rename_group(world: World, rename: RenameGroup) -> None:
    world.idp.script.rename_group(rename.group, rename.to)  # the same group, a new name


def _delete_group(world: World, group: GroupRef) -> None:
    world.idp.script.remove_group(group.group)  # its members leave it too


def _block(world: World, who: UserRef) -> None:
    world.idp.script.block_user(user_of(world, who.user).user_name)


def _reactivate(world: World, who: UserRef) -> None:
    world.idp.script.unblock_user(user_of(world, who.user).user_name)


def _unassign(world: World, who: UserRef) -> None:
    world.idp.script.unassign_user(user_of(world, who.user).user_name)


def _delete(world: World, who: UserRef) -> None:
    world.deleted[who.user] = copy.deepcopy(user_of(world, who.user))
    world.idp.script.remove_user(world.user_name(who.user))


def _provision(world: World, cycle: Provision) -> None:
    if not world.features.scim:
        # The SP accepts users on sight: there is nothing to send, and checks that depend on
        # what SCIM would have told it are skipped where they are judged.
        world.evidence.append({"provisioning": "skipped: the target has no SCIM"})
        return
    try:
        provision(world, cycle.cycle, cycle.dialect or world.run.dialect)
    except ProvisioningFailed as exc:
        world.broken["provisioning"] = str(exc)
        raise


ACTIONS: dict[str, Callable[[World, Any], None]] = {
    "hire": _hire,
    "update": _update,
    "add_to_group": _add_to_group,
    "remove_from_group": _remove_from_group,
    "rename_group": _rename_group,
    "delete_group": _delete_group,
    "block": _block,
    "reactivate": _reactivate,
    "unassign": _unassign,
    "delete": _delete,
    "provision": _provision,
}


def act(world: World, step: Step) -> None:
    """Run an action step (a directory change or a provisioning cycle)."""
    action = ACTIONS.get(step.kind)
    if action is None:  # pragma: no cover - the loader knows every step
        raise StepError(f"no action for step '{step.kind}'")
    action(world, step.value)


# -- signing in ------------------------------------------------------------------------------


def _checks_of(request: SignIn) -> list[Check]:
    if request.expect == "signed-in":
        return [catalog.SIGNS_IN, *([catalog.LANDS_ON_DEEP_LINK] if request.relay_state else [])]
    if request.idp == "other":
        return [catalog.ORGANISATIONS_ISOLATED]
    if request.mutators:  # the rule judged is the one the (last) mutator breaks
        return [catalog.REFUSES_MUTATED.get(request.mutator_names[-1], catalog.REFUSED)]
    return [catalog.REFUSED]


def _control(world: World, request: SignIn) -> SignInAttempt | None:
    """The positive control of a refusal: a sign-in through the same flow, unmutated, in this
    world. A mutated response's control is run now when none ran yet (the same user, signed in
    the same way); a refusal of the user's own state relies on one that ran before."""
    flow = request.via
    if flow not in world.controls and request.mutators and request.idp == "own":
        control = request.model_copy(
            update={
                "session": f"control:{flow}",
                "mutators": (),
                "expect": "signed-in",
                "reason": None,
                "browser": False,
            }
        )
        world.forget_http_session(f"control:{flow}")
        attempt = attempt_sign_in(world, control)
        world.controls[flow] = attempt
    return world.controls.get(flow)


def _provisioning_state(world: World, ref: str) -> str | None:
    """Why a refusal of ``ref`` cannot be judged without SCIM: the SP would refuse them only
    for what provisioning tells it (inactive, unassigned, deleted)."""
    if world.features.scim:
        return None
    user = world.idp.directory.get_user(world.user_name(ref))
    if user is None or not user.active or not user.assigned:
        return (
            "the target has no SCIM provisioning: the SP learns that this user is inactive, "
            "unassigned or deleted only from SCIM"
        )
    return None


def _sign_in(
    world: World, request: SignIn, line: int, unjudgeable: str | None = None
) -> Iterator[Verdict]:
    session = request.session or request.user
    checks = _checks_of(request)
    blocked = world.broken.get("provisioning")
    if request.via == "idp" and not world.features.idp_initiated:
        blocked = "the target has no IdP-initiated sign-in (features.idp_initiated)"
    if blocked is not None:
        world.broken[session_key(session)] = blocked
        yield from not_judged(checks, line, blocked)
        return
    if world.run.scenario.browser and not request.browser:
        request = request.model_copy(update={"browser": True})
    refusal = request.expect == "refused"
    control = _control(world, request) if refusal else None
    if refusal and unjudgeable is None:
        unjudgeable = _provisioning_state(world, request.user)
    if refusal:
        world.forget_http_session(session)  # judged by effect: no session of an earlier sign-in
    attempt = attempt_sign_in(world, request)
    if attempt.signed_in and not request.mutators and request.idp == "own":
        world.controls.setdefault(request.via, attempt)
    if not refusal and not attempt.signed_in:
        world.broken[session_key(session)] = f"its sign-in at line {line} failed: " + (
            attempt.describe()
        )
    elif attempt.signed_in:
        world.broken.pop(session_key(session), None)
    case = SignInCase(
        ref=request.user,
        user_name=world.user_name(request.user),
        attempt=attempt,
        relay_state=request.relay_state,
        reason=request.reason,
        control=control,
        unjudgeable=unjudgeable,
    )
    for check in checks:
        yield judged(check, line, case)


def _expected_sign_in(world: World, expectation: Expectation, line: int) -> Iterator[Verdict]:
    ref = expectation.user or ""
    request = SignIn(
        user=ref,
        session=f"expect:{ref}",
        expect=expectation.sign_in or "signed-in",
        reason=expectation.reason if expectation.sign_in == "refused" else None,
    )
    world.forget_http_session(f"expect:{ref}")
    # Whether SCIM was needed is decided on the user's state before the IdP vouches for them.
    unjudgeable = _provisioning_state(world, ref)
    with idp_vouches_for(world, ref):
        verdicts = list(_sign_in(world, request, line, unjudgeable))
    yield from verdicts


def _expect(world: World, expectation: Expectation, line: int) -> Iterator[Verdict]:
    if expectation.sign_in is not None and expectation.user is not None:
        yield from _expected_sign_in(world, expectation, line)
    if expectation.open_session is not None and expectation.user is not None:
        yield expect_session(world, expectation.user, expectation.open_session, line)
    if expectation.admin is not None and expectation.user is not None:
        yield expect_admin(world, expectation.user, expectation.admin, line)
    if expectation.license is not None and expectation.user is not None:
        yield expect_license(world, expectation.user, expectation.license, line)
    if expectation.check_in is not None and expectation.device is not None:
        yield expect_check_in(
            world, expectation.device, expectation.check_in, expectation.reason, line
        )
    if expectation.scim is not None and expectation.user is not None:
        yield expect_scim(world, expectation.user, expectation.scim, line)


def _sign_out(world: World, who: UserRef, line: int) -> list[Verdict]:
    return [sign_out(world, who.user, line)]


def _activate_device(world: World, request: ActivateDevice, line: int) -> list[Verdict]:
    return [activate_device(world, request, line)]


# Observing steps: each yields the verdicts of the checks it runs.
STEP_HANDLERS: dict[str, Callable[[World, Any, int], Iterable[Verdict]]] = {
    "sign_in": _sign_in,
    "sign_out": _sign_out,
    "activate_device": _activate_device,
    "case": run_case,
    "scim_conformance": run_scim_conformance,
    "expect": _expect,
    "replay": run_replay,
}


def run_step(world: World, step: Step) -> list[Verdict]:
    """Run one step; its verdicts (none for an action)."""
    if step.kind in ACTIONS:
        ACTIONS[step.kind](world, step.value)
        return []
    handler = STEP_HANDLERS.get(step.kind)
    if handler is None:  # pragma: no cover - the loader knows every step
        raise StepError(f"no handler for step '{step.kind}'")
    return list(handler(world, step.value, step.line))
