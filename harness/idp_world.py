"""A world for an IdP under test: the reference SP, served by the harness with a tap that records
every SAML message it receives, trusting the IdP's metadata; the IdP (the mock IdP, or a real one
from an IdP target file) configured with the SP's metadata, ACS and SCIM URL and token.

With the mock IdP both apps run in-process (``idp.test``, ``sp.test``), as in the SP-under-test
world. With a real IdP the SP listens where the target file says, signs with a key kept in the
data directory (the IdP's copy of its metadata stays valid from run to run), and keeps its store
for the whole run in one SQLite file: an IdP provisions changes, not its whole directory, each
scenario.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx

from harness.checks.idp_observations import SpSide
from harness.home import data_dir
from harness.http_client import HttpClient
from harness.idp_drivers import IdpDriver, MockDriver, Operator, driver_for
from harness.idp_target import IdpTarget, TestAccount
from harness.loopback_server import LoopbackServer
from harness.memory_databases import lent_database
from harness.protocol.saml import constants as saml
from harness.protocol.saml.errors import MetadataError
from harness.protocol.saml.metadata import IdPMetadata, build_sp_metadata, parse_idp_metadata
from harness.saml_tap import SamlTap
from harness.scenario.model import ScenarioRun
from harness.sockets import ListenError
from harness.targets import TargetError
from harness.transport import Portal, Routes, process_portal
from harness.world import (
    IDP_BASE,
    ORGANISATION,
    SCIM_TOKEN,
    SP_BASE,
    _cookie_secret,
    _listen,
    _mock_idp,
    kept_key,
    world_key,
)
from mock_idp.app import create_app
from mock_idp.service_providers import SPSettings
from reference_sp.app import ReferenceSP, Settings
from reference_sp.saml_config import SamlConfig
from reference_sp.settings import Site

DOMAIN = "example.com"  # the mock directory's users


@dataclass(eq=False, kw_only=True)
class IdpWorld:
    run: ScenarioRun
    seed: int
    sp: ReferenceSP
    tap: SamlTap
    sp_base: str
    org_pk: int
    idp_xml: bytes
    idp_source: str  # where the IdP's metadata came from
    idp: IdPMetadata
    driver: IdpDriver
    vendor: str  # whose documented SCIM quirks are named deviations
    transport: Routes
    provisions: bool
    scim_token: str
    idp_initiated: bool
    single_logout: bool
    accounts: dict[str, TestAccount] = field(default_factory=dict)
    # Each user's NameID (value, Format) at their last sign-in: stable across sign-ins?
    name_ids: dict[str, tuple[str, str | None]] = field(default_factory=dict)
    # Each user's AuthnInstant at their last sign-in (the IdP's clock): ForceAuthn is judged
    # against it.
    authn_instants: dict[str, dt.datetime] = field(default_factory=dict)
    broken: dict[str, str] = field(default_factory=dict)
    # Moves the IdP's clock on by that many seconds: a real IdP's by waiting, the in-process
    # mock IdP's by its clock's offset (the same as the control API's), without the wait.
    let_time_pass: Callable[[float], None] = time.sleep
    scim_judged: int = 0  # the SCIM journal's sequence number judged so far
    _http_sessions: dict[str, httpx.Client] = field(default_factory=dict, init=False)

    @classmethod
    @contextlib.contextmanager
    def open(
        cls,
        run: ScenarioRun,
        *,
        seed: int,
        target: IdpTarget | None = None,
        idp_flaws: tuple[str, ...] = (),
        run_id: str = "",
        operator: Operator | None = None,
        store: str = "sqlite://",
    ) -> Iterator[IdpWorld]:
        with contextlib.ExitStack() as stack:
            portal = process_portal()
            transport = Routes({})
            stack.callback(transport.close)
            if target is None:
                world = _mock_world(stack, portal, transport, run, seed, idp_flaws, run_id)
            else:
                world = _real_world(stack, transport, run, seed, target, operator, store)
            stack.callback(world._close)
            yield world

    def _close(self) -> None:
        for client in self._http_sessions.values():
            client.close()

    @property
    def sp_side(self) -> SpSide:
        return SpSide(
            entity_id=f"{self.sp_base}/saml/metadata",
            acs_url=f"{self.sp_base}/saml/acs",
            slo_url=f"{self.sp_base}/saml/slo",
            encryption_wanted=self.sp.settings.want_encryption,
            decryption_keys=(self.sp.key.private_key,),
        )

    def account(self, ref: str) -> TestAccount:
        found = self.accounts.get(ref)
        if found is None:
            raise KeyError(ref)
        return found

    def client(self, **kwargs: Any) -> httpx.Client:
        return HttpClient(transport=self.transport, timeout=30, **kwargs)

    def http_session(self, name: str) -> httpx.Client:
        if name not in self._http_sessions:
            self._http_sessions[name] = self.client(headers={"User-Agent": "sso-harness"})
        return self._http_sessions[name]

    def scim_requests(self, after: int = 0) -> list[dict[str, Any]]:
        return [e.to_json() for e in self.sp.scim_journal(self.org_pk, after)]

    def enrol(self, account: TestAccount) -> None:
        """Create the account at the SP over its own SCIM, as an administrator would for an IdP
        that does not provision: the SP signs in only users it knows."""
        with self.client(headers={"Authorization": f"Bearer {self.scim_token}"}) as http:
            http.post(
                f"{self.sp_base}/scim/v2/Users",
                json={
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                    "userName": account.user_name,
                    "active": True,
                    "emails": [{"value": account.user_name, "primary": True, "type": "work"}],
                },
            )

    def scim_traffic(self) -> int:
        """How many SCIM requests the SP has seen (its journal's newest sequence number)."""
        entries = self.sp.scim_journal(self.org_pk, self.scim_judged)
        return entries[-1].seq if entries else self.scim_judged


def _organisation(
    sp: ReferenceSP, run: ScenarioRun, idp_xml: bytes, token: str, domains: set[str]
) -> int:
    """The organisation the IdP signs in for: its users' email domains route to it."""
    org = run.scenario.given.organisation
    return sp.add_organisation(
        ORGANISATION,
        token,
        idp_metadata=idp_xml,
        email_domains=sorted(domains | {org.email_domain}),
        admin_group=org.admin_group,
        license_group=org.license_group,
        subscription=org.subscription,
        seats=org.seats,
        allow_idp_initiated=org.allow_idp_initiated,
    )


def _mock_world(
    stack: contextlib.ExitStack,
    portal: Portal,
    transport: Routes,
    run: ScenarioRun,
    seed: int,
    idp_flaws: tuple[str, ...],
    run_id: str,
) -> IdpWorld:
    """The mock IdP as the IdP under test, both apps in-process."""
    idp = _mock_idp(run, IDP_BASE, [world_key("mock idp")], idp_flaws, seed)
    idp.want_authn_requests_signed = True  # its metadata says so: unsigned requests are judged
    want_encryption = run.scenario.sp_wants_encryption is not False
    settings = Settings(
        engine=stack.enter_context(lent_database()),
        base_url=SP_BASE,
        key=world_key("reference sp"),
        cookie_secret=_cookie_secret(),
        want_encryption=want_encryption,
        name_id_policy=saml.NAMEID_EMAIL,
        second_acs=True,
        inline=True,
    )
    sp = ReferenceSP(settings)
    stack.callback(sp.close)
    tap = SamlTap(sp.app)
    transport.add("idp.test", portal.serve(create_app(idp)))
    transport.add("sp.test", portal.serve(tap))
    with httpx.Client(transport=transport) as http:
        sp_metadata = http.get(f"{SP_BASE}/saml/metadata").raise_for_status().content
    idp.register_sp_metadata(sp_metadata, SPSettings())
    idp_xml = idp.metadata_xml()
    org_pk = _organisation(sp, run, idp_xml, SCIM_TOKEN, {DOMAIN})
    driver = MockDriver(
        idp,
        portal,
        f"{SP_BASE}/scim/v2",
        SCIM_TOKEN,
        run.dialect,
        httpx.ASGITransport(app=tap),
    )
    return IdpWorld(
        run=run,
        seed=seed,
        sp=sp,
        tap=tap,
        sp_base=SP_BASE,
        org_pk=org_pk,
        idp_xml=idp_xml,
        idp_source=f"{IDP_BASE}/saml/metadata",
        idp=parse_idp_metadata(idp_xml),
        driver=driver,
        vendor=_vendor(run),
        transport=transport,
        provisions=True,
        scim_token=SCIM_TOKEN,
        idp_initiated=True,
        single_logout=True,
        accounts={u.ref: TestAccount(f"{u.ref}@{DOMAIN}") for u in run.scenario.given.users},
        let_time_pass=idp.clock.move_on,
    )


def _settings_for(target: IdpTarget, store: str = "sqlite://") -> Settings:
    """The reference SP an IdP target file describes: its address as the IdP knows it, and a
    key kept in the data directory, so the IdP's copy of its metadata stays valid."""
    return Settings(
        db_url=store,
        base_url=target.sp_public_url or f"http://{target.sp_host}:{target.sp_port}",
        key=kept_key(data_dir() / "reference-sp-for-idp"),
        cookie_secret=_cookie_secret(),
        want_encryption=target.want_encryption,
        name_id_policy=saml.NAMEID_EMAIL,
        second_acs=True,
    )


def sp_metadata_for(target: IdpTarget) -> bytes:
    """The metadata of the SP a run with this IdP target file serves: what to give the IdP
    before the run (``sso-harness target sp-metadata FILE``)."""
    settings = _settings_for(target)
    assert settings.key is not None and settings.base_url is not None
    config = SamlConfig.of(settings, Site.at(settings.base_url), settings.key)
    return build_sp_metadata(config.metadata())


def _real_world(
    stack: contextlib.ExitStack,
    transport: Routes,
    run: ScenarioRun,
    seed: int,
    target: IdpTarget,
    operator: Operator | None,
    store: str,
) -> IdpWorld:
    """A real IdP: the reference SP on the socket the IdP was configured with."""
    try:
        idp_xml = target.metadata()
        idp = parse_idp_metadata(idp_xml)
    except (OSError, httpx.HTTPError) as exc:
        raise TargetError(f"cannot read the IdP's metadata: {exc}") from None
    except MetadataError as exc:
        raise TargetError(f"the IdP's metadata is not usable: {exc}") from None
    try:
        sock = _listen(target.sp_port, "reference SP")
    except ListenError as exc:
        raise TargetError(str(exc)) from None
    stack.callback(sock.close)
    token = target.scim_token or secrets.token_urlsafe(24)
    settings = _settings_for(target, store)
    sp_base = settings.base_url
    sp = ReferenceSP(settings)
    stack.callback(sp.close)
    tap = SamlTap(sp.app)
    stack.callback(LoopbackServer(tap, sock).start().stop)
    domains = {a.user_name.rpartition("@")[2] for a in target.accounts.values()}
    org_pk = _organisation(sp, run, idp_xml, token, domains - {""})
    holder: list[IdpWorld] = []
    driver = driver_for(
        target,
        operator or Operator(timeout_s=target.timeout_s),
        lambda: holder[0].scim_traffic(),  # noqa: PLW0108 - the world is made below
        lambda: sum(1 for m in tap.messages if m.path == "/saml/acs"),
    )
    world = IdpWorld(
        run=run,
        seed=seed,
        sp=sp,
        tap=tap,
        sp_base=sp_base,
        org_pk=org_pk,
        idp_xml=idp_xml,
        idp_source=target.metadata_url or target.metadata_file or "",
        idp=idp,
        driver=driver,
        vendor=target.vendor,
        transport=transport,
        provisions=target.provisions,
        scim_token=token,
        idp_initiated=target.idp_initiated,
        single_logout=target.single_logout and bool(idp.slo_endpoints),
        accounts=dict(target.accounts),
    )
    holder.append(world)
    return world


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _vendor(run: ScenarioRun) -> str:
    """Whose documented SCIM behaviour the mock IdP follows: its dialect (rfc: nobody's)."""
    if run.scenario.dialects:
        return "generic" if run.dialect == "rfc" else run.dialect
    return run.preset
