"""The steps of an IdP-under-test scenario: make the IdP act, then judge what it sent.

Directory changes and provisioning go to the IdP's driver (its API, a script, or an operator).
``idp_sign_in`` makes the IdP sign a user in to the reference SP and judges the Response the
SP's tap recorded against every IdP-side rule, then the sign-in's effect (the SP's session).
``idp_sign_out`` judges the IdP's logout messages; ``idp_metadata`` its metadata;
``idp_scim_requests`` every SCIM request it sent since the last such step.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx

from harness.checks import catalog
from harness.checks.idp_logout import IDP_LOGOUT_CHECKS
from harness.checks.idp_metadata import IDP_METADATA_CHECKS
from harness.checks.idp_observations import (
    IdpLogoutSeen,
    IdpMetadataSeen,
    ScimRequestSeen,
)
from harness.checks.idp_saml import IDP_RESPONSE_CHECKS
from harness.checks.idp_scim import IDP_SCIM_CHECKS
from harness.checks.model import Check, CheckFailed, CheckSkipped, Observed
from harness.checks.sign_in import SignInCase
from harness.idp_crafted import crafted_sign_in
from harness.idp_drivers import DriverError, SignInStart
from harness.idp_responses import (
    judge_response,
    message_evidence,
    posted_xml,
    pretty,
    response_seen,
)
from harness.idp_target import TestAccount
from harness.idp_world import IdpWorld, now
from harness.observe import follow_logout
from harness.protocol.refusal import Refusal
from harness.protocol.saml import constants as saml
from harness.protocol.saml.bindings import decode_redirect_query
from harness.results import IDP_MESSAGE
from harness.saml_tap import TappedMessage
from harness.scenario.model import IdpSignIn, Step, UserRef
from harness.signin import ACCEPT, SignInAttempt, same_user
from harness.targets import Probes
from harness.verdicts import StepError, Verdict, judged, not_judged

_SIGN_IN_CHECKS = (*IDP_RESPONSE_CHECKS, catalog.SIGNS_IN)
_GROUPED = ("add_to_group", "remove_from_group")


def _account(world: IdpWorld, ref: str) -> TestAccount:
    try:
        return world.account(ref)
    except KeyError:
        raise StepError(f"no test account '{ref}' in the IdP under test") from None


def _directory(world: IdpWorld, step: Step) -> None:
    value = step.value
    if step.kind == "hire":
        account = world.accounts.setdefault(value.ref, TestAccount(f"{value.ref}@example.com"))
        world.driver.hire(account, value.groups, active=True)
    elif step.kind == "provision":
        world.driver.provision(value.cycle)
    elif step.kind in _GROUPED:
        world.driver.change(step.kind, _account(world, value.user), value.group)
    else:
        world.driver.change(step.kind, _account(world, value.user))


def _identity(world: IdpWorld, tapped: TappedMessage) -> tuple[str | None, Any]:
    """Who the SP signed in with this Response: its me probe, with the session cookie the SP
    set in its answer (the browser may be an operator's, out of the harness's reach)."""
    cookies = "; ".join(c.split(";", 1)[0] for c in tapped.set_cookies)
    if not cookies:
        return None, {"sp answered": tapped.status, "session cookie": None}
    with world.client(headers={"Cookie": cookies, **ACCEPT}) as http:
        answer = http.get(f"{world.sp_base}{Probes().me}")
    identity = Probes().identity(
        answer.status_code, answer.headers.get("content-type", ""), answer.text
    )
    return identity, {"sp answered": tapped.status, "me": answer.status_code}


def _sign_in(world: IdpWorld, request: IdpSignIn, line: int) -> list[Verdict]:
    account = _account(world, request.user)
    if request.request != "sp":
        return crafted_sign_in(world, request, account, line)
    if request.via == "idp" and not world.idp_initiated:
        reason = "the IdP under test does not declare IdP-initiated sign-in"
        return list(not_judged(_SIGN_IN_CHECKS, line, reason))
    before = len(world.tap.messages)
    relay = request.relay_state
    query = {"email": account.user_name} | ({"RelayState": relay} if relay else {})
    login_url = str(httpx.URL(f"{world.sp_base}/saml/login", params=query))
    start = SignInStart(
        account, request.via, world.sp_base, world.sp_side.entity_id, login_url, relay
    )
    try:
        exchange = world.driver.deliver(world.http_session(request.user), start)
    except DriverError as exc:
        return list(not_judged(_SIGN_IN_CHECKS, line, str(exc)))
    # The drivers return once the IdP's answer was posted (an operator's, once it arrived).
    tapped = world.tap.wait_for(
        before, world.driver.arrival_grace_s, lambda m: m.path == "/saml/acs"
    )
    if tapped is None:
        reason = "no SAML Response reached the SP's ACS"
        return [
            Verdict(c, None, 0.0, line, CheckSkipped(reason, evidence={"exchange": exchange}))
            for c in _SIGN_IN_CHECKS
        ]
    sent = world.tap.last_request() if request.via == "sp" else None
    seen = response_seen(
        world,
        tapped,
        request.user,
        request_id=sent.id if sent else None,
        name_id_format=sent.name_id_format if sent else None,
        relay_state=relay,
    )
    verdicts = judge_response(world, seen, request.user, line)
    identity, answer = _identity(world, tapped)
    attempt = SignInAttempt(
        signed_in=same_user(identity, account.user_name),
        delivered=True,
        identity=identity,
        exchange=[*exchange, answer],
    )
    case = SignInCase(request.user, account.user_name, attempt)
    signs_in = judged(catalog.SIGNS_IN, line, case)
    message = message_evidence(seen, verdicts)
    if signs_in.failure is not None:
        signs_in.failure.evidence.update(message)
    elif signs_in.skipped is None:
        held = signs_in.held or Observed(f"signed in as {identity}")
        held = dataclasses.replace(held, evidence={**held.evidence, **message})
        signs_in = dataclasses.replace(signs_in, held=held)
    return [*verdicts, signs_in]


def _logout_seen(world: IdpWorld, tapped: TappedMessage) -> IdpLogoutSeen:
    sent = world.tap.last_request("LogoutRequest")
    if tapped.method == "GET":
        parameter = "SAMLResponse" if tapped.value("SAMLResponse") else "SAMLRequest"
        try:
            xml = decode_redirect_query(tapped.query).message
        except Refusal:
            xml = (tapped.value(parameter) or "").encode()
        binding, query = saml.BINDING_HTTP_REDIRECT, tapped.query
    else:
        parameter = "SAMLResponse" if "SAMLResponse" in tapped.fields else "SAMLRequest"
        xml, binding, query = posted_xml(tapped, parameter), saml.BINDING_HTTP_POST, None
    return IdpLogoutSeen(
        xml=xml,
        binding=binding,
        query=query,
        sp=world.sp_side,
        idp=world.idp,
        received_at=tapped.at,
        request_id=sent.id if sent is not None else None,
        evidence={IDP_MESSAGE: pretty(xml)},
    )


def _sign_out(world: IdpWorld, who: UserRef, line: int) -> list[Verdict]:
    """The user signs out at the SP: the SP's LogoutRequest goes to the IdP, whose answer (and
    any LogoutRequest of its own) reaches the SP's SLO endpoint, where it is judged."""
    checks = (*IDP_LOGOUT_CHECKS, catalog.SIGNED_OUT)
    if not world.single_logout:
        return list(not_judged(checks, line, "the IdP under test offers no single logout"))
    before = len(world.tap.messages)
    exchange: list[dict[str, Any]] = []
    not_started = follow_logout(
        world.http_session(who.user), f"{world.sp_base}{Probes().logout}", exchange
    )
    tapped = world.tap.wait_for(
        before, world.driver.arrival_grace_s, lambda m: m.path == "/saml/slo"
    )
    if not_started is not None or tapped is None:
        reason = not_started or "no logout message of the IdP reached the SP's SLO endpoint"
        return list(not_judged(checks, line, reason))
    seen = _logout_seen(world, tapped)
    identity, _ = _identity(world, tapped) if tapped.set_cookies else (None, None)
    verdicts = [judged(check, line, seen) for check in IDP_LOGOUT_CHECKS]
    signed_out = Verdict(
        catalog.SIGNED_OUT,
        None
        if identity is None
        else CheckFailed("the SP session outlived the single logout", observed=identity),
        0.0,
        line,
    )
    return [*verdicts, signed_out]


