"""Running scenario steps in a world: actions change the world, expectations observe the SP and
produce check results. Observations go through the SP's public surface only (its pages, its
JSON API, its SCIM endpoint), the way a QA engineer would look; "signed in" is judged from the
SP's session (``/api/me``), never from an HTTP status alone."""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from harness.checks import catalog
from harness.checks.model import Check, CheckFailed
from harness.forms import form_with
from harness.provisioning import provision
from harness.scenario.model import (
    ActivateDevice,
    Expectation,
    GroupRef,
    Hire,
    Membership,
    Provision,
    RenameGroup,
    ScenarioRun,
    SignIn,
    Step,
    UserAttributes,
    UserRef,
)
from harness.signin import SignInAttempt, dotted, sign_in
from harness.world import Device, World
from mock_idp.directory import User

PASSWORD = "correct horse battery staple"  # noqa: S105 - the mock directory's users


@dataclass(frozen=True)
class Verdict:
    """One check's outcome in a step: None when it held, else why it did not."""

    check: Check
    failure: CheckFailed | None
    duration_s: float
    line: int


class StepError(Exception):
    """The scenario asked for something impossible (an unknown user ref, a missing device):
    the scenario's fault, reported as an ERROR naming the line."""


def _observe(check: Check, line: int, probe: Callable[[], None]) -> Verdict:
    started = time.perf_counter()
    try:
        probe()
        failure = None
    except CheckFailed as exc:
        failure = exc
    return Verdict(check, failure, time.perf_counter() - started, line)


# -- the directory ---------------------------------------------------------------------------


def _user(world: World, ref: str) -> User:
    user = world.idp.directory.get_user(world.user_name(ref))
    if user is None:
        raise StepError(f"no user '{ref}' in the directory (hire or list them under given)")
    return user


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
    for group in groups:
        world.idp.directory.ensure_group(group)
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


def _set_groups(world: World, user: User, groups: list[str]) -> None:
    for group in groups:
        world.idp.directory.ensure_group(group)
    user.groups = groups


def act(world: World, step: Step) -> None:
    value: Any = step.value
    directory = world.idp.directory
    if step.kind == "hire":
        hire: Hire = value
        add_user(world, hire.ref, hire.groups, assigned=hire.assigned)
    elif step.kind == "update":
        update: UserAttributes = value
        user = _user(world, update.user)
        for name, new in update.set.items():
            if name in ("given_name", "givenName"):
                user.given_name = new
            elif name in ("family_name", "familyName"):
                user.family_name = new
            elif name in ("display_name", "displayName"):
                user.display_name = new
            else:
                user.attributes[name] = [new]
    elif step.kind in ("add_to_group", "remove_from_group"):
        membership: Membership = value
        user = _user(world, membership.user)
        groups = [g for g in user.groups if g != membership.group]
        if step.kind == "add_to_group":
            groups.append(membership.group)
        _set_groups(world, user, groups)
    elif step.kind == "rename_group":
        rename: RenameGroup = value
        directory.rename_group(rename.group, rename.to)  # the same group, a new name
    elif step.kind == "delete_group":
        group: GroupRef = value
        for user in directory.users():
            if group.group in user.groups:
                user.groups = [g for g in user.groups if g != group.group]
        directory.remove_group(group.group)
    elif step.kind in ("block", "reactivate"):
        _user(world, value.user).active = step.kind == "reactivate"
    elif step.kind == "unassign":
        _user(world, value.user).assigned = False
    elif step.kind == "delete":
        ref: UserRef = value
        world.deleted[ref.user] = copy.deepcopy(_user(world, ref.user))
        directory.remove_user(world.user_name(ref.user))
    elif step.kind == "provision":
        cycle: Provision = value
        provision(world, cycle.cycle, cycle.dialect or world.run.dialect)
    else:  # pragma: no cover - the loader knows every step
        raise StepError(f"no action for step '{step.kind}'")


# -- signing in ------------------------------------------------------------------------------


def attempt_sign_in(world: World, request: SignIn, run: ScenarioRun) -> SignInAttempt:
    session = request.session or request.user
    if request.mutators:
        world.idp.plan_next(*request.mutators)
    if request.idp == "other":
        other = world.other_idp()
        user = _user(world, request.user)
        if other.directory.get_user(user.user_name) is None:
            other.add_user(user.user_name, password=PASSWORD, email=user.user_name)
        attempt = sign_in(
            world.browser(session),
            sp_base=world.sp_base,
            idp_base=other.base_url,
            sp_entity_id=world.sp_entity_id,
            user_name=user.user_name,
            password=PASSWORD,
            via="idp",
            probes=world.probes,
        )
        world.evidence.append({"sign_in": request.user, "exchange": attempt.exchange})
        return attempt
    if request.browser:
        from harness.browser_signin import browser_sign_in

        attempt = browser_sign_in(
            world,
            session=session,
            user_name=world.user_name(request.user),
            password=PASSWORD,
            via=request.via,
            relay_state=request.relay_state,
        )
        world.evidence.append({"sign_in": request.user, "exchange": attempt.exchange})
        return attempt
    attempt = sign_in(
        world.browser(session),
        sp_base=world.sp_base,
        idp_base=world.idp_base,
        sp_entity_id=world.sp_entity_id,
        user_name=world.user_name(request.user),
        password=PASSWORD,
        via=request.via,
        relay_state=request.relay_state,
        probes=world.probes,
    )
    world.evidence.append({"sign_in": request.user, "exchange": attempt.exchange})
    return attempt


