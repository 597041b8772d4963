"""The IdP's own logout messages: signed for their binding (Profiles 4.4.4.1: always signed)
and journaled, and the journal's note on an SP that could not be told."""

from __future__ import annotations

from collections.abc import Callable

from lxml import etree

from harness.protocol.saml import constants as c
from harness.protocol.saml.bindings import encode_post_value, encode_redirect_query, redirect_url
from harness.protocol.saml.signing import sign_element
from harness.protocol.xml import to_bytes

from .identity import IdPIdentity
from .journal import Journal, Verdict
from .messages import OutgoingMessage
from .service_providers import ServiceProvider


class LogoutSender:
    def __init__(self, journal: Journal, identity: Callable[[], IdPIdentity]) -> None:
        self.journal = journal
        self.identity = identity

    def send(
        self,
        kind: str,
        root: etree._Element,
        endpoint: tuple[str, str],
        parameter: str,
        relay_state: str | None,
        sp: str,
    ) -> OutgoingMessage:
        """``root`` signed and encoded for ``endpoint`` (binding, location), and journaled."""
        identity = self.identity()
        binding, location = endpoint
        choice = identity.signature_choice()
        if binding == c.BINDING_HTTP_REDIRECT:
            xml = to_bytes(root)
            query = encode_redirect_query(
                xml,
                parameter=parameter,
                relay_state=relay_state,
                key_pair=identity.signing_key,
                algorithm=choice.algorithm,
            )
            message = OutgoingMessage(
                kind, binding, redirect_url(location, query), xml, {}, sp, root.get("ID")
            )
        else:
            xml = to_bytes(sign_element(root, identity.signing_key, choice))
            fields = {parameter: encode_post_value(xml)}
            if relay_state is not None:
                fields["RelayState"] = relay_state
            message = OutgoingMessage(
                kind, c.BINDING_HTTP_POST, location, xml, fields, sp, root.get("ID")
            )
        self.journal.record(
            time=identity.clock.now(),
            direction="out",
            kind=kind,
            binding=binding,
            sp=sp,
            xml=xml.decode(),
            message_id=root.get("ID"),
            in_response_to=root.get("InResponseTo"),
            relay_state=relay_state,
        )
        return message

    def journal_skipped(self, sp: ServiceProvider) -> None:
        """Say why an SP of the session was not told: it has no front-channel SLO endpoint."""
        listed = [endpoint.binding for endpoint in sp.metadata.slo_endpoints]
        self.journal.record(
            time=self.identity().clock.now(),
            direction="out",
            kind="LogoutSkipped",
            binding=None,
            sp=sp.entity_id,
            xml=None,
            verdicts=(
                Verdict(
                    "slo-front-channel",
                    "warn",
                    "SAML-PROF-4.4.3.3",
                    "the SP lists no HTTP-Redirect or HTTP-POST SingleLogoutService "
                    f"(it lists {listed or 'none'}): not told of the logout, skipped",
                ),
            ),
            details={"slo_bindings": listed},
        )
