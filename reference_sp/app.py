"""The reference SP as one object: its store, its organisations and its Starlette app.

``ReferenceSP`` is also the Python API the harness drives in-process (no HTTP needed there).
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import secrets
import threading
from collections.abc import Callable, Coroutine, Iterable
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import select, update
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import Scope

from harness.protocol.refusal import Refusal
from harness.protocol.saml.bindings import MAX_MESSAGE_BYTES
from harness.protocol.saml.errors import MetadataError
from harness.protocol.saml.metadata import IdPMetadata, parse_idp_metadata
from harness.protocol.scim.errors import ScimError
from reference_sp import (
    account_sweep,
    account_tables,  # noqa: F401  (its tables join the shared metadata)
)
from reference_sp.account_pages import AccountPages
from reference_sp.accounts import Accounts
from reference_sp.activations import ActivationService
from reference_sp.body_limit import BodyLimit, Limit
from reference_sp.db import Database, DatabaseUnavailableError, make_engine
from reference_sp.flaws import flaw_set
from reference_sp.html_headers import NoFraming
from reference_sp.http import api_refusal, refusal
from reference_sp.identity import Identity
from reference_sp.organisation import (
    ADMIN_GROUPS,
    PRODUCTS,
    ConfigError,
    Organisation,
    Subscription,
)
from reference_sp.organisation_routing import OrganisationRouting
from reference_sp.organisation_store import OrganisationStore
from reference_sp.saml_config import SamlConfig
from reference_sp.saml_flaws import response_validation
from reference_sp.saml_routes import SamlRoutes
from reference_sp.scim.discovery import MAX_PAYLOAD_BYTES
from reference_sp.scim.dispatch import ScimDispatch, starlette_routes
from reference_sp.scim.flawed import payload_limit
from reference_sp.scim.journal import Journal, JournalEntry
from reference_sp.scim.routes import ScimEndpoints
from reference_sp.scim.service import ScimService
from reference_sp.scim.store import ScimStore
from reference_sp.sessions import Sessions
from reference_sp.settings import Settings, Site
from reference_sp.sign_in import SignInService
from reference_sp.single_logout import SingleLogout
from reference_sp.sp_keys import load_or_create_key, load_or_create_secret
from reference_sp.tables import organizations
from reference_sp.web import ActivationRoutes, PageRoutes

__all__ = [
    "ACTIVATION_LIMIT",
    "DEFAULT_ORGANISATION",
    "FORM_LIMIT",
    "SAML_POST_LIMIT",
    "ReferenceSP",
    "Settings",
]

DEFAULT_ORGANISATION = "default"
_JOURNAL = "SP-JOURNAL"  # the rule of the journal's own refusals (bad page, no token)
# Request bodies, in bytes, read at most (reference_sp.body_limit). The POST binding carries a
# message of up to MAX_MESSAGE_BYTES in base64 (4/3) and form-encoded (+, / and = as %XX).
SAML_POST_LIMIT = 2 * MAX_MESSAGE_BYTES
ACTIVATION_LIMIT = 16 * 1024  # three fields of 200 characters and a device name
FORM_LIMIT = 16 * 1024  # /logout, /activate/{code}: a CSRF token; and every other path


def _rules_fingerprint(organisation: Organisation) -> str:
    rules = (
        organisation.admin_group,
        organisation.license_group,
        organisation.access_group,
        organisation.subscription,
        organisation.seats,
        organisation.product,
    )
    return hashlib.sha256(repr(rules).encode()).hexdigest()


class ReferenceSP:
    def __init__(
        self,
        settings: Settings | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.settings = settings or Settings()
        self.clock = clock
        self.flaws = flaw_set(self.settings.flaws)
        self.site = Site.at(self.settings.base_url)
        self.base_url = self.site.base_url
        self.entity_id = self.site.entity_id
        self.acs_url = self.site.acs_url
        self.slo_url = self.site.slo_url
        self.rng: random.Random = secrets.SystemRandom()
        # Keys and secrets are loaded once, here, never per request.
        self.key = self.settings.key or load_or_create_key()
        secret = self.settings.cookie_secret or load_or_create_secret()
        engine = self.settings.engine
        self.db = Database(
            engine or make_engine(self.settings.db_url),
            owns_engine=engine is None,
            inline=self.settings.inline,
        )
        self.organisation_store = OrganisationStore()
        self.organisations = OrganisationRouting()
        self.accounts = Accounts(self.organisations, clock, self.flaws)
        self.sessions = Sessions(secret, clock, secure=self.site.secure)
        self.store = ScimStore(clock=clock)
        self.journal = Journal(limit=self.settings.journal_limit)
        self.scim = ScimService(
            self.store,
            self.db.engine.dialect.name,
            self.flaws,
            search_timeout=self.settings.scim_search_timeout,
        )
        self.scim.listeners.append(self.accounts.on_scim_change)
        self.scim_endpoints = ScimEndpoints(
            self.db,
            self.organisation_store,
            self.scim,
            self.journal,
            clock,
            f"{self.base_url}/scim/v2",
        )
        self.scim_endpoints.before_write.append(self.accounts.lock_organisation)
        self.saml = self._saml_routes()
        self.pages, self.activations = self._web_routes()
        body_limits = [
            Limit("/saml/acs", SAML_POST_LIMIT, self._too_large),
            Limit("/saml/slo", SAML_POST_LIMIT, self._too_large),
            Limit("/api/activations", ACTIVATION_LIMIT, self._too_large),
            Limit("/scim/v2", MAX_PAYLOAD_BYTES, _scim_too_large),
            Limit("/scim/v2/Bulk", payload_limit(self.flaws, "/Bulk"), _scim_too_large),
        ]
        default_limit = Limit("/", FORM_LIMIT, self._too_large)
        starlette = Starlette(
            routes=[
                Route("/healthz", self._healthz),
                Route("/api/scim/journal", self._journal),
                Mount("/scim/v2", routes=starlette_routes(self.scim_endpoints)),
                *(self._placed(route) for route in self.saml.routes()),
                *(self._placed(route) for route in self.pages.routes()),
                *(self._placed(route) for route in self.activations.routes()),
            ],
            middleware=[
                Middleware(NoFraming),  # outermost: the 413 pages below are HTML too
                Middleware(BodyLimit, limits=body_limits, default=default_limit),
            ],
            exception_handlers={DatabaseUnavailableError: self._database_unavailable},
        )
        # SCIM requests skip Starlette's routing and middlewares (the same limits, the same
        # answers): on SQLite they cost a request more CPU than its queries.
        self.app = ScimDispatch(
            starlette,
            self.scim_endpoints,
            "/scim/v2",
            body_limits,
            default_limit,
            self._database_unavailable,
        )

    def _placed(self, route: BaseRoute) -> BaseRoute:
        """``route`` with its endpoint on a worker thread, unless the SP is served inline."""
        return route if self.settings.inline else _off_loop(route)

    def _saml_routes(self) -> SamlRoutes:
        config = SamlConfig.of(self.settings, self.site, self.key)
        sign_in = SignInService(
            self.db,
            config,
            self.organisations,
            self.accounts,
            self.sessions,
            validation=response_validation(self.flaws),  # strict, or weakened by SAML flaws
            clock=self.clock,
            rng=self.rng,
            flaws=self.flaws,
        )
        logout = SingleLogout(
            self.db,
            config,
            self.organisations,
            self.accounts,
            self.sessions,
            clock=self.clock,
            rng=self.rng,
            flaws=self.flaws,
        )
        return SamlRoutes(config, self.organisations, self.sessions, sign_in, logout, self.flaws)

    def _web_routes(self) -> tuple[PageRoutes, ActivationRoutes]:
        identity = Identity(self.organisations, self.accounts, self.sessions, self.flaws)
        pages = AccountPages(self.db, identity, self.clock)
        activations = ActivationService(
            self.db, identity, self.organisations, self.accounts, self.site, self.clock, self.flaws
        )
        return (
            PageRoutes(pages, self.sessions, self.site, self.flaws),
            ActivationRoutes(activations, self.sessions, self.site, self.flaws),
        )

    def close(self) -> None:
        """Write the SCIM journal entries still held, release the database (connections, and
        SQLite's file handles)."""
        self.scim_endpoints.write_held()
        self.db.close()

    def add_organisation(
        self,
        name: str,
        scim_token: str,
        *,
        idp_metadata: bytes | str | IdPMetadata | None = None,
        email_domains: Iterable[str] = (),
        admin_group: str | None = None,
        license_group: str | None = None,
        access_group: str | None = None,
        subscription: Subscription = "per-user",
        seats: int = 100,
        allow_idp_initiated: bool = True,
        product: str | None = None,
    ) -> int:
        """Create (or re-key and reconfigure) an organisation: its SCIM clients authenticate
        with the token, its users sign in through the IdP of ``idp_metadata``. Raises
        ConfigError for a configuration that cannot work. The metadata may be the XML as bytes
        or text (as read from a file or an HTTP answer) or already parsed."""
        idp: IdPMetadata | None
        if isinstance(idp_metadata, str):
            idp_metadata = idp_metadata.encode("utf-8")
        if isinstance(idp_metadata, bytes):
            try:
                idp = parse_idp_metadata(idp_metadata)
            except MetadataError as exc:
                raise ConfigError(f"IdP metadata for {name!r}: {exc.message}") from exc
        elif idp_metadata is None or isinstance(idp_metadata, IdPMetadata):
            idp = idp_metadata
        else:
            raise TypeError(
                "idp_metadata is the metadata XML (bytes or str) or an IdPMetadata, "
                f"not {type(idp_metadata).__name__}"
            )
        if idp is not None and not idp.signing_certificates:
            raise ConfigError(f"IdP metadata for {name!r} holds no signing certificate")
        if subscription not in ("per-user", "per-device"):
            raise ConfigError(f"subscription must be per-user or per-device, not {subscription!r}")
        profile = self.settings.profile
        with self.db.transaction() as conn:
            org_pk = self.organisation_store.ensure(conn, name, scim_token)
            organisation = Organisation(
                org_pk=org_pk,
                name=name,
                idp=idp,
                email_domains=tuple(d.strip().lower().lstrip("@") for d in email_domains),
                admin_group=admin_group or ADMIN_GROUPS[profile],
                license_group=license_group,
                access_group=access_group,
                subscription=subscription,
                product=product or PRODUCTS[profile],
                seats=seats,
                allow_idp_initiated=allow_idp_initiated,
            )
            self.organisations.put(organisation)
            fingerprint = _rules_fingerprint(organisation)
            stored = conn.execute(
                select(organizations.c.rules_fingerprint).where(organizations.c.pk == org_pk)
            ).scalar()
            if stored != fingerprint:  # new, or the rules changed: every user is judged again
                account_sweep.reconcile_all(self.accounts, conn, organisation)
                conn.execute(
                    update(organizations)
                    .where(organizations.c.pk == org_pk)
                    .values(rules_fingerprint=fingerprint)
                )
        return org_pk

    def orgs_by_name(self, name: str) -> int:
        """The primary key of the organisation called ``name`` (KeyError if there is none)."""
        for organisation in self.organisations.all():
            if organisation.name == name:
                return organisation.org_pk
        raise KeyError(name)

    def scim_journal(self, org_pk: int, after: int = 0, limit: int = 1000) -> list[JournalEntry]:
        with self.db.transaction() as conn:
            return self.journal.entries(conn, org_pk, after, limit)

    def _too_large(self, scope: Scope, limit: int) -> Response:
        """413 in the style of the SP's own refusals: JSON for the API, else the error page."""
        message = f"the request body is larger than {limit} bytes, the most {scope['path']} reads"
        refused = Refusal("too-large", message, "HTTP-BODY", status=413)
        if scope["path"].startswith("/api/"):
            return api_refusal(refused)
        return refusal(Request(scope), self.flaws, refused)

    async def _healthz(self, request: Request) -> Response:
        """200 while the database takes writes; 503 naming the fault when the last transaction
        failed (within a minute) or a probe on a connection of its own fails. It never waits for
        the database's lock, so a long request cannot make it time out."""
        problem = await self.db.problem()
        if problem is not None:
            return JSONResponse(
                {"status": "unavailable", "database": {"status": "error", "error": problem}},
                status_code=503,
                headers={"Retry-After": str(DatabaseUnavailableError.retry_after)},
            )
        return JSONResponse({"status": "ok", "database": {"status": "ok"}})

    async def _database_unavailable(self, request: Request, exc: Exception) -> Response:
        """A database fault on a sign-in or account route: 503, HTML or JSON as asked."""
        message = f"the service's database is unavailable ({exc}); try again in a moment"
        refused = Refusal("database-unavailable", message, "availability", status=503)
        response = refusal(request, self.flaws, refused)
        response.headers["Retry-After"] = str(DatabaseUnavailableError.retry_after)
        return response

    async def _journal(self, request: Request) -> Response:
        """The calling organisation's SCIM journal (its SCIM bearer token), oldest first:
        ``?after=SEQ`` continues from an entry, ``?limit=N`` (at most 1000) bounds the page."""
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        try:
            # Clamped: past the newest entry is an empty page however far past, and the
            # journal's sequence is a 32-bit column.
            after = min(max(0, int(request.query_params.get("after", "0"))), 2**31 - 1)
            limit = min(max(1, int(request.query_params.get("limit", "1000"))), 1000)
        except ValueError:
            return api_refusal(
                Refusal("bad-request", "after and limit must be integers", _JOURNAL, status=400)
            )

        def read() -> Response:
            with self.db.transaction() as conn:
                bearer = scheme.lower() == "bearer"
                org_pk = self.organisation_store.by_token(conn, token.strip()) if bearer else None
                if org_pk is None:
                    message = "a valid SCIM bearer token is required"
                    refused = api_refusal(Refusal("unauthorized", message, _JOURNAL, status=401))
                    refused.headers["WWW-Authenticate"] = 'Bearer realm="SCIM"'
                    return refused
                entries = self.journal.entries(conn, org_pk, after, limit)
            return JSONResponse({"entries": [e.to_json() for e in entries]})

        return await self.db.run(read)


T = TypeVar("T")


class _ThreadLoop:
    """A worker thread's own event loop, made at its first request and closed when the thread
    ends: a new loop for every request (``asyncio.run``) cost 0.1 ms of CPU, about a tenth of a
    simple page's."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()

    def __del__(self) -> None:
        self.loop.close()


class _ThreadLoops(threading.local):
    held: _ThreadLoop | None = None


_THREAD_LOOPS = _ThreadLoops()


def _run_on_this_thread(coroutine: Coroutine[Any, Any, T]) -> T:
    held = _THREAD_LOOPS.held
    if held is None:
        held = _THREAD_LOOPS.held = _ThreadLoop()
    return held.loop.run_until_complete(coroutine)


def _off_loop(route: BaseRoute) -> BaseRoute:
    """The route with its endpoint run on a worker thread (its own event loop there), so that
    the endpoint's database work and signature checks never block the server's event loop.
    The body is read first, on the server's loop (BodyLimit has capped it by then); the
    endpoint then finds it cached (Request.form and Request.json read the cached body)."""
    if not isinstance(route, Route):
        return route
    endpoint = route.endpoint

    async def elsewhere(request: Request) -> Response:
        await request.body()
        response: Response = await run_in_threadpool(_run_on_this_thread, endpoint(request))
        return response

    return Route(route.path, elsewhere, methods=list(route.methods or ()), name=route.name)


def _scim_too_large(scope: Scope, limit: int) -> Response:
    """RFC 7644 §3.12: errors in the SCIM error schema; the limit is the advertised
    ``bulk.maxPayloadSize``, which applies to every SCIM request here."""
    detail = f"the request body is larger than {limit} bytes (maxPayloadSize)"
    return JSONResponse(
        ScimError(413, detail).to_json(), status_code=413, media_type="application/scim+json"
    )
