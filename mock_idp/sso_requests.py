"""SSO intake: an AuthnRequest decoded, parsed and judged (or an IdP-initiated start), ready
for a login; every refusal is journaled with the rule it broke."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from harness.protocol.refusal import Refusal
from harness.protocol.saml import constants as c
from harness.protocol.saml.authn_request import AuthnRequest, parse_authn_request
from harness.protocol.saml.bindings import RedirectMessage
from harness.protocol.saml.metadata import Endpoint

from .identity import IdPIdentity
from .intake import Intake, check_destination, verify_sp_signature, xml_text
from .journal import Verdict
from .messages import RefusalContext
from .refusals import IdPError
from .service_providers import ServiceProvider

RELAY_STATE_LIMIT = 80  # bytes, SAML Bindings 3.4.3 / 3.5.3
REQUEST_SKEW = dt.timedelta(minutes=3)  # saml2int SDP-G01
REQUEST_MAX_AGE = dt.timedelta(minutes=10)
AUTHN_REQUEST = "AuthnRequest"
IDP_INITIATED = "IdPInitiated"


@dataclass
class LoginRequest:
    """A validated SSO request waiting for, or not needing, a login."""

    sp: ServiceProvider
    acs: Endpoint
    relay_state: str | None
    request: AuthnRequest | None = None
    binding: str | None = None


@dataclass
class _Received:
    """An AuthnRequest as far as it got: decoded, parsed, from a registered SP."""

    binding: str
    xml: bytes
    redirect: RedirectMessage | None
    relay_state: str | None
    request: AuthnRequest
    sp: ServiceProvider

    @property
    def context(self) -> RefusalContext:
        return RefusalContext(self.request.issuer, self.request.id, self.relay_state)


class SSORequests:
    """Judges SSO requests against the registered SPs and the IdP's identity of the moment."""

    def __init__(
        self,
        intake: Intake,
        sps: Mapping[str, ServiceProvider],
        identity: Callable[[], IdPIdentity],
    ) -> None:
        self.intake = intake
        self.sps = sps
        self.identity = identity

    def receive(
        self,
        binding: str,
        *,
        query: str | None = None,
        saml_request: str | None = None,
        relay_state: str | None = None,
    ) -> LoginRequest:
        """Decode, parse and judge an AuthnRequest; journal it; raise a Refusal to refuse it.

        ``query`` is the raw (still URL-encoded) query string for HTTP-Redirect, because the
        signature covers the octets as sent; ``saml_request`` the form value for HTTP-POST.
        """
        received = self._parse(binding, query, saml_request, relay_state)
        verdicts: list[Verdict] = []
        try:
            signed, acs = self._judge(received, verdicts)
        except Refusal as error:
            raise self._refuse(error, binding, received.xml, received.context, verdicts) from None
        self._journal(received, acs, signed, verdicts)
        return LoginRequest(received.sp, acs, received.relay_state, received.request, binding)

    def _refuse(
        self,
        error: Refusal,
        binding: str,
        xml: bytes,
        context: RefusalContext,
        verdicts: Sequence[Verdict] = (),
    ) -> Refusal:
        return self.intake.refuse(
            error, kind=AUTHN_REQUEST, binding=binding, xml=xml, context=context, verdicts=verdicts
        )

    def _parse(
        self, binding: str, query: str | None, value: str | None, relay_state: str | None
    ) -> _Received:
        xml, redirect, relay_state = self.intake.decode(
            AUTHN_REQUEST, binding, query, value, relay_state
        )
        try:
            request = parse_authn_request(xml)
        except Refusal as exc:
            context = RefusalContext(None, None, relay_state)
            raise self._refuse(exc.with_status(400), binding, xml, context) from exc
        sp = self.sps.get(request.issuer)
        if sp is None:
            error = IdPError(
                "unknown-sp",
                f"no SP with entityID {request.issuer!r} is registered with this IdP",
                "SAML-PROF-4.1.4.1",
            )
            context = RefusalContext(request.issuer, request.id, relay_state)
            raise self._refuse(error, binding, xml, context)
        return _Received(binding, xml, redirect, relay_state, request, sp)

    def _judge(self, received: _Received, verdicts: list[Verdict]) -> tuple[bool, Endpoint]:
        """(signed, the ACS to answer on); raises the Refusal that ends the request."""
        identity, sp = self.identity(), received.sp
        try:
            signed, verified_xml = verify_sp_signature(
                sp, received.xml, received.redirect, verdicts
            )
            if signed and verified_xml is not received.xml:
                received.request = parse_authn_request(verified_xml)  # only what is signed
        except Refusal as exc:
            raise exc.with_status(403) from exc
        request = received.request
        age = identity.clock.now() - request.issue_instant
        if not -REQUEST_SKEW <= age <= REQUEST_MAX_AGE:
            verdicts.append(
                Verdict("issue-instant", "warn", "SDP-G01", f"IssueInstant is {age} away from now")
            )
        must_sign = sp.metadata.authn_requests_signed or identity.want_authn_requests_signed
        if signed:
            verdicts.append(Verdict("signature", "pass", "SAML-CORE-5.4", "signature verified"))
        elif must_sign and not identity.has_flaw("accept-unsigned-requests"):
            rule = "SAML-MD-2.4.4" if sp.metadata.authn_requests_signed else "SAML-MD-2.4.3"
            raise IdPError("unsigned-request", "this AuthnRequest must be signed", rule, status=403)
        check_destination(request.destination, identity.sso_url, signed, received.binding)
        acs = select_acs(sp, request, ignore_acs_url=identity.has_flaw("ignore-acs-url"))
        relay_state = received.relay_state
        if relay_state is not None and len(relay_state.encode()) > RELAY_STATE_LIMIT:
            verdicts.append(
                Verdict("relay-state-size", "warn", "SAML-BIND-3.4.3", "RelayState over 80 bytes")
            )
        return signed, acs

    def _journal(
        self, received: _Received, acs: Endpoint, signed: bool, verdicts: list[Verdict]
    ) -> None:
        request = received.request
        self.intake.journal.record(
            time=self.intake.clock.now(),
            direction="in",
            kind=AUTHN_REQUEST,
            binding=received.binding,
            sp=received.sp.entity_id,
            xml=xml_text(received.xml),
            message_id=request.id,
            relay_state=received.relay_state,
            verdicts=tuple(verdicts),
            details={
                "force_authn": request.force_authn,
                "is_passive": request.is_passive,
                "nameid_format": request.nameid_format,
                "acs": acs.location,
                "signed": signed,
            },
        )

    def idp_initiated(self, sp_entity_id: str, relay_state: str | None = None) -> LoginRequest:
        """An unsolicited response's start (Profiles 4.1.5), for an SP that allows it."""
        try:
            sp = self.sps.get(sp_entity_id)
            if sp is None:
                raise IdPError(
                    "unknown-sp",
                    f"no SP {sp_entity_id!r} is registered",
                    "SAML-PROF-4.1.5",
                    status=404,
                )
            if not sp.settings.allow_idp_initiated:
                raise IdPError(
                    "idp-initiated-disabled",
                    "IdP-initiated SSO is off for this SP",
                    "SAML-PROF-4.1.5",
                    status=403,
                )
            acs = default_acs(sp)
        except Refusal as error:
            raise self.intake.refuse(
                error, kind=IDP_INITIATED, binding=None, sp=sp_entity_id
            ) from None
        return LoginRequest(sp, acs, relay_state)


