"""What the IdP-under-test suite saw the IdP send, with what the SP expected of it.

The reference SP, served by the harness, receives every message an IdP under test sends; the
harness records each one as it reached the SP (``harness.idp_world``) and hands it, with the
SP's expectations, to the judges in :mod:`harness.checks.idp_saml`,
:mod:`harness.checks.idp_metadata` and :mod:`harness.checks.idp_scim`. The judges read only
these values: no network, no clock but ``received_at``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from harness.protocol.keys import PrivateKey
from harness.protocol.saml.metadata import IdPMetadata


@dataclass(frozen=True)
class SpSide:
    """The SP the IdP was talking to, as its metadata told the IdP."""

    entity_id: str
    acs_url: str
    slo_url: str | None
    encryption_wanted: bool  # the SP's metadata publishes an encryption key (SDP-IDP11)
    decryption_keys: tuple[PrivateKey, ...] = ()  # the SP's, so the judges can read what it read
    clock_skew: dt.timedelta = dt.timedelta(minutes=3)  # saml2int SDP-G01
    # WantAssertionsSigned in the SP's metadata: the Assertion needs a signature of its own,
    # the Response's does not do (Metadata 2.4.4); the reference SP says true.
    want_assertions_signed: bool = True


@dataclass(frozen=True)
class IdpResponseSeen:
    """One SAML Response the IdP under test posted to the SP's ACS."""

    xml: bytes  # as posted, base64-decoded
    sp: SpSide
    idp: IdPMetadata  # the IdP's metadata as given to the SP (its signing keys are the trust)
    received_at: dt.datetime  # the SP's clock when the POST arrived (UTC)
    request_id: str | None  # the AuthnRequest's ID; None for an IdP-initiated sign-in
    name_id_format_asked: str | None  # the request's NameIDPolicy Format (None: none asked)
    relay_state_sent: str | None  # the RelayState the SP sent with its request
    relay_state_returned: str | None  # the RelayState posted back with the Response
    posted_to: str  # the URL the IdP's form posted to
    # The NameID (value, Format) this user got at the previous sign-in: None at the first.
    previous_name_id: tuple[str, str | None] | None = None
    single_logout_offered: bool = False  # the IdP's metadata names an SLO endpoint
    evidence: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class IdpLogoutSeen:
    """A LogoutRequest or LogoutResponse the IdP sent to the SP's SLO endpoint."""

    xml: bytes  # the message, inflated for HTTP-Redirect
    binding: str  # the SAML binding URN it came by
    # HTTP-Redirect: the query as received (its SigAlg and Signature sign the raw query).
    query: str | None
    sp: SpSide
    idp: IdPMetadata
    received_at: dt.datetime
    request_id: str | None  # for a LogoutResponse: the ID of the SP's LogoutRequest
    evidence: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class IdpMetadataSeen:
    """The IdP's metadata document, as fetched or read from its file."""

    xml: bytes
    source: str  # the URL or file it came from
    now: dt.datetime


@dataclass(frozen=True)
class ScimRequestSeen:
    """One SCIM request the IdP sent to the SP's SCIM server, as the server's journal has it
    (:class:`reference_sp.scim.journal.JournalEntry` as JSON), with the IdP's declared vendor
    whose documented quirks are named deviations rather than failures."""

    entry: dict[str, Any]  # seq, method, path, query, requestHeaders, requestBody, status, ...
    vendor: str  # "generic", "entra", "entra-compat", "okta", "ping"
    evidence: dict[str, Any] = field(default_factory=dict)
