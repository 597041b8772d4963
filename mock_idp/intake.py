"""Taking in an SP's message: decoding its binding, verifying its signature, checking where it
was sent, and journaling every refusal with the rule it broke."""

from __future__ import annotations

from collections.abc import Sequence

from harness.protocol.refusal import Refusal
from harness.protocol.saml import constants as c
from harness.protocol.saml.bindings import (
    RedirectMessage,
    decode_post_value,
    decode_redirect_query,
    verify_redirect_signature,
)
from harness.protocol.saml.errors import SAMLError
from harness.protocol.saml.signing import verify_element
from harness.protocol.xml import parse_xml, to_bytes

from .clock import Clock
from .journal import Journal, Verdict
from .messages import RefusalContext
from .refusals import IdPError
from .service_providers import ServiceProvider


class Intake:
    """Decodes incoming SAML messages and journals what it refuses."""

    def __init__(self, journal: Journal, clock: Clock) -> None:
        self.journal = journal
        self.clock = clock

    def refuse(
        self,
        error: Refusal,
        *,
        kind: str,
        binding: str | None,
        xml: bytes | None = None,
        sp: str | None = None,
        context: RefusalContext | None = None,
        verdicts: Sequence[Verdict] = (),
    ) -> Refusal:
        """Journal ``error`` as the verdict on a received message, and return it to raise."""
        if context is not None:
            sp = context.sp
        self.journal.record(
            time=self.clock.now(),
            direction="in",
            kind=kind,
            binding=binding,
            sp=sp,
            xml=xml_text(xml),
            message_id=context.message_id if context else None,
            relay_state=context.relay_state if context else None,
            verdicts=(*verdicts, Verdict(error.reason, "fail", error.rule, error.message)),
            error={"reason": error.reason, "rule": error.rule, "message": error.message},
        )
        return error

    def decode(
        self, kind: str, binding: str, query: str | None, value: str | None, relay_state: str | None
    ) -> tuple[bytes, RedirectMessage | None, str | None]:
        """(the message XML, the redirect message when signed in the query, RelayState)."""
        try:
            if binding == c.BINDING_HTTP_REDIRECT:
                redirect = decode_redirect_query(query or "")
                return redirect.message, redirect, redirect.relay_state
            if not value:
                raise SAMLError("no-message", f"the form carries no SAML {kind}", "SAML-BIND-3.5.4")
            return decode_post_value(value), None, relay_state
        except Refusal as exc:
            raise self.refuse(exc.with_status(400), kind=kind, binding=binding) from exc


def verify_sp_signature(
    sp: ServiceProvider, xml: bytes, redirect: RedirectMessage | None, verdicts: list[Verdict]
) -> tuple[bool, bytes]:
    """(signed, the bytes to read): for an enveloped signature, only the element the verifier
    vouches for is read afterwards. Raises SAMLError when a signature is bad."""
    trusted = list(sp.metadata.signing_certificates)
    if redirect is not None:
        if not redirect.is_signed:
            return False, xml
        verify_redirect_signature(redirect, trusted, allow_sha1=True)
        if redirect.sig_alg == c.SIG_RSA_SHA1:
            verdicts.append(Verdict("signature-algorithm", "warn", "SDP-ALG01", "RSA-SHA1"))
        return True, xml
    root = parse_xml(xml)
    if root.find(c.q(c.DS, "Signature")) is None:
        return False, xml
    verified = verify_element(root, trusted, allow_sha1=True)
    if verified.signature_method == c.SIG_RSA_SHA1:
        verdicts.append(Verdict("signature-algorithm", "warn", "SDP-ALG01", "RSA-SHA1"))
    return True, to_bytes(verified.signed_element)


def check_destination(destination: str | None, expected: str, signed: bool, binding: str) -> None:
    """Core 3.2.1 and Bindings 3.4.5.2 / 3.5.5.2: a signed request names this endpoint."""
    if destination is None:
        if signed:
            redirect = binding == c.BINDING_HTTP_REDIRECT
            rule = "SAML-BIND-3.4.5.2" if redirect else "SAML-BIND-3.5.5.2"
            raise IdPError("no-destination", "a signed request must carry Destination", rule)
        return
    if destination != expected:
        raise IdPError(
            "wrong-destination",
            f"Destination {destination!r} is not this endpoint ({expected})",
            "SAML-CORE-3.2.1",
        )


def xml_text(xml: bytes | None) -> str | None:
    return xml.decode("utf-8", "replace") if xml is not None else None
