"""MockIdP: the scriptable identity provider, framework-free.

It holds the IdP's configuration and state (keys, preset, flaws, directory, SPs, plan, rules,
journal, sessions) and hands the work to small collaborators built from them: SSO intake
(``sso_requests``), the login step (``logins``), responses (``responses``), single logout
(``single_logout``), provisioning, and the directory's script surface (``script``). The
Starlette app (``mock_idp.app.create_app(idp)``) only decodes HTTP and renders pages, so the
harness can drive the same IdP in-process without HTTP.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from cryptography import x509

from harness.protocol.keys import KeyPair
from harness.protocol.saml import constants as c
from harness.protocol.saml.bindings import encode_post_value
from harness.protocol.saml.ids import new_id
from harness.protocol.saml.metadata import SPMetadata, parse_sp_metadata_all
from harness.protocol.saml.mutators import MutatorCall, get_mutator
from harness.protocol.saml.presets import PRESETS, Preset

from .clock import Clock
from .directory import Directory, User
from .flaws import FLAWS_BY_NAME, name_unknown
from .identity import IdPIdentity
from .idp_metadata import metadata_xml
from .intake import Intake
from .journal import Journal
from .logins import Logins
from .messages import OutgoingMessage
from .plan import Plan, Rules
from .provisioning import Provisioner, ProvisioningTarget
from .provisioning_results import ConnectionResult, CycleReport
from .responses import Responder
from .script import DirectoryScript
from .service_providers import ServiceProvider, SPSettings
from .sessions import IdPSession, SessionStore
from .signing_keys import SigningKeys
from .single_logout import SingleLogout
from .sso_requests import LoginRequest, SSORequests

if TYPE_CHECKING:
    pass


def _flaw_names(flaws: Iterable[str]) -> frozenset[str]:
    names = frozenset(flaws)
    unknown = sorted(names - FLAWS_BY_NAME.keys())
    if unknown:
        raise ValueError(f"unknown flaw(s): {name_unknown(unknown)}")
    return names


def _preset(name: str) -> Preset:
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose from {', '.join(PRESETS)}")
    return PRESETS[name]


class MockIdP:
    """A SAML 2.0 IdP with an in-memory directory, SP registry, clock, plan and journal."""

    def __init__(
        self,
        base_url: str,
        *,
        signing_keys: Sequence[KeyPair],
        preset: str = "generic",
        flaws: Iterable[str] = (),
        seed: int | None = None,
        clock: Clock | None = None,
        attacker_key: KeyPair | None = None,
        extra_certificates: Sequence[x509.Certificate] = (),
        want_authn_requests_signed: bool = False,
        session_lifetime: dt.timedelta = dt.timedelta(hours=8),
        allow_passwordless_idp_init: bool = False,
        api_token: str | None = None,
        provision_allowed_hosts: Iterable[str] = (),
        journal: Journal | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.keys = SigningKeys(
            signing_keys, extra_certificates=extra_certificates, attacker=attacker_key
        )
        self.preset = _preset(preset)
        self.flaws = _flaw_names(flaws)
        self.seed = seed
        self.rng = random.Random(seed)
        self.clock = clock or Clock()
        self.want_authn_requests_signed = want_authn_requests_signed
        self.session_lifetime = session_lifetime
        # GET /saml/idp-init?user=X signing X in without a password is a test convenience that
        # makes a shared IdP sign anyone in as anyone: off unless asked for.
        self.allow_passwordless_idp_init = allow_passwordless_idp_init
        self.api_token = api_token  # when set, the control API needs it as a bearer token
        self.provision_allowed_hosts = frozenset(h.lower() for h in provision_allowed_hosts)
        # Persistent NameIDs must survive restarts with the same key: derive the secret from it.
        self.persistent_id_secret = hashlib.sha256(self.keys.active.private_key_pem()).digest()
        self.directory = Directory()
        self.sps: dict[str, ServiceProvider] = {}
        self.plan = Plan()
        self.rules = Rules()
        self.journal = journal or Journal()
        self.sessions = SessionStore()
        self.script = DirectoryScript(self.directory, self.sessions)
        self.intake = Intake(self.journal, self.clock)
        self.requests = SSORequests(self.intake, self.sps, self.identity)
        self.logins = Logins(self.directory, self.intake)
        self.responder = Responder(
            self.identity,
            journal=self.journal,
            plan=self.plan,
            rules=self.rules,
            directory=self.directory,
            keys=self.keys,
        )
        self.logout = SingleLogout(self.intake, self.sps, self.sessions, self.identity)
        self.provisioning = Provisioner(self.directory, self.journal, self.clock, seed=seed)

    # ------------------------------------------------------------------ identity and metadata

    @property
    def entity_id(self) -> str:
        return f"{self.base_url}/saml/metadata"

    @property
    def sso_url(self) -> str:
        return f"{self.base_url}/saml/sso"

    @property
    def slo_url(self) -> str:
        return f"{self.base_url}/saml/slo"

    @property
    def signing_key(self) -> KeyPair:
        return self.keys.active

    @property
    def signing_keys(self) -> list[KeyPair]:
        return self.keys.keys

    def identity(self) -> IdPIdentity:
        """Who this IdP is right now (keys, preset and flaws may change between calls)."""
        return IdPIdentity(
            entity_id=self.entity_id,
            sso_url=self.sso_url,
            slo_url=self.slo_url,
            signing_key=self.keys.active,
            preset=self.preset,
            flaws=self.flaws,
            clock=self.clock,
            rng=self.rng,
            persistent_id_secret=self.persistent_id_secret,
            want_authn_requests_signed=self.want_authn_requests_signed,
        )

    def metadata_xml(self) -> bytes:
        return metadata_xml(self.identity(), self.keys.published_certificates())

    def rollover_key(self, new_key: KeyPair | None = None) -> KeyPair:
        """Sign with a new key from now on; the old ones stay in metadata (SDP-SP37)."""
        return self.keys.rollover(self.clock.now(), new_key)

    def activate_key(self, index: int) -> None:
        """Sign with the published key at ``index`` (e.g. the second one, SP check P06)."""
        self.keys.activate(index)

    def retire_key(self, index: int) -> None:
        self.keys.retire(index)

    def has_flaw(self, name: str) -> bool:
        return name in self.flaws

    def set_flaws(self, names: Iterable[str]) -> None:
        self.flaws = _flaw_names(names)

    def set_preset(self, name: str) -> None:
        self.preset = _preset(name)

    # ------------------------------------------------------------------------ directory and SPs

    def add_user(self, user_name: str, **fields: Any) -> User:
        return self.script.add_user(User(user_name, **fields))

    def register_sp_metadata(
        self, metadata: bytes | str, settings: SPSettings | None = None
    ) -> list[ServiceProvider]:
        """Register every SP in ``metadata`` (re-registering replaces the old entry)."""
        if isinstance(metadata, str):  # as read from a file in text mode or an HTTP answer
            metadata = metadata.encode("utf-8")
        return [self.register_sp(sp, settings) for sp in parse_sp_metadata_all(metadata)]

    def register_sp(
        self, metadata: SPMetadata, settings: SPSettings | None = None
    ) -> ServiceProvider:
        sp = ServiceProvider(metadata, settings or SPSettings())
        self.sps[metadata.entity_id] = sp
        return sp

    def plan_next(
        self,
        *mutators: str | MutatorCall,
        sticky: bool = False,
        count: int = 1,
        sp: str | None = None,
    ) -> None:
        calls = tuple(m if isinstance(m, MutatorCall) else MutatorCall(m, {}) for m in mutators)
        for call in calls:
            get_mutator(call.name)  # unknown names fail now, not at the next login
        self.plan.add(calls, sticky=sticky, count=count, sp=sp)

    def reset(self) -> None:
        """Forget everything scriptable; keys, preset and flaws stay."""
        self.directory.clear()
        self.sps.clear()
        self.plan.clear()
        self.rules.clear()
        self.journal.clear()
        self.sessions.clear()
        self.clock.reset()
        self.logins.clear()
        self.logout.clear()
        self.provisioning.reset()

    # ------------------------------------------------------------------------- provisioning

    def provision_to(self, target: ProvisioningTarget) -> None:
        """Provision the directory to this SCIM endpoint (``mock_idp.provisioning``)."""
        self.provisioning.configure(target)

    async def provision(self, kind: str | None = None) -> CycleReport:
        """Run a provisioning cycle: ``initial``, ``incremental``, or the next one (default)."""
        return await self.provisioning.run_cycle(kind)

    async def check_provisioning_connection(self) -> ConnectionResult:
        return await self.provisioning.test_connection()

    # ---------------------------------------------------------------------------------- SSO

    def receive_authn_request(
        self,
        binding: str,
        *,
        query: str | None = None,
        saml_request: str | None = None,
        relay_state: str | None = None,
    ) -> LoginRequest:
        """See :meth:`SSORequests.receive`."""
        return self.requests.receive(
            binding, query=query, saml_request=saml_request, relay_state=relay_state
        )

    def start_idp_initiated(
        self, sp_entity_id: str, relay_state: str | None = None
    ) -> LoginRequest:
        return self.requests.idp_initiated(sp_entity_id, relay_state)

    def start_session(self, user: User) -> IdPSession:
        now = self.clock.now()
        return self.sessions.create(user.user_name, now, new_id(self.rng), self.session_lifetime)

    def session_user(self, session: IdPSession) -> User | None:
        user = self.directory.get_user(session.user_name)
        return user if user is not None and user.active else None

    def silent_response(
        self, login: LoginRequest, session: IdPSession | None
    ) -> OutgoingMessage | None:
        """Answer without a login form when possible: a live session (unless ForceAuthn),
        or a NoPassive error when IsPassive forbids a form. None means "show the form"."""
        request = login.request
        user = self.session_user(session) if session is not None else None
        force = (
            request is not None and request.force_authn and not self.has_flaw("ignore-force-authn")
        )
        if session is not None and user is not None and not force:
            return self.issue_response(login, user, session)
        if request is not None and request.is_passive:
            return self.responder.issue_status(
                login, c.STATUS_RESPONDER, c.STATUS_NO_PASSIVE, "passive authentication impossible"
            )
        return None

    def issue_response(
        self, login: LoginRequest, user: User, session: IdPSession | None = None
    ) -> OutgoingMessage:
        """Sign (and encrypt) the Response for ``user``, applying flaws, rules and the plan."""
        return self.responder.issue(login, user, session or self.start_session(user))

    def sso(
        self,
        sp_entity_id: str,
        user_name: str,
        *,
        authn_request: bytes | None = None,
        relay_state: str | None = None,
    ) -> OutgoingMessage:
        """In-process SSO for the harness: no browser, no HTTP. ``authn_request`` is the
        AuthnRequest XML (None for IdP-initiated); the user is signed in without a password."""
        if authn_request is None:
            login = self.start_idp_initiated(sp_entity_id, relay_state)
        else:
            login = self.receive_authn_request(
                c.BINDING_HTTP_POST,
                saml_request=encode_post_value(authn_request),
                relay_state=relay_state,
            )
        return self.issue_response(login, self.logins.active_user(user_name))

    def sso_from_redirect(self, url: str, user_name: str) -> OutgoingMessage:
        """In-process SP-initiated SSO from the SP's redirect: ``url`` is the Location the SP
        answered with (``.../saml/sso?SAMLRequest=...``), signature and all."""
        login = self.receive_authn_request(c.BINDING_HTTP_REDIRECT, query=urlsplit(url).query)
        return self.issue_response(login, self.logins.active_user(user_name))

    def sso_from_post(self, form: Mapping[str, str], user_name: str) -> OutgoingMessage:
        """In-process SP-initiated SSO from the SP's HTTP-POST form fields."""
        login = self.receive_authn_request(
            c.BINDING_HTTP_POST,
            saml_request=form.get("SAMLRequest"),
            relay_state=form.get("RelayState"),
        )
        return self.issue_response(login, self.logins.active_user(user_name))

    # ------------------------------------------------------------------------ single logout

    def receive_slo(
        self,
        binding: str,
        *,
        query: str | None = None,
        form: Mapping[str, str] | None = None,
        session: IdPSession | None = None,
    ) -> OutgoingMessage | None:
        """See :meth:`SingleLogout.receive`."""
        return self.logout.receive(binding, query=query, form=form, session=session)

    def start_logout(self, session: IdPSession) -> OutgoingMessage | None:
        """See :meth:`SingleLogout.start`."""
        return self.logout.start(session)
