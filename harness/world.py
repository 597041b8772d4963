"""A world: one mock IdP and one SP under test, wired to trust each other, plus the browsers
(cookie jars) and devices a scenario uses. Each scenario run gets a fresh world.

The reference target runs both apps in-process on their own hosts (``idp.test``, ``sp.test``);
every request still goes through HTTP semantics (redirects, cookies, forms), so the same steps
drive a loopback or a remote SP.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import socket
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from harness.browser import BrowserSession, shared_browser
from harness.component_cli import base_url, bound_port
from harness.home import data_dir
from harness.http_client import HttpClient
from harness.loopback_server import LoopbackServer
from harness.memory_databases import lent_database
from harness.out_of_band import OutOfBandListener
from harness.protocol.keys import KeyLoadError, KeyPair, generate_key_pair
from harness.protocol.saml import constants as saml
from harness.scenario.model import ScenarioRun
from harness.signin import SignInAttempt
from harness.sockets import ListenError, listening_socket
from harness.targets import Features, Probes, RemoteTarget, TargetError
from harness.tls import default_ssl_context
from harness.transport import Portal, Routes, process_portal
from mock_idp.app import create_app
from mock_idp.idp import MockIdP
from mock_idp.keystore import load_or_create
from mock_idp.service_providers import SPSettings
from reference_sp.app import ReferenceSP, Settings

IDP_BASE = "http://idp.test"
OTHER_IDP_BASE = "http://idp2.test"
SP_BASE = "http://sp.test"
SCIM_TOKEN = "harness-scim-token"  # noqa: S105 - a token for a throwaway in-process SP
ORGANISATION = "acme"
DEFAULT_SCREENSHOT_DIR = "sso-harness-screenshots"
PASSWORD = "correct horse battery staple"  # noqa: S105 - the mock directory's users
NAMEID_FORMATS = {
    "emailAddress": saml.NAMEID_EMAIL,
    "persistent": saml.NAMEID_PERSISTENT,
    "transient": saml.NAMEID_TRANSIENT,
    "unspecified": saml.NAMEID_UNSPECIFIED,
}


def _listen(port: int = 0, what: str = "") -> socket.socket:
    """A listening socket on 127.0.0.1 for one of the world's servers (0: any free port)."""
    return listening_socket("127.0.0.1", port, what)


def _url(sock: socket.socket) -> str:
    return base_url("127.0.0.1", bound_port(sock))


@functools.cache
def world_key(name: str) -> KeyPair:
    """The key in-process worlds sign with as ``name``: generated once into the data directory,
    then loaded once per process (generating the run's five RSA keys took 0.3 s of every run,
    more than most scenarios)."""
    slug = "".join(c if c.isalnum() else "-" for c in name)
    common_name = f"sso-harness {name}"
    try:
        return load_or_create(
            data_dir() / "world-keys", slug, common_name=common_name, generated_here=True
        )
    except (OSError, KeyLoadError):
        # The keys on disk are a cache: a data directory that cannot be written (a read-only
        # home), or a file left broken by a process killed while writing it, costs the run its
        # key generation, not the run.
        return generate_key_pair(common_name, now=dt.datetime.now(dt.UTC))


# The keys of in-process worlds; "mock idp, second" is the one a rollover brings in.
WORLD_KEYS = (
    "mock idp",
    "mock idp, second",
    "reference sp",
    "attacker",
    "second organisation's idp",
)


def make_keys_before_forking() -> None:
    """Load the keys every in-process world signs with, so that worker processes forked after
    this inherit them instead of each loading (or, on a fresh data directory, generating) its
    own."""
    for name in WORLD_KEYS:
        world_key(name)


@functools.cache
def _cookie_secret() -> bytes:
    return b"sso-harness in-process cookie secret, per process"


def session_key(name: str) -> str:
    """The key in ``World.broken`` of a browser session whose sign-in failed."""
    return f"session:{name}"


def device_key(name: str) -> str:
    """The key in ``World.broken`` of a device whose activation failed."""
    return f"device:{name}"