def default_acs(sp: ServiceProvider) -> Endpoint:
    default = sp.metadata.default_acs()
    if default.binding == c.BINDING_HTTP_POST:
        return default
    posts = sp.post_acs_endpoints()
    if not posts:
        raise IdPError(
            "unsupported-binding",
            "the SP has no HTTP-POST AssertionConsumerService, the only one this IdP uses",
            "SAML-PROF-4.1.2",
        )
    return posts[0]


def select_acs(
    sp: ServiceProvider, request: AuthnRequest | None, *, ignore_acs_url: bool = False
) -> Endpoint:
    """Profiles 4.1.4.1: the ACS must be the SP's by its metadata; never answer elsewhere."""
    if request is None or ignore_acs_url:
        return default_acs(sp)
    if request.acs_index is not None:
        endpoint = sp.metadata.acs_by_index(request.acs_index)
        if endpoint is None:
            raise IdPError(
                "unknown-acs-index",
                f"AssertionConsumerServiceIndex {request.acs_index} is not in the metadata",
                "SAML-PROF-4.1.4.1",
            )
    elif request.acs_url is not None:
        endpoint = sp.metadata.acs_by_location(request.acs_url)
        if endpoint is None:
            raise IdPError(
                "unknown-acs",
                f"AssertionConsumerServiceURL {request.acs_url!r} is not in the SP's metadata",
                "SAML-PROF-4.1.4.1",
            )
    else:
        return default_acs(sp)
    binding = request.protocol_binding or endpoint.binding
    if binding != c.BINDING_HTTP_POST:
        raise IdPError(
            "unsupported-binding",
            f"response binding {binding} is not supported; use HTTP-POST",
            "SAML-PROF-4.1.2",
        )
    return endpoint
