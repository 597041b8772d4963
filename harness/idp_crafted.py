"""Requests the SP never sends, sent in its name: the harness holds the SP's key, so it can ask
the IdP under test what a careless or hostile SP could, and judge the answer.

- ``unsigned``: an AuthnRequest without a signature. An IdP whose metadata asks for signed
  requests must not answer it with an assertion.
- ``force-authn``: a signed AuthnRequest with ForceAuthn, sent from the browser that signed in
  just before. The IdP must authenticate the user anew, not reuse that session.
- ``other-acs``: a signed AuthnRequest naming the SP's second ACS (index 1 of its metadata).
  The IdP must post its Response there, not to the default one.
"""

from __future__ import annotations

import dataclasses
import random
import time

from harness.checks.idp_observations import IdpResponseSeen, SpSide
from harness.checks.idp_requests import (
    FORCE_AUTHN,
    REQUESTED_ACS,
    UNSIGNED_REFUSED,
    ForcedSignInSeen,
    RequestedAcsSeen,
    UnsignedRequestSeen,
)
from harness.checks.idp_saml import IDP_RESPONSE_CHECKS
from harness.idp_drivers import DriverError, SignInStart
from harness.idp_responses import judge_response, message_evidence, response_seen
from harness.idp_target import TestAccount
from harness.idp_world import IdpWorld, now
from harness.protocol.saml import constants as saml
from harness.protocol.saml.authn_request import AuthnRequest, build_authn_request_xml
from harness.protocol.saml.bindings import encode_redirect_query, redirect_url
from harness.protocol.saml.ids import new_id
from harness.saml_tap import TappedMessage
from harness.scenario.model import IdpSignIn
from harness.verdicts import Verdict, judged, not_judged
from reference_sp.settings import Site

# After the earlier sign-in, so that an AuthnInstant reused from it is older than the request
# by more than the second an xs:dateTime is often cut to.
_SESSION_AGE_S = 1.1


def _request(world: IdpWorld, location: str, *, force: bool, acs_url: str) -> AuthnRequest:
    side = world.sp_side
    return AuthnRequest(
        id=new_id(random.Random(f"{world.seed}:{len(world.tap.messages)}:{time.time_ns()}")),
        issue_instant=now(),
        issuer=side.entity_id,
        destination=location,
        acs_url=acs_url,
        protocol_binding=saml.BINDING_HTTP_POST,
        nameid_format=saml.NAMEID_EMAIL,
        allow_create=True,
        force_authn=force,
    )


_CHECKS = {
    "unsigned": (UNSIGNED_REFUSED,),
    "force-authn": (*IDP_RESPONSE_CHECKS, FORCE_AUTHN),
    "other-acs": (*IDP_RESPONSE_CHECKS, REQUESTED_ACS),
}


def _send(
    world: IdpWorld, request: IdpSignIn, account: TestAccount, authn: AuthnRequest, location: str
) -> tuple[TappedMessage | None, list[dict[str, object]], str | None]:
    """Send ``authn`` (signed with the SP's key, unless the step asks for an unsigned one) from
    the user's browser; what reached the ACS, the exchange, and why the driver failed."""
    query = encode_redirect_query(
        build_authn_request_xml(authn),
        relay_state=request.relay_state,
        key_pair=None if request.request == "unsigned" else world.sp.key,
    )
    before = len(world.tap.messages)
    url = redirect_url(location, query)
    start = SignInStart(account, "sp", world.sp_base, world.sp_side.entity_id, url, None)
    try:
        exchange = list(world.driver.deliver(world.http_session(request.user), start))
        problem = None
    except DriverError as exc:
        exchange, problem = [{"driver": str(exc)}], str(exc)
    tapped = world.tap.wait_for(
        before, world.driver.arrival_grace_s, lambda m: m.path == "/saml/acs"
    )
    return tapped, exchange, problem


def crafted_sign_in(
    world: IdpWorld, request: IdpSignIn, account: TestAccount, line: int
) -> list[Verdict]:
    kind = request.request
    checks = _CHECKS[kind]
    endpoint = world.idp.sso_endpoint(saml.BINDING_HTTP_REDIRECT)
    if endpoint is None:
        return list(not_judged(checks, line, "the IdP has no HTTP-Redirect SSO endpoint"))
    if kind == "force-authn":
        if request.user not in world.name_ids:
            reason = f"ForceAuthn is judged after a sign-in of {request.user} that was read"
            return list(not_judged(checks, line, reason))
        world.let_time_pass(_SESSION_AGE_S)
    side = world.sp_side
    if kind == "other-acs":
        side = dataclasses.replace(side, acs_url=Site.at(world.sp_base).second_acs_url)
    authn = _request(world, endpoint.location, force=kind == "force-authn", acs_url=side.acs_url)
    tapped, exchange, problem = _send(world, request, account, authn, endpoint.location)
    if kind == "unsigned":
        if problem is not None and tapped is None:
            # Nothing arrived, but the driver could not see why (an operator who never acted
            # looks the same as an IdP that refused): not judged.
            reason = f"no Response, and no sign of a refusal either: {problem}"
            return list(not_judged(checks, line, reason))
        seen = _seen(world, request, authn, tapped, side)
        wants = world.idp.want_authn_requests_signed
        observation = UnsignedRequestSeen(wants, seen, evidence={"exchange": exchange})
        return [judged(UNSIGNED_REFUSED, line, observation)]
    if kind == "other-acs" and tapped is None:
        acs = RequestedAcsSeen(side.acs_url, None, evidence={"exchange": exchange})
        reason = problem or "no SAML Response reached the SP's ACS"
        return [*not_judged(IDP_RESPONSE_CHECKS, line, reason), judged(REQUESTED_ACS, line, acs)]
    seen = _seen(world, request, authn, tapped, side)
    if seen is None or tapped is None:
        reason = problem or "no SAML Response reached the SP's ACS"
        return list(not_judged(checks, line, reason))
    previous = world.authn_instants.get(request.user)
    verdicts = judge_response(world, seen, request.user, line)
    evidence = message_evidence(seen, verdicts)
    if kind == "force-authn":
        forced = ForcedSignInSeen(seen, previous, evidence=evidence)
        return [*verdicts, judged(FORCE_AUTHN, line, forced)]
    acs = RequestedAcsSeen(side.acs_url, seen.posted_to, evidence=evidence)
    return [*verdicts, judged(REQUESTED_ACS, line, acs)]


def _seen(
    world: IdpWorld,
    request: IdpSignIn,
    authn: AuthnRequest,
    tapped: TappedMessage | None,
    side: SpSide,
) -> IdpResponseSeen | None:
    if tapped is None:
        return None
    seen = response_seen(
        world,
        tapped,
        request.user,
        request_id=authn.id,
        name_id_format=authn.nameid_format,
        relay_state=request.relay_state,
    )
    return dataclasses.replace(seen, sp=side)
