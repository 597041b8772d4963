"""Requests the SP never sends, sent in its name: the harness holds the SP's key, so it can ask
the IdP under test what a careless or hostile SP could, and judge the answer.

- ``unsigned``: an AuthnRequest without a signature. An IdP whose metadata asks for signed
  requests must not answer it with an assertion.
- ``force-authn``: a signed AuthnRequest with ForceAuthn, sent from the browser that signed in
  just before. The IdP must authenticate the user anew, not reuse that session.
"""

from __future__ import annotations

import random
import time

from harness.checks.idp_requests import (
    FORCE_AUTHN,
    UNSIGNED_REFUSED,
    ForcedSignInSeen,
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
from harness.scenario.model import IdpSignIn
from harness.verdicts import Verdict, judged, not_judged

# After the earlier sign-in, so that an AuthnInstant reused from it is older than the request
# by more than the second an xs:dateTime is often cut to.
_SESSION_AGE_S = 1.1


def _request(world: IdpWorld, location: str, *, force: bool) -> AuthnRequest:
    side = world.sp_side
    return AuthnRequest(
        id=new_id(random.Random(f"{world.seed}:{len(world.tap.messages)}:{time.time_ns()}")),
        issue_instant=now(),
        issuer=side.entity_id,
        destination=location,
        acs_url=side.acs_url,
        protocol_binding=saml.BINDING_HTTP_POST,
        nameid_format=saml.NAMEID_EMAIL,
        allow_create=True,
        force_authn=force,
    )


def crafted_sign_in(
    world: IdpWorld, request: IdpSignIn, account: TestAccount, line: int
) -> list[Verdict]:
    unsigned = request.request == "unsigned"
    checks = (UNSIGNED_REFUSED,) if unsigned else (*IDP_RESPONSE_CHECKS, FORCE_AUTHN)
    endpoint = world.idp.sso_endpoint(saml.BINDING_HTTP_REDIRECT)
    if endpoint is None:
        return list(not_judged(checks, line, "the IdP has no HTTP-Redirect SSO endpoint"))
    if not unsigned:
        if request.user not in world.name_ids:
            reason = f"ForceAuthn is judged after a sign-in of {request.user} that was read"
            return list(not_judged(checks, line, reason))
        time.sleep(_SESSION_AGE_S)
    authn = _request(world, endpoint.location, force=not unsigned)
    query = encode_redirect_query(
        build_authn_request_xml(authn),
        relay_state=request.relay_state,
        key_pair=None if unsigned else world.sp.key,
    )
    before = len(world.tap.messages)
    start = SignInStart(
        account,
        "sp",
        world.sp_base,
        world.sp_side.entity_id,
        redirect_url(endpoint.location, query),
        request.relay_state,
    )
    exchange: list[dict[str, object]] = []
    try:
        exchange = list(world.driver.deliver(world.http_session(request.user), start))
    except DriverError as exc:
        if not unsigned:  # for an unsigned request, nothing arriving is the refusal judged
            return list(not_judged(checks, line, str(exc)))
        exchange = [{"driver": str(exc)}]
    tapped = world.tap.wait_for(before, 0.5, lambda m: m.path == "/saml/acs")
    seen = None
    if tapped is not None:
        seen = response_seen(
            world,
            tapped,
            request.user,
            request_id=authn.id,
            name_id_format=authn.nameid_format,
            relay_state=request.relay_state,
        )
    if unsigned:
        wants = world.idp.want_authn_requests_signed
        observation = UnsignedRequestSeen(wants, seen, evidence={"exchange": exchange})
        return [judged(UNSIGNED_REFUSED, line, observation)]
    if seen is None:
        return list(not_judged(checks, line, "no SAML Response reached the SP's ACS"))
    verdicts = judge_response(world, seen, request.user, line)
    forced = ForcedSignInSeen(seen, authn.issue_instant, evidence=message_evidence(seen, verdicts))
    return [*verdicts, judged(FORCE_AUTHN, line, forced)]
