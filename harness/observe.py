"""Observing the SP under test through its public surface (its probes, its SCIM endpoint), the
way a QA engineer would look, and handing each observation to the check that judges it.

Every observation first asks whether it can be made at all: a feature the target lacks, a
session that was never opened, a device that was never activated. Those are skipped with the
reason (``world.broken`` keeps why a step failed), never passed.
"""

from __future__ import annotations

from typing import Any

import httpx

from harness.checks import catalog
from harness.checks.business import (
    ActivationObservation,
    AdminObservation,
    CheckInObservation,
    LicenseObservation,
)
from harness.checks.scim import ScimObservation
from harness.checks.session import LogoutObservation, SessionObservation
from harness.forms import form_with, post_form
from harness.scenario.model import ActivateDevice, ScimState
from harness.sessions import identity_in, session_for
from harness.signin import ACCEPT, REDIRECTS, read_identity
from harness.targets import dotted
from harness.verdicts import StepError, Verdict, judged, not_judged
from harness.world import Device, World, device_key, session_key

MAX_LOGOUT_HOPS = 16


def _lacks(world: World, feature: str, what: str) -> str | None:
    if world.features.has(feature):
        return None
    return f"the target has no {what} (features.{feature})"


# -- sessions --------------------------------------------------------------------------------


def expect_session(world: World, ref: str, wanted: str, line: int) -> Verdict:
    check = catalog.SESSION_ENDED if wanted == "ended" else catalog.SESSION_ACTIVE
    not_open = world.broken.get(session_key(ref))
    if not_open is None and not world.has_http_session(ref):
        not_open = "they never signed in"
    identity, answer = None, None
    if not_open is None:
        identity, answer = read_identity(world.http_session(ref), world.sp_base, world.probes)
    seen = SessionObservation(ref, world.user_name(ref), wanted, identity, not_open, answer)
    return judged(check, line, seen)


def sign_out(world: World, ref: str, line: int) -> Verdict:
    """Sign out as the user would: GET the logout probe, submit the sign-out form the page
    holds (if it holds one), and follow the single logout's redirects and auto-submitting SAML
    forms between the SP and the IdP."""
    before = identity_in(world, ref)
    if before is None and session_key(ref) in world.broken:
        return judged(
            catalog.SIGNED_OUT,
            line,
            LogoutObservation(ref, None, None, world.broken[session_key(ref)]),
        )
    exchange: list[dict[str, Any]] = []
    not_started = None
    sp = world.idp.sps.get(world.sp_entity_id)
    if sp is not None and sp.metadata.front_channel_slo_endpoint() is None:
        not_started = (
            "the SP's metadata lists no SingleLogoutService on HTTP-Redirect or HTTP-POST, so "
            "the IdP cannot answer it in the browser"
        )
    elif before is not None:
        not_started = follow_logout(
            world.http_session(ref), world.url(world.probes.logout), exchange
        )
    after = identity_in(world, ref) if before is not None else None
    seen = LogoutObservation(ref, before, after, not_started, exchange)
    return judged(catalog.SIGNED_OUT, line, seen)


def follow_logout(client: Any, logout_url: str, exchange: list[dict[str, Any]]) -> str | None:
    """Run the sign-out from ``logout_url``; why it could not be started (None: it was)."""
    response = client.get(logout_url)
    exchange.append({"request": f"GET {response.request.url}", "status": response.status_code})
    if response.status_code >= 400:
        return f"GET {logout_url} answered {response.status_code}"
    form = form_with(response.text, str(response.url), action_contains="logout")
    if form is not None and response.status_code == 200:
        response = post_form(client, form.action, form.fields)
        exchange.append({"request": f"POST {form.action}", "status": response.status_code})
    for _ in range(MAX_LOGOUT_HOPS):
        if response.status_code in REDIRECTS and "location" in response.headers:
            response = client.get(response.url.join(response.headers["location"]))
            exchange.append({"request": str(response.request.url), "status": response.status_code})
            continue
        saml = form_with(response.text, str(response.url), "SAMLResponse") or form_with(
            response.text, str(response.url), "SAMLRequest"
        )
        if saml is None:
            break
        response = post_form(client, saml.action, saml.fields)
        exchange.append({"request": f"POST {saml.action}", "status": response.status_code})
    return None


# -- business rules --------------------------------------------------------------------------


def expect_admin(world: World, ref: str, wanted: bool, line: int) -> Verdict:
    lacking = _lacks(world, "admin", "admin role")
    if lacking is not None:
        return next(not_judged([catalog.ADMIN], line, lacking))
    session, attempt = session_for(world, ref)
    evidence: dict[str, Any] = {"exchange": attempt.exchange if attempt else []}
    status = None
    custom = world.probes.custom.get("is_admin")
    if session is not None and custom is not None:
        status = 200 if custom(world.http_session(session), world.sp_base) else 403
        evidence = {"session": session, "is_admin": status == 200}
    elif session is not None:
        response = world.http_session(session).get(world.url(world.probes.admin), headers=ACCEPT)
        status = response.status_code
        evidence = {"session": session, "admin probe": status}
    seen = AdminObservation(
        ref,
        wanted,
        signed_in=session is not None,
        sign_in=attempt.describe() if attempt else "an open session",
        status=status,
        evidence=evidence,
    )
    return judged(catalog.ADMIN, line, seen)


