"""What the IdP hands back to a browser: a SAML message to POST or to redirect with."""

from __future__ import annotations

from dataclasses import dataclass, field

from harness.protocol.saml import constants as c
from harness.protocol.saml.bindings import post_form_html


@dataclass(frozen=True)
class OutgoingMessage:
    """A SAML message on its way through the browser.

    For HTTP-POST ``url`` is the form action and ``fields`` the form; for HTTP-Redirect ``url``
    is the whole Location (query included) and ``fields`` is empty.
    """

    kind: str
    binding: str
    url: str
    xml: bytes
    fields: dict[str, str] = field(default_factory=dict)
    sp: str | None = None
    message_id: str | None = None

    @property
    def saml_response(self) -> str | None:
        return self.fields.get("SAMLResponse")

    @property
    def relay_state(self) -> str | None:
        return self.fields.get("RelayState")

    def html(self) -> str:
        if self.binding != c.BINDING_HTTP_POST:
            raise ValueError("only HTTP-POST messages are delivered as a form")
        return post_form_html(self.url, self.fields, title=f"Sending {self.kind}")


@dataclass(frozen=True)
class RefusalContext:
    """What the journal records about a refused message."""

    sp: str | None
    message_id: str | None
    relay_state: str | None
