"""MockIdP: the scriptable identity provider, framework-free.

The Starlette app (``mock_idp.app``) only decodes HTTP and renders pages; everything an SSO or
logout does lives here, so the harness can drive the same IdP in-process without HTTP.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
import secrets
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from cryptography import x509
from lxml import etree

from harness.protocol.keys import KeyPair, generate_key_pair
from harness.protocol.saml import constants as c
from harness.protocol.saml.authn_request import AuthnRequest, parse_authn_request
from harness.protocol.saml.bindings import (
    RedirectMessage,
    decode_post_value,
    decode_redirect_query,
    encode_post_value,
    verify_redirect_signature,
)
from harness.protocol.saml.errors import SAMLError
from harness.protocol.saml.ids import new_id
from harness.protocol.saml.metadata import (
    Endpoint,
    IdPMetadata,
    SPMetadata,
    build_idp_metadata,
    build_idp_metadata_element,
    parse_sp_metadata_all,
)
from harness.protocol.saml.mutators import (
    Draft,
    MutationContext,
    MutatorCall,
    MutatorNoEffect,
    build_mutated,
    get_mutator,
    mutate,
)
from harness.protocol.saml.presets import PRESETS, Preset
from harness.protocol.saml.response import Protection, ResponseSpec
from harness.protocol.saml.signing import SignatureChoice, sign_element, verify_element
from harness.protocol.xml import XMLSecurityError, parse_xml, to_bytes

from .clock import Clock
from .directory import Directory, User
from .drafting import draft_response
from .flaws import FLAWS_BY_NAME
from .journal import Journal, Verdict
from .messages import IdPError, OutgoingMessage, RefusalContext
from .plan import Plan, Rules
from .provisioning import Provisioner, ProvisioningTarget
from .provisioning_results import ConnectionResult, CycleReport
from .service_providers import ServiceProvider, SPSettings
from .sessions import IdPSession, Participant, SessionStore
from .single_logout import SingleLogout

if TYPE_CHECKING:
    from starlette.applications import Starlette

MAX_PENDING = 1000
RELAY_STATE_LIMIT = 80  # bytes, SAML Bindings 3.4.3 / 3.5.3
REQUEST_SKEW = dt.timedelta(minutes=3)  # saml2int SDP-G01
REQUEST_MAX_AGE = dt.timedelta(minutes=10)


@dataclass
class LoginRequest:
    """A validated SSO request waiting for, or not needing, a login."""

    sp: ServiceProvider
    acs: Endpoint
    relay_state: str | None
    request: AuthnRequest | None = None
    binding: str | None = None


class LoginError(Exception):
    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


def _flaw_names(flaws: Iterable[str]) -> frozenset[str]:
    names = frozenset(flaws)
    unknown = sorted(names - FLAWS_BY_NAME.keys())
    if unknown:
        raise ValueError(f"unknown flaw(s): {', '.join(unknown)}")
    return names


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
    ) -> None:
        if not signing_keys:
            raise ValueError("the IdP needs at least one signing key")
        if preset not in PRESETS:
            raise ValueError(f"unknown preset {preset!r}; choose from {', '.join(PRESETS)}")
        self.base_url = base_url.rstrip("/")
        self.signing_keys = list(signing_keys)
        self.extra_certificates = list(extra_certificates)
        self.preset: Preset = PRESETS[preset]
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
        self._attacker_key = attacker_key
        # Persistent NameIDs must survive restarts with the same key: derive the secret from it.
        self.persistent_id_secret = hashlib.sha256(self.signing_keys[0].private_key_pem()).digest()
        self.directory = Directory()
        self.sps: dict[str, ServiceProvider] = {}
        self.plan = Plan()
        self.rules = Rules()
        self.journal = Journal()
        self.sessions = SessionStore()
        self._pending: OrderedDict[str, LoginRequest] = OrderedDict()
        self.logout = SingleLogout(self)
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
        return self.signing_keys[0]

    def attacker_key(self) -> KeyPair:
        if self._attacker_key is None:  # generated once, on first use of the wrong-key mutator
            self._attacker_key = generate_key_pair("attacker.invalid", now=self.clock.now())
        return self._attacker_key

    def metadata(self) -> IdPMetadata:
        certificates = [k.certificate for k in self.signing_keys] + self.extra_certificates
        endpoints = (
            Endpoint(c.BINDING_HTTP_REDIRECT, self.sso_url),
            Endpoint(c.BINDING_HTTP_POST, self.sso_url),
        )
        return IdPMetadata(
            entity_id=self.entity_id,
            signing_certificates=tuple(certificates),
            sso_endpoints=endpoints,
            slo_endpoints=(
                Endpoint(c.BINDING_HTTP_REDIRECT, self.slo_url),
                Endpoint(c.BINDING_HTTP_POST, self.slo_url),
            ),
            nameid_formats=self.preset.metadata_name_id_formats,
            want_authn_requests_signed=self.want_authn_requests_signed,
        )

    def metadata_xml(self) -> bytes:
        if not self.preset.sign_metadata:
            return build_idp_metadata(self.metadata())
        # Signed like Entra's federation metadata; not pretty-printed, which would break it.
        document_id = "_" + hashlib.sha256(self.entity_id.encode()).hexdigest()[:40]
        root = build_idp_metadata_element(self.metadata(), document_id=document_id)
        return to_bytes(sign_element(root, self.signing_key, self.signature_choice()))

    def signature_choice(self) -> SignatureChoice:
        algorithm = self.preset.signature.algorithm
        if self.signing_key.key_type == "ec" and algorithm.startswith("rsa"):
            algorithm = "ecdsa-sha256"
        return SignatureChoice.for_algorithm(algorithm)

    def rollover_key(self, new_key: KeyPair | None = None) -> KeyPair:
        """Sign with a new key from now on; the old ones stay in metadata (SDP-SP37)."""
        key = new_key or generate_key_pair("sso-harness-mock-idp", now=self.clock.now())
        self.signing_keys.insert(0, key)
        return key

    def activate_key(self, index: int) -> None:
        """Sign with the published key at ``index`` (e.g. the second one, SP check P06)."""
        if not 0 <= index < len(self.signing_keys):
            raise ValueError(f"no signing key {index}")
        self.signing_keys.insert(0, self.signing_keys.pop(index))

    def retire_key(self, index: int) -> None:
        if len(self.signing_keys) == 1:
            raise ValueError("the last signing key cannot be retired")
        if not 0 <= index < len(self.signing_keys):
            raise ValueError(f"no signing key {index}")
        del self.signing_keys[index]

    def asgi_app(self) -> Starlette:
        """The Starlette app serving this IdP (``mock_idp.app.create_app``)."""
        from .app import create_app  # imported here so the core class stays framework-free

        return create_app(self)

    def has_flaw(self, name: str) -> bool:
        return name in self.flaws

    def set_flaws(self, names: Iterable[str]) -> None:
        self.flaws = _flaw_names(names)

    def set_preset(self, name: str) -> None:
        if name not in PRESETS:
            raise ValueError(f"unknown preset {name!r}; choose from {', '.join(PRESETS)}")
        self.preset = PRESETS[name]

    # ------------------------------------------------------------------------ directory and SPs

    def add_user(self, user_name: str, **fields: Any) -> User:
        return self.directory.add_user(User(user_name, **fields))

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
        self._pending.clear()
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

    # ---------------------------------------------------------------------------- SSO: requests

    def refuse(
        self,
        error: IdPError,
        *,
        kind: str,
        binding: str | None,
        xml: bytes | None = None,
        sp: str | None = None,
        context: RefusalContext | None = None,
        verdicts: Sequence[Verdict] = (),
    ) -> IdPError:
        if context is not None:
            sp = context.sp
        self.journal.record(
            time=self.clock.now(),
            direction="in",
            kind=kind,
            binding=binding,
            sp=sp,
            xml=_text(xml),
            message_id=context.message_id if context else None,
            relay_state=context.relay_state if context else None,
            verdicts=(*verdicts, Verdict(error.reason, "fail", error.rule, error.message)),
            error={"reason": error.reason, "rule": error.rule, "message": error.message},
        )
        return error

    def decode_binding(
        self, kind: str, binding: str, query: str | None, value: str | None, relay_state: str | None
    ) -> tuple[bytes, RedirectMessage | None, str | None]:
        try:
            if binding == c.BINDING_HTTP_REDIRECT:
                redirect = decode_redirect_query(query or "")
                return redirect.message, redirect, redirect.relay_state
            if not value:
                raise SAMLError("no-message", f"the form carries no SAML {kind}", "SAML-BIND-3.5.4")
            return decode_post_value(value), None, relay_state
        except SAMLError as exc:
            raise self.refuse(
                IdPError(400, exc.reason, exc.rule, exc.message), kind=kind, binding=binding
            ) from exc

    def verify_sp_signature(
        self,
        sp: ServiceProvider,
        xml: bytes,
        redirect: RedirectMessage | None,
        verdicts: list[Verdict],
    ) -> tuple[bool, bytes]:
        """(signed, the bytes to read): for an enveloped signature, only the element the
        verifier vouches for is read afterwards. Raises SAMLError when a signature is bad."""
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

    def receive_authn_request(
        self,
        binding: str,
        *,
        query: str | None = None,
        saml_request: str | None = None,
        relay_state: str | None = None,
    ) -> LoginRequest:
        """Decode, parse and judge an AuthnRequest; journal it; raise IdPError to refuse it.

        ``query`` is the raw (still URL-encoded) query string for HTTP-Redirect, because the
        signature covers the octets as sent; ``saml_request`` the form value for HTTP-POST.
        """
        kind = "AuthnRequest"
        xml, redirect, relay_state = self.decode_binding(
            kind, binding, query, saml_request, relay_state
        )
        verdicts: list[Verdict] = []
        try:
            request = parse_authn_request(xml)
        except SAMLError as exc:
            raise self.refuse(
                IdPError(400, exc.reason, exc.rule, exc.message),
                kind=kind,
                binding=binding,
                xml=xml,
                context=RefusalContext(None, None, relay_state),
            ) from exc
        context = RefusalContext(request.issuer, request.id, relay_state)
        sp = self.sps.get(request.issuer)
        if sp is None:
            raise self.refuse(
                IdPError(
                    400,
                    "unknown-sp",
                    "SAML-PROF-4.1.4.1",
                    f"no SP with entityID {request.issuer!r} is registered with this IdP",
                ),
                kind=kind,
                binding=binding,
                xml=xml,
                context=context,
            )
        try:
            signed, verified_xml = self.verify_sp_signature(sp, xml, redirect, verdicts)
            if signed and verified_xml is not xml:
                request = parse_authn_request(verified_xml)
        except (SAMLError, XMLSecurityError) as exc:
            raise self.refuse(
                IdPError(403, exc.reason, exc.rule, exc.message),
                kind=kind,
                binding=binding,
                xml=xml,
                context=context,
            ) from exc
        age = self.clock.now() - request.issue_instant
        if not -REQUEST_SKEW <= age <= REQUEST_MAX_AGE:
            verdicts.append(
                Verdict("issue-instant", "warn", "SDP-G01", f"IssueInstant is {age} away from now")
            )
        must_sign = sp.metadata.authn_requests_signed or self.want_authn_requests_signed
        if signed:
            verdicts.append(Verdict("signature", "pass", "SAML-CORE-5.4", "signature verified"))
        elif must_sign and not self.has_flaw("accept-unsigned-requests"):
            rule = "SAML-MD-2.4.4" if sp.metadata.authn_requests_signed else "SAML-MD-2.4.3"
            raise self.refuse(
                IdPError(403, "unsigned-request", rule, "this AuthnRequest must be signed"),
                kind=kind,
                binding=binding,
                xml=xml,
                verdicts=verdicts,
                context=context,
            )
        try:
            self.check_destination(request.destination, self.sso_url, signed, binding)
            acs = self._select_acs(sp, request)
        except IdPError as error:
            raise self.refuse(
                error,
                kind=kind,
                binding=binding,
                xml=xml,
                verdicts=verdicts,
                context=context,
            ) from None
        if relay_state is not None and len(relay_state.encode()) > RELAY_STATE_LIMIT:
            verdicts.append(
                Verdict("relay-state-size", "warn", "SAML-BIND-3.4.3", "RelayState over 80 bytes")
            )
        self.journal.record(
            time=self.clock.now(),
            direction="in",
            kind=kind,
            binding=binding,
            sp=sp.entity_id,
            xml=_text(xml),
            message_id=request.id,
            relay_state=relay_state,
            verdicts=tuple(verdicts),
            details={
                "force_authn": request.force_authn,
                "is_passive": request.is_passive,
                "nameid_format": request.nameid_format,
                "acs": acs.location,
                "signed": signed,
            },
        )
        return LoginRequest(sp, acs, relay_state, request, binding)

    def check_destination(
        self, destination: str | None, expected: str, signed: bool, binding: str
    ) -> None:
        if destination is None:
            if signed:
                rule = (
                    "SAML-BIND-3.4.5.2"
                    if binding == c.BINDING_HTTP_REDIRECT
                    else "SAML-BIND-3.5.5.2"
                )
                raise IdPError(
                    400, "no-destination", rule, "a signed request must carry Destination"
                )
            return
        if destination != expected:
            raise IdPError(
                400,
                "wrong-destination",
                "SAML-CORE-3.2.1",
                f"Destination {destination!r} is not this endpoint ({expected})",
            )

    def _default_acs(self, sp: ServiceProvider) -> Endpoint:
        default = sp.metadata.default_acs()
        if default.binding == c.BINDING_HTTP_POST:
            return default
        posts = sp.post_acs_endpoints()
        if not posts:
            raise IdPError(
                400,
                "unsupported-binding",
                "SAML-PROF-4.1.2",
                "the SP has no HTTP-POST AssertionConsumerService, the only one this IdP uses",
            )
        return posts[0]

    def _select_acs(self, sp: ServiceProvider, request: AuthnRequest | None) -> Endpoint:
        """Profiles 4.1.4.1: the ACS must be the SP's by its metadata; never answer elsewhere."""
        if request is None or self.has_flaw("ignore-acs-url"):
            return self._default_acs(sp)
        if request.acs_index is not None:
            endpoint = sp.metadata.acs_by_index(request.acs_index)
            if endpoint is None:
                raise IdPError(
                    400,
                    "unknown-acs-index",
                    "SAML-PROF-4.1.4.1",
                    f"AssertionConsumerServiceIndex {request.acs_index} is not in the metadata",
                )
        elif request.acs_url is not None:
            endpoint = sp.metadata.acs_by_location(request.acs_url)
            if endpoint is None:
                raise IdPError(
                    400,
                    "unknown-acs",
                    "SAML-PROF-4.1.4.1",
                    f"AssertionConsumerServiceURL {request.acs_url!r} is not in the SP's metadata",
                )
        else:
            return self._default_acs(sp)
        binding = request.protocol_binding or endpoint.binding
        if binding != c.BINDING_HTTP_POST:
            raise IdPError(
                400,
                "unsupported-binding",
                "SAML-PROF-4.1.2",
                f"response binding {binding} is not supported; use HTTP-POST",
            )
        return endpoint

    def start_idp_initiated(
        self, sp_entity_id: str, relay_state: str | None = None
    ) -> LoginRequest:
        sp = self.sps.get(sp_entity_id)
        if sp is None:
            raise self.refuse(
                IdPError(
                    404, "unknown-sp", "SAML-PROF-4.1.5", f"no SP {sp_entity_id!r} is registered"
                ),
                kind="IdPInitiated",
                binding=None,
                sp=sp_entity_id,
            )
        if not sp.settings.allow_idp_initiated:
            raise self.refuse(
                IdPError(
                    403,
                    "idp-initiated-disabled",
                    "SAML-PROF-4.1.5",
                    "IdP-initiated SSO is off for this SP",
                ),
                kind="IdPInitiated",
                binding=None,
                sp=sp_entity_id,
            )
        try:
            acs = self._default_acs(sp)
        except IdPError as error:
            raise self.refuse(error, kind="IdPInitiated", binding=None, sp=sp_entity_id) from None
        return LoginRequest(sp, acs, relay_state)

    # ------------------------------------------------------------------------ SSO: login state

    def refuse_login(self, reason: str, message: str, status: int = 400) -> IdPError:
        """Journal a refused browser step that carried no SAML message, and return the error."""
        return self.refuse(
            IdPError(status, reason, "IDP-LOGIN", message), kind="Login", binding=None
        )

    def journal_login(
        self, login: LoginRequest, user_name: str, failure: str | None, message: str
    ) -> None:
        self.journal.record(
            time=self.clock.now(),
            direction="in",
            kind="Login",
            binding=None,
            sp=login.sp.entity_id,
            xml=None,
            user=user_name,
            relay_state=login.relay_state,
            verdicts=(Verdict("login", "fail" if failure else "pass", "IDP-LOGIN", message),),
            error={"reason": failure, "rule": "IDP-LOGIN", "message": message} if failure else None,
        )

    def remember(self, login: LoginRequest) -> str:
        """Keep a request while the user fills in the login form; returns its handle."""
        handle = secrets.token_urlsafe(18)
        self._pending[handle] = login
        while len(self._pending) > MAX_PENDING:
            self._pending.popitem(last=False)
        return handle

    def pending(self, handle: str | None) -> LoginRequest | None:
        return self._pending.get(handle) if handle else None

    def forget(self, handle: str) -> None:
        self._pending.pop(handle, None)

    def authenticate(self, user_name: str, password: str) -> User:
        user = self.directory.authenticate(user_name.strip(), password)
        if user is None:
            raise LoginError("bad-credentials", "unknown user or wrong password")
        if not user.active:
            raise LoginError("user-inactive", "this account is disabled")
        return user

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
            return self.issue_status_response(
                login, c.STATUS_RESPONDER, c.STATUS_NO_PASSIVE, "passive authentication impossible"
            )
        return None

    # ------------------------------------------------------------------------ SSO: responses

    def issue_status_response(
        self, login: LoginRequest, code: str, subcode: str | None, message: str
    ) -> OutgoingMessage:
        """An error Response (no assertion) to a known SP's ACS, e.g. NoPassive."""
        now = self.clock.now()
        spec = ResponseSpec(
            response_id=new_id(self.rng),
            assertion_id=new_id(self.rng),
            issuer=self.entity_id,
            issue_instant=now,
            name_id="",
            destination=login.acs.location,
            in_response_to=login.request.id if login.request else None,
            status_code=code,
            status_subcode=subcode,
            status_message=message,
            include_assertion=False,
        )
        protection = Protection(self.signing_key, sign_assertion=False, sign_response=True)
        root = build_mutated(Draft(spec, protection), (), self._mutation_context(now))
        return self._deliver_response(login, root, user=None, mutators=(), verdicts=())

    def issue_response(
        self, login: LoginRequest, user: User, session: IdPSession | None = None
    ) -> OutgoingMessage:
        """Sign (and encrypt) the Response for ``user``, applying flaws, rules and the plan."""
        now = self.clock.now()
        if session is None:
            session = self.start_session(user)
        draft, standing, asked, verdicts = draft_response(self, login, user, session, now)
        try:
            mutated = mutate(draft, asked, self._mutation_context(now), standing=standing)
        except MutatorNoEffect as exc:
            # The harness asked for a break this response cannot carry: say so instead of
            # sending a good response that the journal would call broken.
            self.journal.record(
                time=now,
                direction="out",
                kind="Error",
                binding=None,
                sp=login.sp.entity_id,
                xml=None,
                user=user.user_name,
                error={"reason": "mutator-no-effect", "rule": "", "message": str(exc)},
            )
            raise
        # Say in the journal which rule each applied mutator breaks, so a reader of the
        # journal (or the IdP-under-test suite) knows what the SP should have refused.
        for call in mutated.applied:
            mutator = get_mutator(call.name)
            verdicts.append(
                Verdict(f"mutator:{call.name}", "fail", mutator.rule, mutator.description)
            )
        session.participants[login.sp.entity_id] = Participant(
            login.sp.entity_id, draft.spec.name_id, draft.spec.name_id_format
        )
        return self._deliver_response(
            login,
            mutated.root,
            user=user.user_name,
            mutators=tuple(c.name for c in mutated.applied),
            verdicts=verdicts,
            not_applied=[str(skipped) for skipped in mutated.inapplicable],
        )

    def _mutation_context(self, now: dt.datetime) -> MutationContext:
        return MutationContext(now=now, rng=self.rng, attacker_key=self._attacker_key)

    def _deliver_response(
        self,
        login: LoginRequest,
        root: etree._Element,
        *,
        user: str | None,
        mutators: tuple[str, ...],
        verdicts: Sequence[Verdict],
        not_applied: Sequence[str] = (),
    ) -> OutgoingMessage:
        xml = to_bytes(root)
        details: dict[str, object] = {"acs": login.acs.location, "flaws": sorted(self.flaws)}
        if not_applied:  # a flaw's mutator with nothing to break here: not claimed as applied
            details["mutators_not_applied"] = list(not_applied)
        fields = {"SAMLResponse": encode_post_value(xml)}
        if login.relay_state is not None and not self.has_flaw("drop-relay-state"):
            fields["RelayState"] = login.relay_state
        self.journal.record(
            time=self.clock.now(),
            direction="out",
            kind="Response",
            binding=c.BINDING_HTTP_POST,
            sp=login.sp.entity_id,
            xml=xml.decode(),
            message_id=root.get("ID"),
            in_response_to=root.get("InResponseTo"),
            relay_state=fields.get("RelayState"),
            user=user,
            verdicts=tuple(verdicts),
            mutators=mutators,
            details=details,
        )
        return OutgoingMessage(
            kind="Response",
            binding=c.BINDING_HTTP_POST,
            url=login.acs.location,
            xml=xml,
            fields=fields,
            sp=login.sp.entity_id,
            message_id=root.get("ID"),
        )

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
        return self.issue_response(login, self._active_user(user_name))

    def sso_from_redirect(self, url: str, user_name: str) -> OutgoingMessage:
        """In-process SP-initiated SSO from the SP's redirect: ``url`` is the Location the SP
        answered with (``.../saml/sso?SAMLRequest=...``), signature and all."""
        login = self.receive_authn_request(c.BINDING_HTTP_REDIRECT, query=urlsplit(url).query)
        return self.issue_response(login, self._active_user(user_name))

    def sso_from_post(self, form: Mapping[str, str], user_name: str) -> OutgoingMessage:
        """In-process SP-initiated SSO from the SP's HTTP-POST form fields."""
        login = self.receive_authn_request(
            c.BINDING_HTTP_POST,
            saml_request=form.get("SAMLRequest"),
            relay_state=form.get("RelayState"),
        )
        return self.issue_response(login, self._active_user(user_name))

    def _active_user(self, user_name: str) -> User:
        user = self.directory.get_user(user_name)
        if user is None:
            raise LoginError("bad-credentials", f"no user {user_name!r}")
        if not user.active:
            raise LoginError("user-inactive", "this account is disabled")
        return user

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


def _text(xml: bytes | None) -> str | None:
    if xml is None:
        return None
    return xml.decode("utf-8", "replace")
