"""The lifecycle property suite: a hypothesis state machine hires, updates, promotes, demotes,
blocks, reactivates and deletes employees, renames the admin group, provisions after every
change, signs people in and activates their devices, and after every step checks the SP's
invariants:

- a session is open only while its user is active and provisioned (BIZ-DEPROV-1);
- a user is an admin exactly while active and in the admin group (BIZ-ADMIN-1);
- seats held never exceed the pool, and no deprovisioned user holds one (BIZ-LICENSE-1);
- no activation outlives its user's entitlement (BIZ-DEPROV-2).

When an invariant breaks, hypothesis shrinks the sequence, and the shrunk sequence is written
as a scenario file the user can rerun with ``sso-harness run FILE``.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import yaml
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.errors import Flaky
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from harness.checks import catalog
from harness.checks.model import Check, CheckFailed
from harness.observe import activate_device, admin_view
from harness.scenario.loader import parse_step
from harness.scenario.model import ScenarioRun, SignIn
from harness.seeded_draws import seeded_draws
from harness.sessions import attempt_sign_in, identity_in
from harness.steps import act, add_user
from harness.targets import RemoteTarget
from harness.world import World

ADMINS = "Business Account Admins"
INVARIANT_CHECKS: tuple[Check, ...] = (
    catalog.SESSION_ENDED,
    catalog.ADMIN,
    catalog.LICENSE,
    catalog.CHECK_IN,
)
REFS = ("ana", "ben", "cai", "dee")
ROOT = "root"  # an admin the machine never touches: it reads the admin view


@dataclass
class Employee:
    in_directory: bool = True
    active: bool = True
    admin: bool = False


@dataclass
class Model:
    """What the SP should show, from the changes made so far (all provisioned at once)."""

    employees: dict[str, Employee] = field(default_factory=dict)
    sessions: set[str] = field(default_factory=set)  # refs whose browser session was opened
    devices: dict[str, str] = field(default_factory=dict)  # device name -> ref
    admin_group: str = ADMINS  # the IdP's name of the group the SP knows as its admin group

    def entitled(self, ref: str) -> bool:
        employee = self.employees.get(ref)
        return employee is not None and employee.in_directory and employee.active

    def is_admin(self, ref: str) -> bool:
        """Renaming the group away from the SP's admin group name takes admin from everyone."""
        employee = self.employees.get(ref)
        return (
            employee is not None
            and self.entitled(ref)
            and employee.admin
            and self.admin_group == ADMINS
        )


class InvariantError(Exception):
    """An invariant that did not hold, with the expectation that shows it in a scenario."""

    def __init__(self, check: Check, failure: CheckFailed, expectation: dict[str, Any]) -> None:
        super().__init__(failure.message)
        self.check = check
        self.failure = failure
        self.expectation = expectation