@dataclass
class Device:
    name: str
    activation_id: str | None
    check_in_url: str | None


@dataclass(eq=False, kw_only=True)
class World:
    """One scenario's world. Made by ``World.open`` (which starts and stops its servers); the
    constructor only records what ``open`` built."""

    run: ScenarioRun
    seed: int
    idp: MockIdP
    # The in-process reference SP; None when the SP under test is a real one (``remote``).
    reference: ReferenceSP | None
    remote: RemoteTarget | None
    idp_base: str
    sp_base: str
    scim_token: str
    probes: Probes
    features: Features
    # Real sockets on 127.0.0.1 (browser steps, a remote SP) instead of in-process apps.
    loopback: bool
    portal: Portal  # the event loop the in-process apps run on
    transport: Routes  # reaches the in-process apps by host name, anything else by network
    screenshot_dir: str = DEFAULT_SCREENSHOT_DIR
    # Mixed into a remote SP's user names: it keeps its users between scenarios and runs.
    user_suffix: str = ""
    devices: dict[str, Device] = field(default_factory=dict)
    evidence: list[dict[str, Any]] = field(default_factory=list)
    screenshots: list[str] = field(default_factory=list)
    deleted: dict[str, Any] = field(default_factory=dict)  # ref -> the user as last known
    # Why a step failed, by what it would have made ("session:dana", "device:laptop",
    # "provisioning"): the checks that need it are skipped with this reason.
    broken: dict[str, str] = field(default_factory=dict)
    # The positive controls: the first unmutated sign-in that worked, by flow ("sp", "idp").
    controls: dict[str, SignInAttempt] = field(default_factory=dict)
    # Where payloads that make an SP fetch something point (the security suite's XXE cases):
    # a loopback listener, started on first use.
    out_of_band: OutOfBandListener | None = None
    _other_idp: MockIdP | None = field(default=None, init=False)
    # (user, browser session) whose admin page last answered: the next look at the admin page
    # tries it before signing anyone in (harness.observe.admin_view).
    admin_viewer: tuple[str, str] | None = None
    _http_sessions: dict[str, httpx.Client] = field(default_factory=dict, init=False)
    _chromium_sessions: dict[str, BrowserSession] = field(default_factory=dict, init=False)

    @classmethod
    @contextlib.contextmanager
    def open(
        cls,
        run: ScenarioRun,
        *,
        seed: int,
        sp_flaws: tuple[str, ...] = (),
        idp_flaws: tuple[str, ...] = (),
        loopback: bool = False,
        remote: RemoteTarget | None = None,
        run_id: str = "",
        screenshot_dir: str = DEFAULT_SCREENSHOT_DIR,
        saml: bool = True,
    ) -> Iterator[World]:
        """A fresh world, its servers started and the mock IdP and the SP wired to trust each
        other; whatever it started is stopped when the block ends, however it ends.

        ``run_id`` is this run's own identity: mixed into message IDs and (for a remote SP)
        user names, so a persistent SP sees every run as new (the seed repeats the sequence,
        not the identifiers). ``loopback`` puts the apps on real sockets (a browser needs
        them); ``remote`` is a real SP from a target file, reached over the network.
        ``saml=False`` (a scenario of SCIM steps only) neither serves the mock IdP for a
        remote SP nor reads its SAML metadata: a SCIM-only server can be the target."""
        idp_seed = zlib.crc32(f"{run_id}:{seed}".encode())
        with contextlib.ExitStack() as stack:
            portal = process_portal()
            transport = Routes({})
            stack.callback(transport.close)
            reference: ReferenceSP | None = None
            if remote is None:
                idp, reference = _start_reference(
                    stack, portal, transport, run, loopback, idp_seed, sp_flaws, idp_flaws
                )
                sp_base = reference.base_url
            elif saml:
                idp = _start_idp_for_remote(stack, remote, run, idp_seed, idp_flaws)
                sp_base = remote.sp_base
            else:
                idp = _mock_idp(run, IDP_BASE, [world_key("mock idp")], idp_flaws, idp_seed)
                sp_base = remote.sp_base
            world = cls(
                run=run,
                seed=seed,
                idp=idp,
                reference=reference,
                remote=remote,
                idp_base=idp.base_url,
                sp_base=sp_base,
                scim_token=SCIM_TOKEN if remote is None else remote.scim_token or "",
                probes=Probes() if remote is None else remote.probes,
                features=Features() if remote is None else remote.features,
                loopback=loopback or remote is not None,
                portal=portal,
                transport=transport,
                screenshot_dir=screenshot_dir,
                # A real SP keeps its users: names unique to this run and scenario.
                user_suffix="" if remote is None else f"+{idp_seed:08x}",
            )
            stack.callback(world._close)
            if saml or remote is None:
                world._wire()
            yield world

    def _close(self) -> None:
        self._clean_up_remote()
        if self.out_of_band is not None:
            self.out_of_band.stop()
        for page in self._chromium_sessions.values():
            page.close()
        for client in self._http_sessions.values():
            client.close()

    def other_idp(self) -> MockIdP:
        """A second organisation's IdP (``idp2.test``), trusted by the SP for the organisation
        ``globex`` only: what it asserts about another organisation's user must not count."""
        if self._other_idp is not None:
            return self._other_idp
        if self.loopback or self.reference is None:
            raise RuntimeError("a second organisation needs the in-process reference SP")
        other = MockIdP(
            OTHER_IDP_BASE,
            signing_keys=[world_key("second organisation's idp")],
            preset=self.run.preset,
            seed=self.seed + 1,
        )
        self.transport.add("idp2.test", self.portal.serve(create_app(other)))
        other.register_sp_metadata(self._sp_metadata())
        self.reference.add_organisation(
            "globex",
            SCIM_TOKEN + "-globex",
            idp_metadata=other.metadata_xml(),
            email_domains=["globex.test"],
        )
        self._other_idp = other
        return other

    @property
    def sp(self) -> ReferenceSP:
        """The in-process reference SP (not there for a remote target)."""
        if self.reference is None:
            raise RuntimeError("this world's SP is remote: observe it over HTTP")
        return self.reference

    # -- wiring --------------------------------------------------------------------------

    def _sp_metadata(self) -> bytes:
        """The SP's metadata: a remote SP's from where its target file says, the reference
        SP's over HTTP, as any IdP would fetch it."""
        if self.remote is not None:
            try:
                return self.remote.sp_metadata()
            except (OSError, httpx.HTTPError) as exc:
                raise TargetError(f"cannot read the SP's metadata: {exc}") from None
        with self.client() as http:
            return http.get(f"{self.sp_base}/saml/metadata").raise_for_status().content

    def _wire(self) -> None:
        """The mock IdP trusts the SP; the reference SP, when it is ours, trusts the IdP for
        the scenario's organisation."""
        self.idp.register_sp_metadata(
            self._sp_metadata(), SPSettings(name_id_format=NAMEID_FORMATS[self.run.name_id_format])
        )
        if self.reference is None:
            return  # a real SP was configured to trust the IdP by whoever runs it
        self.trust_idp_metadata()

    def trust_idp_metadata(self) -> None:
        """The in-process reference SP (re)reads the IdP's metadata for the scenario's
        organisation, as an administrator would after an IdP key rollover."""
        if self.reference is None:
            raise RuntimeError("only the in-process reference SP can be told to re-read metadata")
        org = self.run.scenario.given.organisation
        self.reference.add_organisation(
            ORGANISATION,
            SCIM_TOKEN,
            idp_metadata=self.idp.metadata_xml(),
            email_domains=[org.email_domain],
            admin_group=org.admin_group,
            license_group=org.license_group,
            subscription=org.subscription,
            seats=org.seats,
            allow_idp_initiated=org.allow_idp_initiated,
        )

    @property
    def sp_entity_id(self) -> str:
        if self.remote is not None:
            return next(iter(self.idp.sps))
        return self.sp.entity_id

    @property
    def scim_url(self) -> str | None:
        if self.remote is not None:
            return self.remote.scim_url
        return f"{self.sp_base}/scim/v2"

    def user_name(self, ref: str) -> str:
        domain = (
            self.remote.email_domain
            if self.remote is not None
            else self.run.scenario.given.organisation.email_domain
        )
        return f"{ref}{self.user_suffix}@{domain}"

    def owns(self, user_name: str) -> bool:
        """Whether ``user_name`` is one of this world's users (a real SP keeps others)."""
        local = user_name.split("@", maxsplit=1)[0].lower()
        return local.endswith(self.user_suffix.lower()) if self.user_suffix else True

    def ref_of(self, user_name: str) -> str:
        return user_name.split("@", maxsplit=1)[0].removesuffix(self.user_suffix)

    def url(self, path: str) -> str:
        return f"{self.sp_base}{path}"

    # -- HTTP ----------------------------------------------------------------------------

    def client(self, **kwargs: Any) -> httpx.Client:
        """A new HTTP client that reaches both apps (no cookies kept between clients)."""
        return HttpClient(transport=self.transport, timeout=30, **kwargs)

    def http_session(self, name: str) -> httpx.Client:
        """The named HTTP session: a client keeping its cookies across steps, as a browser does."""
        if name not in self._http_sessions:
            self._http_sessions[name] = self.client(headers={"User-Agent": "sso-harness"})
        return self._http_sessions[name]

    def forget_http_session(self, name: str) -> None:
        client = self._http_sessions.pop(name, None)
        if client is not None:
            client.close()

    def has_http_session(self, name: str) -> bool:
        return name in self._http_sessions

    def out_of_band_url(self, token: str) -> str:
        """The URL a payload names for ``token``; a request to it is recorded as a hit."""
        if self.out_of_band is None:
            self.out_of_band = OutOfBandListener().start()
        return self.out_of_band.url(token)

    def out_of_band_hits(self, token: str) -> list[dict[str, Any]]:
        if self.out_of_band is None:
            return []
        return [
            {
                "method": hit.method,
                "path": hit.path,
                "query": hit.query,
                "headers": dict(hit.headers),
                "at": hit.at.isoformat(),
                "client": hit.client,
            }
            for hit in self.out_of_band.hits(token)
        ]

    def chromium_session(self, name: str) -> BrowserSession:
        """The named session in a real Chromium (started on first use; loopback worlds only)."""
        if not self.loopback:
            raise RuntimeError("browser steps need a loopback world")
        if name not in self._chromium_sessions:
            # One Chromium per thread serves every world (a cold start costs about a second);
            # each session is a fresh context, so no cookie crosses from one world to the next.
            self._chromium_sessions[name] = shared_browser().session()
        return self._chromium_sessions[name]

    def _clean_up_remote(self) -> None:
        """Delete, over SCIM, the users this world provisioned to a real SP: they would hold its
        seats and fill its directory run after run. Best effort: a failure here judges nothing."""
        if self.remote is None or self.scim_url is None:
            return
        names = {u.user_name for u in self.idp.directory.users()}
        names |= {u.user_name for u in self.deleted.values()}
        headers = {"Authorization": f"Bearer {self.scim_token}"}
        with (
            contextlib.suppress(httpx.HTTPError),
            httpx.Client(timeout=10, verify=default_ssl_context()) as http,
        ):
            for name in sorted(names):
                found = http.get(
                    f"{self.scim_url}/Users",
                    params={"filter": f'userName eq "{name}"', "attributes": "id"},
                    headers=headers,
                )
                if found.status_code != 200:
                    continue
                for resource in found.json().get("Resources", []):
                    http.delete(f"{self.scim_url}/Users/{resource['id']}", headers=headers)
            self._clean_up_remote_groups(http, headers)

    def _clean_up_remote_groups(self, http: httpx.Client, headers: dict[str, str]) -> None:
        """Delete the groups this world provisioned whose members were all its own users (a
        group of the SP's own people is kept, whoever pushed it), so that the next scenario's
        IdP creates its groups afresh instead of finding this one's."""
        state = self.idp.provisioning.state
        ours = {u.scim_id for u in state.users.values()}
        for group in state.groups.values():
            found = http.get(f"{self.scim_url}/Groups/{group.scim_id}", headers=headers)
            if found.status_code != 200:
                continue
            members = {str(m.get("value")) for m in found.json().get("members") or []}
            if members <= ours:
                http.delete(f"{self.scim_url}/Groups/{group.scim_id}", headers=headers)