def _metadata(world: IdpWorld, _: object, line: int) -> list[Verdict]:
    seen = IdpMetadataSeen(world.idp_xml, world.idp_source, now())
    return [judged(check, line, seen) for check in IDP_METADATA_CHECKS]


def _scim_requests(world: IdpWorld, _: object, line: int) -> list[Verdict]:
    """Each SCIM check over every request since the last judging: it holds when it holds for
    all; a failure names the first request that broke it and how many did."""
    if not world.provisions:
        reason = "the IdP under test does not provision over SCIM"
        return list(not_judged(IDP_SCIM_CHECKS, line, reason))
    entries = world.scim_requests(world.scim_judged)
    if not entries:
        reason = "the IdP sent no SCIM request since the last judging"
        return list(not_judged(IDP_SCIM_CHECKS, line, reason))
    world.scim_judged = entries[-1]["seq"]
    seen = [ScimRequestSeen(entry, world.vendor) for entry in entries]
    return [_over_all(check, line, seen) for check in IDP_SCIM_CHECKS]


def _over_all(check: Check, line: int, seen: list[ScimRequestSeen]) -> Verdict:
    verdicts = [judged(check, line, one) for one in seen]
    failed = [v for v in verdicts if v.failure is not None]
    duration = sum(v.duration_s for v in verdicts)
    if failed:
        first = failed[0].failure
        assert first is not None
        first.message = f"{first.message} ({len(failed)} of {len(seen)} requests)"
        return Verdict(check, first, duration, line)
    held = Counter(v.held.observed for v in verdicts if v.held is not None)
    if all(v.skipped is not None for v in verdicts):
        return verdicts[0]
    # What was seen, each once with how many requests showed it, deviations first.
    shown = sorted(held, key=lambda text: (not text.startswith("deviation"), text))
    observed = "; ".join(f"{t} (x{held[t]})" for t in shown) or f"{len(seen)} requests"
    return Verdict(check, None, duration, line, held=Observed(observed))


_HANDLERS: dict[str, Callable[[IdpWorld, Any, int], list[Verdict]]] = {
    "idp_metadata": _metadata,
    "idp_sign_in": _sign_in,
    "idp_sign_out": _sign_out,
    "idp_scim_requests": _scim_requests,
}


def run_idp_step(world: IdpWorld, step: Step) -> list[Verdict]:
    handler = _HANDLERS.get(step.kind)
    if handler is None:
        try:
            _directory(world, step)
        except DriverError as exc:
            world.broken["directory"] = str(exc)
            raise StepError(str(exc)) from None
        return []
    return handler(world, step.value, step.line)
