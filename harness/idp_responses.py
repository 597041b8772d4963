"""Reading what the IdP under test posted to the SP (the tap's record) into the values the
judges read, and judging a Response against every IdP-side rule: shared by the SP's own
sign-ins and by the requests the harness sends in the SP's name."""

from __future__ import annotations

import base64
import binascii

from harness.checks._idp_read import read_response
from harness.checks.idp_observations import IdpResponseSeen
from harness.checks.idp_requests import authn_instant_of
from harness.checks.idp_saml import IDP_RESPONSE_CHECKS
from harness.checks.idp_saml_deviations import named_deviation
from harness.checks.model import CheckSkipped
from harness.idp_world import IdpWorld
from harness.protocol.refusal import Refusal
from harness.protocol.saml import constants as saml
from harness.protocol.xml import parse_xml, to_bytes
from harness.results import IDP_ASSERTION, IDP_MESSAGE
from harness.saml_tap import TappedMessage
from harness.verdicts import Verdict, judged


def pretty(xml: bytes) -> str:
    try:
        return to_bytes(parse_xml(xml), pretty=True).decode("utf-8", "replace")
    except Refusal:
        return xml[:4000].decode("utf-8", "replace")


def posted_xml(tapped: TappedMessage, field: str) -> bytes:
    value = tapped.value(field) or ""
    try:
        return base64.b64decode("".join(value.split()), validate=True)
    except (binascii.Error, ValueError):
        return value.encode("utf-8", "replace")  # judged as it is: the parse check fails


def response_seen(
    world: IdpWorld,
    tapped: TappedMessage,
    ref: str,
    *,
    request_id: str | None,
    name_id_format: str | None,
    relay_state: str | None,
) -> IdpResponseSeen:
    return IdpResponseSeen(
        xml=posted_xml(tapped, "SAMLResponse"),
        sp=world.sp_side,
        idp=world.idp,
        received_at=tapped.at,
        request_id=request_id,
        name_id_format_asked=name_id_format,
        relay_state_sent=relay_state,
        relay_state_returned=tapped.value("RelayState"),
        posted_to=posted_to(world, tapped),
        previous_name_id=world.name_ids.get(ref),
        single_logout_offered=bool(world.idp.slo_endpoints),
    )


def posted_to(world: IdpWorld, tapped: TappedMessage) -> str:
    """The URL the IdP's form posted to, query included (the SP's second ACS has one)."""
    return f"{world.sp_base}{tapped.path}" + (f"?{tapped.query}" if tapped.query else "")


def name_id_of(seen: IdpResponseSeen) -> tuple[str, str | None] | None:
    """The NameID (value, Format) of a Response whose assertion a verified signature covers."""
    try:
        assertion = read_response(seen).assertion()
    except CheckSkipped:
        return None
    name_id = assertion.find(f"{{{saml.SAML}}}Subject/{{{saml.SAML}}}NameID")
    if name_id is None:
        return None
    return (name_id.text or "").strip(), name_id.get("Format")


def judge_response(world: IdpWorld, seen: IdpResponseSeen, ref: str, line: int) -> list[Verdict]:
    """Every response check (a vendor's documented default named as a deviation); the user's
    NameID is remembered for the next sign-in's stability check."""
    verdicts = [
        named_deviation(judged(check, line, seen), world.vendor) for check in IDP_RESPONSE_CHECKS
    ]
    name_id = name_id_of(seen)
    if name_id is not None:
        world.name_ids[ref] = name_id
    when = authn_instant_of(seen)
    if when is not None:
        world.authn_instants[ref] = when
    return verdicts


def message_evidence(seen: IdpResponseSeen, verdicts: list[Verdict]) -> dict[str, object]:
    """The message, decoded (and its assertion as the SP decrypted it: the harness holds the
    SP's key), next to the verdict of every rule it was judged by."""
    message: dict[str, object] = {
        IDP_MESSAGE: pretty(seen.xml),
        "judged by": {v.check.id: outcome(v) for v in verdicts},
    }
    decrypted = read_response(seen).decrypted
    if decrypted is not None:
        message[IDP_ASSERTION] = pretty(to_bytes(decrypted.element))
    return message


def outcome(verdict: Verdict) -> str:
    if verdict.skipped is not None:
        return f"skipped: {verdict.skipped.reason}"
    if verdict.failure is not None:
        return f"failed: {verdict.failure.message}"
    return "held"