def _start_reference(
    stack: contextlib.ExitStack,
    portal: Portal,
    transport: Routes,
    run: ScenarioRun,
    loopback: bool,
    idp_seed: int,
    sp_flaws: tuple[str, ...],
    idp_flaws: tuple[str, ...],
) -> tuple[MockIdP, ReferenceSP]:
    """The mock IdP and the reference SP: in-process on their own hosts (``transport`` routes
    to them), or served on loopback sockets bound first, so that the apps know their URLs."""
    sockets = (_listen(), _listen()) if loopback else None
    for sock in sockets or ():
        stack.callback(sock.close)
    idp_base, sp_base = (_url(sockets[0]), _url(sockets[1])) if sockets else (IDP_BASE, SP_BASE)
    idp = _mock_idp(run, idp_base, [world_key("mock idp")], idp_flaws, idp_seed)
    settings = Settings(
        engine=stack.enter_context(lent_database()),
        base_url=sp_base,
        flaws=sp_flaws,
        key=world_key("reference sp"),
        cookie_secret=_cookie_secret(),
        inline=sockets is None,
    )
    reference = ReferenceSP(settings)
    stack.callback(reference.close)
    if sockets is None:
        transport.add("idp.test", portal.serve(create_app(idp)))
        transport.add("sp.test", portal.serve(reference.app))
    else:
        for app, sock in ((create_app(idp), sockets[0]), (reference.app, sockets[1])):
            stack.callback(LoopbackServer(app, sock).start().stop)
    return idp, reference