def admin_view(world: World, exclude: str) -> dict[str, Any] | None:
    """The SP's admin page (JSON) as seen by any user of the world who administers it: first
    through the session that showed it last, if it still does (the page shows the account as
    it is now, whoever asks), else through a session of each active user in turn."""
    if not world.features.admin:
        return None
    active = [world.ref_of(user.user_name) for user in world.idp.directory.users() if user.active]
    if world.admin_viewer is not None:
        ref, session = world.admin_viewer
        if ref != exclude and ref in active and world.has_http_session(session):
            response = _admin_page(world, session)
            if response.status_code == 200:
                return _view(response)
        world.admin_viewer = None
    for ref in active:
        if ref == exclude:
            continue
        found, _ = session_for(world, ref)
        if found is None:
            continue
        response = _admin_page(world, found)
        if response.status_code == 200:
            world.admin_viewer = (ref, found)
            return _view(response)
    return None


def _admin_page(world: World, session: str) -> httpx.Response:
    return world.http_session(session).get(world.url(world.probes.admin), headers=ACCEPT)


def _view(response: httpx.Response) -> dict[str, Any] | None:
    try:
        view = response.json()
    except ValueError:
        return None
    return view if isinstance(view, dict) else None


def expect_license(world: World, ref: str, wanted: str, line: int) -> Verdict:
    """The user's license as the user sees it (the me probe) or, when the user can no longer
    sign in, as an administrator of the account sees it (the admin page's user list)."""
    lacking = _lacks(world, "licenses", "per-user licenses")
    if lacking is not None:
        return next(not_judged([catalog.LICENSE], line, lacking))
    session, attempt = session_for(world, ref)
    evidence: dict[str, Any] = {"sign-in": attempt.describe() if attempt else "an open session"}
    state: str | None
    custom = world.probes.custom.get("license_state")
    if session is not None and custom is not None:
        state = str(custom(world.http_session(session), world.sp_base))
        evidence["license_state"] = state
    elif session is not None:
        response = world.http_session(session).get(world.url(world.probes.me), headers=ACCEPT)
        try:
            me = response.json()
        except ValueError:
            me = {}
        evidence["me probe"] = me
        state = str(dotted(me, world.probes.license_field) or "none")
    else:
        view = admin_view(world, ref)
        user_name = world.user_name(ref).lower()
        rows = [
            u for u in (view or {}).get("users", []) if u.get("userName", "").lower() == user_name
        ]
        evidence["admin view"] = rows if view is not None else "no administrator could sign in"
        state = None if view is None else (str(rows[0].get("license", "none")) if rows else "none")
    return judged(catalog.LICENSE, line, LicenseObservation(ref, wanted, state, evidence))


def _json(response: Any) -> dict[str, Any]:
    if "json" not in response.headers.get("content-type", ""):
        return {}  # application/json or application/scim+json

    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def activate_device(world: World, request: ActivateDevice, line: int) -> Verdict:
    lacking = _lacks(world, "activations", "device activations")
    if lacking is not None:
        world.broken[device_key(request.as_)] = lacking
        return next(not_judged([catalog.ACTIVATION], line, lacking))
    probes = world.probes
    if "activate_device" in probes.custom:
        return _activate_with_module(world, request, line)
    with world.client() as http:
        started = http.post(
            world.url(probes.activations),
            json={
                "product": request.product,
                "clientVersion": request.client_version,
                "deviceId": f"device-{request.as_}",
            },
        )
    body = _json(started)
    evidence: dict[str, Any] = {"start": {"status": started.status_code, "body": body}}
    reason: str | None = None
    reason_told = False
    activated = False
    not_started = None
    if started.status_code == 201:
        device = Device(request.as_, body.get("id"), body.get(probes.check_in_url_field))
        world.devices[request.as_] = device
        session, attempt = session_for(world, request.user)
        if session is None:
            reason = attempt.describe() if attempt else "cannot sign in"
        else:
            reason, reason_told, activated = _complete_activation(
                world, session, str(body.get(probes.activation_url_field) or ""), device, evidence
            )
    else:
        reason = str(body.get("reason") or f"HTTP {started.status_code}")
        reason_told = bool(body.get("reason"))
        if started.status_code >= 500 or started.status_code in (404, 405):
            not_started = f"the activation probe answered {started.status_code}"
    if not activated:
        world.broken[device_key(request.as_)] = f"its activation at line {line} failed: {reason}"
    seen = ActivationObservation(
        request.as_,
        request.expect,
        activated,
        reason,
        reason_told,
        request.reason,
        not_started,
        evidence,
    )
    return judged(catalog.ACTIVATION, line, seen)


