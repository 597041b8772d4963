"""Judging an SP's LogoutRequest or LogoutResponse (Profiles 4.4.4): from a registered SP,
signed, to this endpoint, in time. Each judge raises the Refusal that ends the message."""

from __future__ import annotations

from collections.abc import Mapping

from harness.protocol.refusal import Refusal
from harness.protocol.saml.bindings import RedirectMessage
from harness.protocol.saml.logout import (
    LogoutRequest,
    LogoutResponse,
    parse_logout_request,
    parse_logout_response,
)

from .identity import IdPIdentity
from .intake import check_destination, verify_sp_signature
from .journal import Verdict
from .refusals import IdPError
from .service_providers import ServiceProvider


def _verified(
    sp: ServiceProvider, xml: bytes, redirect: RedirectMessage | None, verdicts: list[Verdict]
) -> tuple[bool, bytes]:
    try:
        return verify_sp_signature(sp, xml, redirect, verdicts)
    except Refusal as exc:
        raise exc.with_status(403) from exc


def judge_logout_request(
    identity: IdPIdentity,
    sps: Mapping[str, ServiceProvider],
    received: tuple[LogoutRequest, bytes, RedirectMessage | None, str],
    verdicts: list[Verdict],
) -> tuple[ServiceProvider, bool, LogoutRequest]:
    """(the SP, signed, the request as signed) for ``(request, xml, redirect, binding)``."""
    request, xml, redirect, binding = received
    sp = sps.get(request.issuer)
    if sp is None:
        raise IdPError("unknown-sp", f"no SP {request.issuer!r} is registered", "SAML-PROF-4.4.4.1")
    signed, verified_xml = _verified(sp, xml, redirect, verdicts)
    if signed and verified_xml is not xml:
        try:  # read only what the signature covers
            request = parse_logout_request(verified_xml)
        except Refusal as exc:
            raise exc.with_status(400) from exc
    if not signed and not identity.has_flaw("accept-unsigned-requests"):
        # Profiles 4.4.4.1: the requester MUST authenticate itself (sign) on front channels.
        raise IdPError(
            "unsigned-request", "a LogoutRequest must be signed", "SAML-PROF-4.4.4.1", status=403
        )
    check_destination(request.destination, identity.slo_url, signed, binding)
    if request.not_on_or_after is not None and request.not_on_or_after <= identity.clock.now():
        raise IdPError("expired-request", "the LogoutRequest has expired", "SAML-CORE-3.7.1")
    if sp.metadata.front_channel_slo_endpoint() is None:
        # The answer goes back through the browser: a SOAP-only SP cannot receive it.
        raise IdPError(
            "no-slo-endpoint",
            "the SP lists no HTTP-Redirect or HTTP-POST SingleLogoutService to answer on",
            "SAML-PROF-4.4.4.2",
        )
    return sp, signed, request


def judge_logout_response(
    identity: IdPIdentity,
    sps: Mapping[str, ServiceProvider],
    received: tuple[LogoutResponse, bytes, RedirectMessage | None],
    verdicts: list[Verdict],
) -> LogoutResponse:
    """The response as signed, for ``(response, xml, redirect)``."""
    response, xml, redirect = received
    sp = sps.get(response.issuer)
    if sp is None:
        raise IdPError(
            "unknown-sp", f"no SP {response.issuer!r} is registered", "SAML-PROF-4.4.4.2"
        )
    signed, verified_xml = _verified(sp, xml, redirect, verdicts)
    if not signed and not identity.has_flaw("accept-unsigned-requests"):
        raise IdPError(
            "unsigned-response",
            "a LogoutResponse must be signed",
            "SAML-PROF-4.4.4.2",
            status=403,
        )
    if signed and verified_xml is not xml:
        try:
            response = parse_logout_response(verified_xml)
        except Refusal as exc:
            raise exc.with_status(400) from exc
    return response
