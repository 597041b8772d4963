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
import threading
import time
import zlib
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

import httpx
import uvicorn

from harness.browser import BrowserSession, shared_browser
from harness.home import data_dir
from harness.protocol.keys import KeyPair, generate_key_pair
from harness.protocol.saml import constants as saml
from harness.scenario.model import Organisation, ScenarioRun
from harness.signin import SignInAttempt
from harness.targets import Features, Probes, RemoteTarget, TargetError
from harness.transport import Portal, Routes
from mock_idp.idp import MockIdP
from mock_idp.keystore import load_or_create
from mock_idp.service_providers import SPSettings
from reference_sp.app import ReferenceSP, Settings

IDP_BASE = "http://idp.test"
OTHER_IDP_BASE = "http://idp2.test"
SP_BASE = "http://sp.test"
SCIM_TOKEN = "harness-scim-token"  # noqa: S105 - a token for a throwaway in-process SP
ORGANISATION = "acme"
PASSWORD = "correct horse battery staple"  # noqa: S105 - the mock directory's users
NAMEID_FORMATS = {
    "emailAddress": saml.NAMEID_EMAIL,
    "persistent": saml.NAMEID_PERSISTENT,
    "transient": saml.NAMEID_TRANSIENT,
    "unspecified": saml.NAMEID_UNSPECIFIED,
}


def _bound_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@functools.cache
def _key(name: str) -> KeyPair:
    """Keys are generated once per process: RSA key generation costs more than a scenario."""
    return generate_key_pair(f"sso-harness {name}", now=dt.datetime.now(dt.UTC))


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