def _activate_with_module(world: World, request: ActivateDevice, line: int) -> Verdict:
    """A device activation through the target's probe module (its own business API)."""
    session, attempt = session_for(world, request.user)
    handle: str | None = None
    reason: str | None = attempt.describe() if attempt and session is None else None
    if session is not None:
        handle, reason = world.probes.custom["activate_device"](
            world.http_session(session),
            world.sp_base,
            product=request.product,
            client_version=request.client_version,
            device_id=f"device-{request.as_}",
        )
    activated = handle is not None and reason is None
    if handle is not None:
        world.devices[request.as_] = Device(request.as_, None, handle)
    if not activated:
        world.broken[device_key(request.as_)] = f"its activation at line {line} failed: {reason}"
    seen = ActivationObservation(
        request.as_,
        request.expect,
        activated,
        reason,
        reason_told=reason is not None and session is not None,
        expected_reason=request.reason,
        evidence={"activate_device": {"handle": handle, "reason": reason}},
    )
    return judged(catalog.ACTIVATION, line, seen)


def _complete_activation(
    world: World, session: str, url: str, device: Device, evidence: dict[str, Any]
) -> tuple[str | None, bool, bool]:
    """Confirm the activation in the user's browser; (reason, reason told, activated)."""
    client = world.http_session(session)
    page = client.get(url) if url else None
    form = (
        form_with(page.text, str(page.url), "csrf", action_contains="/activate/") if page else None
    )
    if page is None or form is None:
        evidence["activation page"] = page.text[:2000] if page is not None else "no activation URL"
        return "no-confirmation-form", False, False
    done = post_form(client, form.action, form.fields, ACCEPT)
    evidence["confirm"] = {"status": done.status_code}
    if done.status_code >= 400:
        told = _json(done).get("reason")
        return (str(told) if told else f"HTTP {done.status_code}"), bool(told), False
    check = _check_in(world, device.check_in_url)
    evidence["check-in"] = check
    return None, False, check.get(world.probes.check_in_field) == "active"


def _check_in(world: World, url: str | None) -> dict[str, Any]:
    if not url:
        return {}
    custom = world.probes.custom.get("check_in")
    if custom is not None:
        with world.client() as http:
            return {world.probes.check_in_field: custom(http, world.sp_base, url)}
    with world.client() as http:
        response = http.get(url)
    try:
        body = response.json()
    except ValueError:
        return {"status": f"HTTP {response.status_code}"}
    return body if isinstance(body, dict) else {}


def expect_check_in(world: World, name: str, wanted: str, reason: str | None, line: int) -> Verdict:
    device = world.devices.get(name)
    failed = world.broken.get(device_key(name))
    if device is None and failed is None:
        raise StepError(f"no device '{name}': activate_device with as: {name} first")
    if failed is not None or device is None:
        seen = CheckInObservation(name, wanted, None, not_activated=failed)
        return judged(catalog.CHECK_IN, line, seen)
    body = _check_in(world, device.check_in_url)
    seen = CheckInObservation(
        name,
        wanted,
        body.get(world.probes.check_in_field),
        body.get("reason"),
        reason,
        evidence={"check-in": body},
    )
    return judged(catalog.CHECK_IN, line, seen)


# -- SCIM ------------------------------------------------------------------------------------


def expect_scim(world: World, ref: str, wanted: ScimState, line: int) -> Verdict:
    if world.scim_url is None:
        return next(not_judged([catalog.SCIM_STATE], line, "the target has no SCIM"))
    if "provisioning" in world.broken:
        reason = f"the provisioning failed: {world.broken['provisioning']}"
        return next(not_judged([catalog.SCIM_STATE], line, reason))
    headers = {"Authorization": f"Bearer {world.scim_token}"}
    with world.client() as http:
        response = http.get(
            f"{world.scim_url}/Users",
            params={"filter": f'userName eq "{world.user_name(ref)}"'},
            headers=headers,
        )
        found = _json(response) if response.status_code == 200 else {}
        resources = found.get("Resources", [])
        user = resources[0] if resources else None
        groups = None if user is None else _groups_of(world, http, headers, user)
    observed = {
        "exists": user is not None,
        "active": bool(user.get("active", True)) if user else None,
        "groups": groups,
    }
    expected = {
        "exists": wanted.exists,
        "active": wanted.active,
        "groups": sorted(wanted.groups) if wanted.groups is not None else None,
    }
    evidence = {"GET /Users": found or {"status": response.status_code}}
    return judged(catalog.SCIM_STATE, line, ScimObservation(ref, expected, observed, evidence))


def _groups_of(
    world: World, http: httpx.Client, headers: dict[str, str], user: dict[str, Any]
) -> list[str] | None:
    """The names of the user's groups: the User's own ``groups`` where the server fills it in,
    else the groups whose members name the user (``groups`` is readOnly and optional, RFC 7643
    §4.1.2: a server may leave it out)."""
    if "groups" in user:
        return sorted(g.get("display", "") for g in user["groups"])
    response = http.get(
        f"{world.scim_url}/Groups",
        params={"filter": f'members[value eq "{user.get("id")}"]', "attributes": "displayName"},
        headers=headers,
    )
    if response.status_code != 200:
        return None
    return sorted(g.get("displayName", "") for g in _json(response).get("Resources", []))