def _sign_in_verdicts(
    world: World, request: SignIn, attempt: SignInAttempt, line: int
) -> Iterator[Verdict]:
    evidence = {"exchange": attempt.exchange}
    if request.expect == "signed-in":

        def signed_in() -> None:
            if not attempt.signed_in:
                raise CheckFailed(
                    f"{request.user} was not signed in",
                    expected="a session for " + world.user_name(request.user),
                    observed=f"refused by the {attempt.refused_by}: {attempt.reason}",
                    evidence=evidence,
                )

        yield _observe(catalog.SIGNS_IN, line, signed_in)
        if request.relay_state and attempt.signed_in:

            def landed() -> None:
                if attempt.landed_on != request.relay_state:
                    raise CheckFailed(
                        "the SP did not land the user on the deep link",
                        expected=request.relay_state,
                        observed=str(attempt.landed_on),
                        evidence=evidence,
                    )

            yield _observe(catalog.LANDS_ON_DEEP_LINK, line, landed)
        return

    def refused() -> None:
        if attempt.signed_in:
            raise CheckFailed(
                f"{request.user} was signed in",
                expected=f"refused ({request.reason or 'any reason'})",
                observed="a session",
                evidence=evidence,
            )
        if request.reason and attempt.reason != request.reason:
            raise CheckFailed(
                "refused for another reason",
                expected=request.reason,
                observed=f"{attempt.reason} (by the {attempt.refused_by})",
                evidence=evidence,
            )

    check = catalog.ORGANISATIONS_ISOLATED if request.idp == "other" else catalog.REFUSED
    if request.mutators:  # the rule judged is the one the (last) mutator breaks
        check = catalog.REFUSES_MUTATED.get(request.mutators[-1], catalog.REFUSED)
    yield _observe(check, line, refused)


# -- observing the SP ------------------------------------------------------------------------


def _me(world: World, session: str) -> dict[str, Any] | None:
    if not world.has_browser(session):
        return None
    response = world.browser(session).get(world.url(world.probes.me))
    return response.json() if response.status_code == 200 else None


def _fresh_session(world: World, ref: str) -> tuple[str, SignInAttempt]:
    name = f"probe:{ref}"
    world.forget_browser(name)
    attempt = attempt_sign_in(world, SignIn(user=ref, session=name), world.run)
    return name, attempt


def _session_for(world: World, ref: str) -> tuple[str | None, SignInAttempt | None]:
    """The user's open session if there is one (so rules are judged on sessions already open),
    else a fresh sign-in; None when the user cannot sign in."""
    if _me(world, ref) is not None:
        return ref, None
    name, attempt = _fresh_session(world, ref)
    return (name if attempt.signed_in else None), attempt


@contextmanager
def idp_vouches_for(world: World, ref: str) -> Iterator[None]:
    """Let the IdP sign ``ref`` in even when its directory no longer would (blocked or
    deleted): an IdP session outliving the block, or an IdP that deprovisions only over SCIM.
    What the SP then does is the SP's own rule (BIZ-SIGNIN-1), which is what is judged."""
    directory = world.idp.directory
    user = directory.get_user(world.user_name(ref))
    if user is None:
        snapshot = world.deleted.get(ref)
        if snapshot is None:
            yield
            return
        directory.add_user(copy.deepcopy(snapshot))
        try:
            yield
        finally:
            directory.remove_user(snapshot.user_name)
        return
    was_active = user.active
    user.active = True
    try:
        yield
    finally:
        user.active = was_active