@dataclass
class World(AbstractContextManager["World"]):
    run: ScenarioRun
    seed: int
    sp_flaws: tuple[str, ...] = ()
    idp_flaws: tuple[str, ...] = ()
    devices: dict[str, Device] = field(default_factory=dict)
    evidence: list[dict[str, Any]] = field(default_factory=list)
    loopback: bool = False  # real sockets on 127.0.0.1 (browser steps) instead of in-process
    idp_base: str = IDP_BASE
    sp_base: str = SP_BASE
    screenshots: list[str] = field(default_factory=list)
    screenshot_dir: str = "sso-harness-screenshots"
    deleted: dict[str, Any] = field(default_factory=dict)  # ref -> the user as last known
    scim_token: str = SCIM_TOKEN
    remote: RemoteTarget | None = None  # a real SP from a target file
    reference: ReferenceSP | None = None
    # This run's own identity: mixed into message IDs and test user names, so a persistent SP
    # sees every run as new (the seed repeats the sequence, not the identifiers).
    run_id: str = ""
    # Why a step failed, by what it would have made ("session:dana", "device:laptop",
    # "provisioning"): the checks that need it are skipped with this reason.
    broken: dict[str, str] = field(default_factory=dict)
    # The positive controls: the first unmutated sign-in that worked, by flow ("sp", "idp").
    controls: dict[str, SignInAttempt] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.portal = Portal()
        self._servers: list[tuple[uvicorn.Server, threading.Thread]] = []
        self._browsers: dict[str, httpx.Client] = {}
        self._chromium_sessions: dict[str, BrowserSession] = {}
        self.probes = Probes()
        self.features = Features() if self.remote is None else self.remote.features
        self._user_suffix = ""
        self._other_idp: MockIdP | None = None
        if self.remote is not None:
            self._start_remote(self.remote)
            return
        sockets: list[socket.socket] = []
        if self.loopback:
            # Real sockets (a browser needs them): bind first, so the apps know their URLs.
            sockets = [_bound_socket(), _bound_socket()]
            self.idp_base = f"http://127.0.0.1:{sockets[0].getsockname()[1]}"
            self.sp_base = f"http://127.0.0.1:{sockets[1].getsockname()[1]}"
        self.idp = self._make_idp([_key("mock idp")])
        self.reference = ReferenceSP(
            Settings(
                db_url="sqlite://",
                base_url=self.sp_base,
                flaws=self.sp_flaws,
                key=_key("reference sp"),
                cookie_secret=_cookie_secret(),
            )
        )
        if self.loopback:
            self._serve(self.idp.asgi_app(), sockets[0])
            self._serve(self.reference.app, sockets[1])
            self.transport = Routes({})
        else:
            self.transport = Routes(
                {
                    "idp.test": self.portal.serve(self.idp.asgi_app()),
                    "sp.test": self.portal.serve(self.reference.app),
                }
            )
        self._wire(self.run.scenario.given.organisation)

    def _make_idp(self, keys: list[KeyPair]) -> MockIdP:
        return MockIdP(
            self.idp_base,
            signing_keys=keys,
            preset=self.run.preset,
            flaws=self.idp_flaws,
            seed=zlib.crc32(f"{self.run_id}:{self.seed}".encode()),
            attacker_key=_key("attacker"),
            allow_passwordless_idp_init=True,
        )

    def _start_remote(self, target: RemoteTarget) -> None:
        """A real SP: only the mock IdP runs here, on the port the SP trusts, signing with the
        same key as ``sso-harness idp`` (kept in the data directory), so the SP's copy of its
        metadata stays valid from run to run. User names get a per-world suffix: a real SP
        keeps its users between scenarios."""
        self.loopback = True
        self.sp_base = target.sp_base
        self.scim_token = target.scim_token or ""
        self.probes = target.probes
        # A real SP keeps its users: names unique to this run and scenario.
        self._user_suffix = f"+{zlib.crc32(f'{self.run_id}:{self.seed}'.encode()):08x}"
        self.idp_base = f"http://127.0.0.1:{target.idp_port}"
        self.idp = self._make_idp([load_or_create(data_dir() / "mock-idp")])
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", target.idp_port))
        except OSError as exc:
            raise TargetError(
                f"the mock IdP cannot listen on 127.0.0.1:{target.idp_port} ({exc.strerror}); "
                "stop whatever uses that port (a separate `sso-harness idp`?)"
            ) from None
        self._serve(self.idp.asgi_app(), sock)
        self.transport = Routes({})
        try:
            metadata = target.sp_metadata()
        except (OSError, httpx.HTTPError) as exc:
            raise TargetError(f"cannot read the SP's metadata: {exc}") from None
        self.idp.register_sp_metadata(
            metadata, SPSettings(name_id_format=NAMEID_FORMATS[self.run.name_id_format])
        )

    def other_idp(self) -> MockIdP:
        """A second organisation's IdP (``idp2.test``), trusted by the SP for the organisation
        ``globex`` only: what it asserts about another organisation's user must not count."""
        if self._other_idp is not None:
            return self._other_idp
        if self.loopback or self.reference is None:
            raise RuntimeError("a second organisation needs the in-process reference SP")
        other = MockIdP(
            OTHER_IDP_BASE,
            signing_keys=[_key("second organisation's idp")],
            preset=self.run.preset,
            seed=self.seed + 1,
        )
        self.transport.add("idp2.test", self.portal.serve(other.asgi_app()))
        with self.client() as http:
            sp_metadata = http.get(f"{self.sp_base}/saml/metadata").raise_for_status().content
        other.register_sp_metadata(sp_metadata)
        self.reference.add_organization(
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

    def _serve(self, app: Any, sock: socket.socket) -> None:
        config = uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False)
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        deadline = time.monotonic() + 10
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError("a loopback server of the world did not start")
            time.sleep(0.005)
        self._servers.append((server, thread))

    # -- wiring --------------------------------------------------------------------------

    def _wire(self, org: Organisation) -> None:
        with self.client() as http:
            sp_metadata = http.get(f"{self.sp_base}/saml/metadata").raise_for_status().content
        self.idp.register_sp_metadata(
            sp_metadata, SPSettings(name_id_format=NAMEID_FORMATS[self.run.name_id_format])
        )
        self.sp.add_organization(
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
        return f"{ref}{self._user_suffix}@{domain}"

    def owns(self, user_name: str) -> bool:
        """Whether ``user_name`` is one of this world's users (a real SP keeps others)."""
        local = user_name.split("@", maxsplit=1)[0].lower()
        return local.endswith(self._user_suffix.lower()) if self._user_suffix else True

    def ref_of(self, user_name: str) -> str:
        return user_name.split("@", maxsplit=1)[0].removesuffix(self._user_suffix)

    def url(self, path: str) -> str:
        return f"{self.sp_base}{path}"

    # -- HTTP ----------------------------------------------------------------------------

    def client(self, **kwargs: Any) -> httpx.Client:
        """A new HTTP client that reaches both apps (no cookies kept between clients)."""
        return httpx.Client(transport=self.transport, timeout=30, **kwargs)

    def browser(self, name: str) -> httpx.Client:
        """The named browser session: a client whose cookies persist across steps."""
        if name not in self._browsers:
            self._browsers[name] = self.client(headers={"User-Agent": "sso-harness"})
        return self._browsers[name]

    def forget_browser(self, name: str) -> None:
        client = self._browsers.pop(name, None)
        if client is not None:
            client.close()

    def has_browser(self, name: str) -> bool:
        return name in self._browsers

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
        with contextlib.suppress(httpx.HTTPError), httpx.Client(timeout=10) as http:
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

    def __exit__(self, *exc: object) -> None:
        self._clean_up_remote()
        for page in self._chromium_sessions.values():
            page.close()
        for client in self._browsers.values():
            client.close()
        for server, _ in self._servers:
            server.should_exit = True
        for _, thread in self._servers:
            thread.join(timeout=10)
        self.transport.close()
        if self.reference is not None:
            self.reference.close()
        self.portal.__exit__(None, None, None)
