"""What the reference SP is started with (``Settings``) and where it answers (``Site``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import Engine

from harness.protocol.keys import KeyPair
from reference_sp.organisation import Profile


@dataclass(frozen=True)
class Settings:
    # None: an SQLite file under the data directory. Not in repr: it may hold a password.
    db_url: str | None = field(default=None, repr=False)
    # A database already open, in place of ``db_url``: the SP neither migrates nor disposes it
    # (the harness lends each in-process world an emptied in-memory database).
    engine: Engine | None = field(default=None, repr=False, compare=False)
    journal_limit: int = 5000  # entries kept per organisation
    scim_search_timeout: float | None = 2.0  # seconds; past it a search is 400 tooMany
    base_url: str = "http://127.0.0.1:8001"  # the entityID is <base_url>/saml/metadata
    profile: Profile = "generic"  # "parallels": admin group "Parallels Business Account Admins"
    flaws: tuple[str, ...] = ()  # see reference_sp.flaws.FLAWS
    clock_skew: timedelta = timedelta(minutes=3)  # saml2int SDP-G01
    allow_sha1: bool = False  # SDP-ALG01
    sign_requests: bool = True  # sign AuthnRequests and logout messages
    want_encryption: bool = True  # publish an encryption key: IdPs encrypt the assertion
    # The NameID Format the AuthnRequests ask for in a NameIDPolicy (None: none asked, any the
    # sign-in rule accepts will do). The IdP-under-test suite asks emailAddress.
    name_id_policy: str | None = None
    # Publish a second ACS (index 1, the same endpoint with ``?acs=2``) that no request of the
    # SP names: the IdP-under-test suite names it in a request of its own, to see it honoured.
    second_acs: bool = False
    key: KeyPair | None = None  # None: generated on first start under the data directory
    cookie_secret: bytes | None = field(default=None, repr=False)  # None: generated, likewise
    extra: dict[str, str] = field(default_factory=dict, compare=False)
    # Endpoints and database work on the event loop's own thread instead of worker threads:
    # for an SP served in-process to one client that waits on every answer (the harness's
    # worlds), where the hops between threads cost more than a simple page's work.
    inline: bool = False


@dataclass(frozen=True)
class Site:
    """The SP's base URL and every address it publishes under it."""

    base_url: str  # without a trailing slash

    @classmethod
    def at(cls, base_url: str) -> Site:
        return cls(base_url.rstrip("/"))

    @property
    def entity_id(self) -> str:
        return f"{self.base_url}/saml/metadata"

    @property
    def acs_url(self) -> str:
        return f"{self.base_url}/saml/acs"

    @property
    def second_acs_url(self) -> str:
        return f"{self.base_url}/saml/acs?acs=2"

    @property
    def slo_url(self) -> str:
        return f"{self.base_url}/saml/slo"

    @property
    def scim_url(self) -> str:
        return f"{self.base_url}/scim/v2"

    @property
    def secure(self) -> bool:
        return self.base_url.startswith("https://")