def expect(world: World, expectation: Expectation, line: int) -> Iterator[Verdict]:
    ref = expectation.user
    if expectation.sign_in is not None and ref is not None:
        request = SignIn(
            user=ref,
            session=f"expect:{ref}",
            expect=expectation.sign_in,
            reason=expectation.reason if expectation.sign_in == "refused" else None,
        )
        world.forget_browser(f"expect:{ref}")
        with idp_vouches_for(world, ref):
            attempt = attempt_sign_in(world, request, world.run)
        yield from _sign_in_verdicts(world, request, attempt, line)
    if expectation.open_session is not None and ref is not None:
        yield _observe(
            catalog.SESSION_ENDED
            if expectation.open_session == "ended"
            else catalog.SESSION_ACTIVE,
            line,
            lambda: _session_state(world, ref, expectation.open_session or "active"),
        )
    if expectation.admin is not None and ref is not None:
        yield _observe(catalog.ADMIN, line, lambda: _admin(world, ref, bool(expectation.admin)))
    if expectation.license is not None and ref is not None:
        yield _observe(
            catalog.LICENSE, line, lambda: _license(world, ref, expectation.license or "none")
        )
    if expectation.check_in is not None and expectation.device is not None:
        yield _observe(
            catalog.CHECK_IN,
            line,
            lambda: _check_in(
                world,
                expectation.device or "",
                expectation.check_in or "active",
                expectation.reason,
            ),
        )
    if expectation.scim is not None and ref is not None:
        yield _observe(catalog.SCIM_STATE, line, lambda: _scim_state(world, ref, expectation))


def _session_state(world: World, ref: str, wanted: str) -> None:
    if not world.has_browser(ref):
        raise StepError(f"'{ref}' has no session to look at: sign them in first")
    me = _me(world, ref)
    state = "active" if me is not None else "ended"
    if state != wanted:
        raise CheckFailed(
            f"the session of {ref} is {state}",
            expected=wanted,
            observed=state,
            evidence={"GET /api/me": me},
        )


def _admin(world: World, ref: str, wanted: bool) -> None:
    session, attempt = _session_for(world, ref)
    if session is None:
        if wanted:
            raise CheckFailed(
                f"{ref} cannot sign in, so cannot administer",
                expected="admin access",
                observed=f"sign-in refused: {attempt.reason if attempt else '?'}",
                evidence={"exchange": attempt.exchange if attempt else []},
            )
        return
    response = world.browser(session).get(
        world.url(world.probes.admin), headers={"Accept": "application/json"}
    )
    has_access = response.status_code == 200
    if has_access != wanted:
        raise CheckFailed(
            f"{ref} {'has' if has_access else 'lacks'} admin access",
            expected="GET /admin 200" if wanted else "GET /admin 403",
            observed=f"GET /admin {response.status_code}",
            evidence={"session": session, "GET /api/me": _me(world, session)},
        )


def admin_view(world: World, exclude: str) -> dict[str, Any] | None:
    """The SP's admin page (JSON) as seen by any user of the world who administers it."""
    for user in world.idp.directory.users():
        ref = world.ref_of(user.user_name)
        if ref == exclude or not user.active:
            continue
        session, _ = _session_for(world, ref)
        if session is None:
            continue
        response = world.browser(session).get(
            world.url(world.probes.admin), headers={"Accept": "application/json"}
        )
        if response.status_code == 200:
            return response.json()  # type: ignore[no-any-return]
    return None


def _license(world: World, ref: str, wanted: str) -> None:
    """The user's license as the user sees it (``/api/me``) or, when the user can no longer
    sign in, as an administrator of the account sees it (the admin page's user list)."""
    session, attempt = _session_for(world, ref)
    evidence: dict[str, Any] = {"sign-in": attempt.reason if attempt else None}
    if session is not None:
        me = _me(world, session)
        evidence["GET /api/me"] = me
        state = str(dotted(me or {}, world.probes.license_field) or "none")
    else:
        view = admin_view(world, ref)
        user_name = world.user_name(ref).lower()
        rows = [
            u for u in (view or {}).get("users", []) if u.get("userName", "").lower() == user_name
        ]
        evidence["admin view"] = rows if view is not None else "no administrator could sign in"
        state = str(rows[0].get("license", "none")) if rows else "none"
    if state != wanted:
        raise CheckFailed(
            f"the license of {ref} is {state}",
            expected=wanted,
            observed=state,
            evidence=evidence,
        )