def lifecycle_machine(
    run: ScenarioRun,
    seed: int,
    sp_flaws: tuple[str, ...],
    idp_flaws: tuple[str, ...],
    record: list[list[dict[str, Any]]],
    remote: RemoteTarget | None = None,
    run_id: str = "",
) -> type:
    seats = run.scenario.given.organisation.seats
    if remote is not None and remote.organisation.seats is not None:
        seats = remote.organisation.seats

    class Lifecycle(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            # Each example is a world of its own; on a real SP, with user names of its own.
            # Hypothesis calls teardown() at the end of an example: the world closes there.
            self._world_scope = contextlib.ExitStack()
            self.world = self._world_scope.enter_context(
                World.open(
                    run,
                    seed=seed,
                    sp_flaws=sp_flaws,
                    idp_flaws=idp_flaws,
                    remote=remote,
                    run_id=f"{run_id}.{len(record)}",
                )
            )
            self.model = Model()
            self.steps: list[dict[str, Any]] = []
            record.append(self.steps)
            # The admin page as read after the step that made ``self.steps`` this long: the
            # invariants after one step judge the same state, so they share one reading.
            self._admin_page: tuple[int, dict[str, Any] | None] = (-1, None)

        def _admin_view(self) -> dict[str, Any] | None:
            if self._admin_page[0] != len(self.steps):
                self._admin_page = (len(self.steps), admin_view(self.world, exclude=""))
            return self._admin_page[1]

        def do(self, kind: str, value: Any) -> None:
            self.steps.append({kind: value})
            act(self.world, parse_step(kind, value))

        @initialize()
        def start(self) -> None:
            # Two employees, one an admin, both signed in, one with a device activated: every
            # rule then has something to act on from the first step, so short sequences reach
            # the interesting states (a deletion or a block alone shows a kept session, seat or
            # activation; without the device, none of 16 lifecycles per dialect activated a
            # device and then deprovisioned its user).
            # One device, not two: a second one costs time and found no more.
            add_user(self.world, ROOT, (ADMINS,))
            self.do("hire", {"ref": "ana", "groups": [ADMINS]})
            self.do("hire", {"ref": "ben", "groups": []})
            self.model.employees = {"ana": Employee(admin=True), "ben": Employee()}
            self.do("provision", "initial")
            for ref in ("ana", "ben"):
                self.steps.append({"sign_in": ref})
                if attempt_sign_in(self.world, SignIn(user=ref)).signed_in:
                    self.model.sessions.add(ref)
            self._activate("ben")

        @rule(ref=st.sampled_from(REFS), admin=st.booleans())
        def hire(self, ref: str, admin: bool) -> None:
            employee = self.model.employees.get(ref)
            if employee is not None and employee.in_directory:
                return
            self.do("hire", {"ref": ref, "groups": [self.model.admin_group] if admin else []})
            self.model.employees[ref] = Employee(admin=admin)
            self.do("provision", "incremental")

        def _present(self) -> list[str]:
            return sorted(r for r, e in self.model.employees.items() if e.in_directory)

        @precondition(lambda self: bool(self._present()))
        @rule(data=st.data(), admin=st.booleans())
        def set_admin(self, data: st.DataObject, admin: bool) -> None:
            ref = data.draw(st.sampled_from(self._present()))
            if self.model.employees[ref].admin == admin:
                # Nothing to change; and a shrunk scenario file with a removal from a group the
                # user is not in would not load.
                return
            kind = "add_to_group" if admin else "remove_from_group"
            self.do(kind, {"user": ref, "group": self.model.admin_group})
            self.model.employees[ref].admin = admin
            self.do("provision", "incremental")

        @precondition(lambda self: bool(self._present()))
        @rule(data=st.data(), active=st.booleans())
        def block_or_reactivate(self, data: st.DataObject, active: bool) -> None:
            ref = data.draw(st.sampled_from(self._present()))
            self.do("reactivate" if active else "block", ref)
            self.model.employees[ref].active = active
            self.do("provision", "incremental")

        @precondition(lambda self: bool(self._present()))
        @rule(data=st.data())
        def delete(self, data: st.DataObject) -> None:
            ref = data.draw(st.sampled_from(self._present()))
            self.do("delete", ref)
            self.model.employees[ref].in_directory = False
            self.do("provision", "incremental")

        @rule()
        def rename_admin_group(self) -> None:
            new = "Former Admins" if self.model.admin_group == ADMINS else ADMINS
            self.do("rename_group", {"group": self.model.admin_group, "to": new})
            self.model.admin_group = new
            self.do("provision", "incremental")

        @precondition(lambda self: bool(self._present()))
        @rule(data=st.data())
        def sign_in(self, data: st.DataObject) -> None:
            ref = data.draw(st.sampled_from(self._present()))
            self.steps.append({"sign_in": ref})
            attempt = attempt_sign_in(self.world, SignIn(user=ref))
            if attempt.signed_in:
                self.model.sessions.add(ref)

        @precondition(lambda self: bool(self._present()))
        @rule(data=st.data())
        def activate(self, data: st.DataObject) -> None:
            self._activate(data.draw(st.sampled_from(self._present())))

        def _activate(self, ref: str) -> None:
            name = f"device-{len(self.model.devices)}"
            step = parse_step("activate_device", {"user": ref, "as": name})
            verdicts = [activate_device(self.world, step.value, 0)]
            # The written-out sequence states what happened, so rerunning it checks only the
            # invariant that broke, not a guess about seats.
            outcome = "activated" if all(v.failure is None for v in verdicts) else "refused"
            self.steps.append({"activate_device": {"user": ref, "as": name, "expect": outcome}})
            self.model.devices[name] = ref

        # -- invariants ----------------------------------------------------------------

        def _fail(
            self, check: Check, expectation: dict[str, Any], message: str, **details: Any
        ) -> NoReturn:
            raise InvariantError(check, CheckFailed(message, **details), expectation)

        @invariant()
        def sessions_only_while_entitled(self) -> None:
            # Only a session of someone no longer entitled can break it: the others are not
            # asked (one request per open session after every step, for no verdict).
            for ref in sorted(self.model.sessions):
                if self.model.entitled(ref) or not self.world.has_http_session(ref):
                    continue
                if identity_in(self.world, ref) is not None:
                    self._fail(
                        catalog.SESSION_ENDED,
                        {"user": ref, "open_session": "ended"},
                        f"the session of {ref} outlived the user",
                        expected="ended",
                        observed="active",
                    )

        @invariant()
        def admin_exactly_while_in_group(self) -> None:
            if self.model.admin_group != ADMINS:  # nobody administers: ask each open session
                for ref in sorted(self.model.sessions):
                    if not self.world.has_http_session(ref):
                        continue
                    answer = self.world.http_session(ref).get(
                        self.world.url(self.world.probes.admin),
                        headers={"Accept": "application/json"},
                    )
                    if answer.status_code == 200:
                        self._fail(
                            catalog.ADMIN,
                            {"user": ref, "admin": False},
                            f"{ref} administers though the admin group was renamed away",
                            expected="GET /admin 403",
                            observed="GET /admin 200",
                        )
                return
            view = self._admin_view()
            if view is None:
                self._fail(
                    catalog.ADMIN, {"user": ROOT, "admin": True}, "no administrator could sign in"
                )
            admins = {self.world.ref_of(a) for a in view.get("admins", []) if self.world.owns(a)}
            for ref in self.model.employees:
                wanted = self.model.is_admin(ref)
                if (ref in admins) != wanted:
                    self._fail(
                        catalog.ADMIN,
                        {"user": ref, "admin": wanted},
                        f"{ref} {'is' if ref in admins else 'is not'} an admin",
                        expected="admin" if wanted else "not admin",
                        observed="admin" if ref in admins else "not admin",
                        evidence={"admins": sorted(admins)},
                    )

        @invariant()
        def seats_within_pool_and_only_for_the_entitled(self) -> None:
            if self.model.admin_group != ADMINS:
                return  # no administrator can read the seats while the group is renamed away
            view = self._admin_view() or {}
            # A real SP keeps the users of earlier runs: judge this world's users only.
            held = [
                u
                for u in view.get("users", [])
                if u.get("license") == "held" and self.world.owns(str(u.get("userName", "")))
            ]
            if len(held) > seats:
                self._fail(
                    catalog.LICENSE,
                    {"user": ROOT, "license": "held"},
                    f"{len(held)} seats held of a pool of {seats}",
                    expected=f"at most {seats}",
                    observed=str(len(held)),
                )
            for user in held:
                ref = self.world.ref_of(str(user.get("userName", "")))
                if ref != ROOT and not self.model.entitled(ref):
                    self._fail(
                        catalog.LICENSE,
                        {"user": ref, "license": "none"},
                        f"the deprovisioned {ref} still holds a seat",
                        expected="none",
                        observed="held",
                    )

        @invariant()
        def no_activation_outlives_its_user(self) -> None:
            # As for sessions: only the device of someone no longer entitled can break it.
            for name, ref in self.model.devices.items():
                device = self.world.devices.get(name)
                if self.model.entitled(ref) or device is None or not device.check_in_url:
                    continue
                with self.world.client() as http:
                    body = http.get(device.check_in_url).json()
                if body.get("status") == "active":
                    self._fail(
                        catalog.CHECK_IN,
                        {"device": name, "check_in": "revoked"},
                        f"{name} of the deprovisioned {ref} is still active",
                        expected="revoked",
                        observed="active",
                        evidence={"check-in": body},
                    )

        def teardown(self) -> None:
            self._world_scope.close()

    return Lifecycle


@dataclass
class PropertyOutcome:
    broken: InvariantError | None
    examples: int
    scenario_file: str | None = None


def lifecycle_settings(examples: int, max_steps: int) -> settings:
    """The same draws for the same machine on every run, with nothing kept between runs."""
    return settings(
        max_examples=examples,
        stateful_step_count=max_steps,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
        report_multiple_bugs=False,
    )


def check_lifecycle(
    run: ScenarioRun,
    *,
    seed: int,
    sp_flaws: tuple[str, ...] = (),
    idp_flaws: tuple[str, ...] = (),
    examples: int = 10,
    max_steps: int = 8,
    out_dir: Path | None = None,
    remote: RemoteTarget | None = None,
    run_id: str = "",
) -> PropertyOutcome:
    record: list[list[dict[str, Any]]] = []
    machine = lifecycle_machine(run, seed, sp_flaws, idp_flaws, record, remote, run_id)
    try:
        with seeded_draws():
            run_state_machine_as_test(machine, settings=lifecycle_settings(examples, max_steps))
    except InvariantError as broken:
        path = None
        if record:
            path = _write_scenario(run, record[-1], broken, out_dir)
        return PropertyOutcome(broken, examples, path)
    except Flaky as flaky:  # the SP answered the same sequence differently: also a failure
        raise RuntimeError(f"the SP is not deterministic under this sequence: {flaky}") from None
    return PropertyOutcome(None, examples)


def _write_scenario(
    run: ScenarioRun, steps: list[dict[str, Any]], broken: InvariantError, out_dir: Path | None
) -> str:
    organisation = run.scenario.given.organisation
    document = {
        "title": f"Shrunk from {run.suite}/{run.name}: {broken.failure.message}",
        "dialects": [run.dialect],
        "given": {
            "organisation": {"seats": organisation.seats},
            "users": [{"ref": ROOT, "groups": [ADMINS]}],
        },
        "steps": [*steps, {"expect": broken.expectation}],
    }
    folder = out_dir or Path.cwd()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"shrunk-{run.suite}-{run.dialect}.yaml"
    with contextlib.suppress(OSError):
        path.write_text(yaml.safe_dump(document, sort_keys=False))
    return str(path)