def _start_idp_for_remote(
    stack: contextlib.ExitStack,
    target: RemoteTarget,
    run: ScenarioRun,
    idp_seed: int,
    idp_flaws: tuple[str, ...],
) -> MockIdP:
    """For a real SP only the mock IdP runs here, on the port the SP trusts, signing with the
    same key as ``sso-harness idp`` (kept in the data directory), so the SP's copy of its
    metadata stays valid from run to run."""
    try:
        sock = _listen(target.idp_port, "mock IdP")
    except ListenError as exc:
        raise TargetError(
            f"{exc}; stop whatever uses that port (a separate `sso-harness idp`?)"
        ) from None
    stack.callback(sock.close)
    keys = [kept_key(data_dir() / "mock-idp")]
    idp = _mock_idp(run, _url(sock), keys, idp_flaws, idp_seed)
    stack.callback(LoopbackServer(create_app(idp), sock).start().stop)
    return idp


def kept_key(directory: Path) -> KeyPair:
    """The key pair kept in ``directory`` (the mock IdP's own, the one a real SP trusts; the
    SP's a real IdP trusts), loaded once per process while its files stay as they are: a key a
    user may have put there is checked as it loads, 30 ms that every scenario run against a
    real SP or IdP paid."""
    stamps: list[tuple[int, int, int] | None] = []
    for name in ("signing.key", "signing.crt"):
        try:
            stat = (directory / name).stat()
        except OSError:
            stamps.append(None)
        else:
            stamps.append((stat.st_mtime_ns, stat.st_size, stat.st_ino))
    return _key_as_on_disk(directory, tuple(stamps))


@functools.cache
def _key_as_on_disk(directory: Path, stamps: tuple[object, ...]) -> KeyPair:
    return load_or_create(directory)


def _mock_idp(
    run: ScenarioRun, base: str, keys: list[KeyPair], flaws: tuple[str, ...], seed: int
) -> MockIdP:
    return MockIdP(
        base,
        signing_keys=keys,
        preset=run.preset,
        flaws=flaws,
        seed=seed,
        attacker_key=world_key("attacker"),
        allow_passwordless_idp_init=True,
    )