def activate_device(world: World, request: ActivateDevice, line: int) -> Iterator[Verdict]:
    with world.client() as http:
        started = http.post(
            world.url(world.probes.activations),
            json={
                "product": request.product,
                "clientVersion": request.client_version,
                "deviceId": f"device-{request.as_}",
            },
        )
    body = (
        started.json()
        if started.headers.get("content-type", "").startswith("application/json")
        else {}
    )
    evidence: dict[str, Any] = {
        "POST /api/activations": {"status": started.status_code, "body": body}
    }
    reason: str | None = None
    activated = False
    if started.status_code == 201:
        device = Device(request.as_, body.get("id"), body.get("checkInUrl"))
        world.devices[request.as_] = device
        session, attempt = _session_for(world, request.user)
        if session is None:
            reason = attempt.reason if attempt else "cannot-sign-in"
        else:
            browser = world.browser(session)
            page = browser.get(body["activationUrl"])
            form = form_with(page.text, str(page.url), "csrf", action_contains="/activate/")
            if form is None:
                reason = "no-confirmation-form"
                evidence["activation page"] = page.text[:2000]
            else:
                done = browser.post(
                    form.action, data=form.fields, headers={"Accept": "application/json"}
                )
                evidence["confirm"] = {"status": done.status_code}
                if done.status_code >= 400:
                    reason = str(done.json().get("reason"))
                else:
                    check = http_get_json(world, device.check_in_url)
                    activated = check.get("status") == "active"
                    evidence["check-in"] = check
    else:
        reason = str(body.get("error") or body.get("reason") or started.status_code)

    def judged() -> None:
        if request.expect == "activated" and not activated:
            raise CheckFailed(
                f"the device {request.as_} was not activated",
                expected="activated",
                observed=f"refused: {reason}",
                evidence=evidence,
            )
        if request.expect == "refused":
            if activated:
                raise CheckFailed(
                    f"the device {request.as_} was activated",
                    expected=f"refused ({request.reason or 'any reason'})",
                    observed="activated",
                    evidence=evidence,
                )
            if request.reason and reason != request.reason:
                raise CheckFailed(
                    "refused for another reason",
                    expected=request.reason,
                    observed=str(reason),
                    evidence=evidence,
                )

    yield _observe(catalog.ACTIVATION, line, judged)


def http_get_json(world: World, url: str | None) -> dict[str, Any]:
    if not url:
        return {}
    with world.client() as http:
        response = http.get(url)
    try:
        body = response.json()
    except ValueError:
        return {"status": f"HTTP {response.status_code}"}
    return body if isinstance(body, dict) else {}


def _check_in(world: World, name: str, wanted: str, reason: str | None) -> None:
    device = world.devices.get(name)
    if device is None:
        raise StepError(f"no device '{name}': activate_device with as: {name} first")
    body = http_get_json(world, device.check_in_url)
    status = body.get("status")
    if status != wanted or (reason is not None and body.get("reason") != reason):
        raise CheckFailed(
            f"the check-in of {name} answers {status}",
            expected=wanted + (f" ({reason})" if reason else ""),
            observed=f"{status} ({body.get('reason')})",
            evidence={"GET check-in": body},
        )


def _scim_state(world: World, ref: str, expectation: Expectation) -> None:
    wanted = expectation.scim
    assert wanted is not None
    with world.client() as http:
        found = http.get(
            f"{world.scim_url}/Users",
            params={"filter": f'userName eq "{world.user_name(ref)}"'},
            headers={"Authorization": f"Bearer {world.scim_token}"},
        ).json()
    resources = found.get("Resources", [])
    user = resources[0] if resources else None
    observed = {
        "exists": user is not None,
        "active": bool(user.get("active", True)) if user else None,
        "groups": sorted(g.get("display", "") for g in user.get("groups", [])) if user else None,
    }
    problems = []
    if wanted.exists is not None and observed["exists"] != wanted.exists:
        problems.append("exists")
    if wanted.active is not None and observed["active"] != wanted.active:
        problems.append("active")
    if wanted.groups is not None and observed["groups"] != sorted(wanted.groups):
        problems.append("groups")
    if problems:
        raise CheckFailed(
            f"the SP's SCIM state of {ref} differs in {', '.join(problems)}",
            expected=wanted.model_dump_json(exclude_none=True),
            observed=str(observed),
            evidence={"GET /Users": found},
        )


def sign_out(world: World, ref: str, line: int) -> Iterator[Verdict]:
    if not world.has_browser(ref):
        raise StepError(f"'{ref}' has no session to sign out of")
    browser = world.browser(ref)
    page = browser.get(world.url(world.probes.account))
    form = form_with(page.text, str(page.url), "csrf", action_contains="/logout")
    exchange: list[dict[str, Any]] = []
    if form is not None:
        response = browser.post(world.url(world.probes.logout), data=form.fields)
        exchange.append({"request": "POST /logout", "status": response.status_code})
        for _ in range(10):
            if response.status_code not in (301, 302, 303, 307):
                break
            response = browser.get(response.headers["location"])
            exchange.append({"request": str(response.request.url), "status": response.status_code})
            saml = form_with(response.text, str(response.url), "SAMLResponse") or form_with(
                response.text, str(response.url), "SAMLRequest"
            )
            if saml is not None:
                response = browser.post(saml.action, data=saml.fields)
                exchange.append({"request": f"POST {saml.action}", "status": response.status_code})

    def signed_out() -> None:
        me = _me(world, ref)
        if me is not None:
            raise CheckFailed(
                f"{ref} is still signed in after single logout",
                expected="no session",
                observed="GET /api/me 200",
                evidence={"exchange": exchange},
            )

    yield _observe(catalog.SIGNED_OUT, line, signed_out)
