"""The peers on loopback: the project's mock IdP and one peer SP, each a real server on
127.0.0.1, wired by exchanging metadata the way a target file's SP and the harness's IdP are
(the IdP signs with the data directory's key, as in ``tests/harness/test_remote_target.py``),
plus a small browser that follows redirects and auto-submitting forms."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urljoin, urlsplit

import httpx

from harness.forms import form_with
from harness.home import data_dir
from mock_idp.app import create_app
from mock_idp.idp import MockIdP
from mock_idp.keystore import load_or_create
from tests.support.servers import serve

PASSWORD = "correct horse battery staple"  # a test user's
MAX_HOPS = 12


class Peer(Protocol):
    app: Any
    metadata_xml: bytes

    def close(self) -> None: ...


PeerFactory = Callable[..., Peer]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Loopback:
    idp: MockIdP
    idp_base: str
    idp_port: int
    sp_base: str
    peer: Any

    @property
    def sp_entity_id(self) -> str:
        return f"{self.sp_base}/metadata"


@contextmanager
def peer_on_loopback(
    factory: PeerFactory, *, preset: str = "generic", **options: Any
) -> Iterator[Loopback]:
    """The mock IdP (``preset``) and the peer SP built by ``factory(base_url, idp_metadata,
    **options)``, each served on a free loopback port, trusting each other's metadata."""
    idp_port, sp_port = free_port(), free_port()
    idp_base, sp_base = f"http://127.0.0.1:{idp_port}", f"http://127.0.0.1:{sp_port}"
    idp = MockIdP(idp_base, signing_keys=[load_or_create(data_dir() / "mock-idp")], preset=preset)
    peer = factory(sp_base, idp.metadata_xml(), **options)
    try:
        with serve(create_app(idp), port=idp_port), serve(peer.app, port=sp_port):
            # The IdP learns the SP the way an administrator would: from its metadata URL.
            metadata = httpx.get(f"{sp_base}/metadata", timeout=10)
            metadata.raise_for_status()
            idp.register_sp_metadata(metadata.content)
            yield Loopback(idp, idp_base, idp_port, sp_base, peer)
    finally:
        peer.close()


@dataclass
class Visit:
    """Where a browser ended: the last response, and every hop on the way."""

    response: httpx.Response
    hops: list[str]
    saml_responses: list[str] = field(default_factory=list)  # as posted to the SP


def _hop(response: httpx.Response) -> str:
    return f"{response.request.method} {response.request.url} -> {response.status_code}"


def follow(browser: httpx.Client, response: httpx.Response, user: str = "") -> Visit:
    """Go on like a browser: follow redirects, fill the IdP's login form, post the SAML
    binding's auto-submitting forms; stop at the first page that is none of those."""
    visit = Visit(response, [_hop(response)])
    for _ in range(MAX_HOPS):
        if response.is_redirect:
            response = browser.get(urljoin(str(response.url), response.headers["location"]))
        else:
            html = response.text if "html" in response.headers.get("content-type", "") else ""
            login = form_with(html, str(response.url), "username", "password")
            saml = form_with(html, str(response.url), "SAMLResponse") or form_with(
                html, str(response.url), "SAMLRequest"
            )
            if login is not None and user:
                login.fields.update(username=user, password=PASSWORD)
                response = browser.post(login.action, data=login.fields)
            elif saml is not None:
                if "SAMLResponse" in saml.fields:
                    visit.saml_responses.append(saml.fields["SAMLResponse"])
                response = browser.post(saml.action, data=saml.fields)
            else:
                break
        visit.response = response
        visit.hops.append(_hop(response))
    visit.response = response
    return visit


def sign_in_sp_initiated(
    browser: httpx.Client, world: Loopback, user: str, relay_state: str = "/whoami"
) -> Visit:
    start = browser.get(f"{world.sp_base}/login", params={"target": relay_state})
    return follow(browser, start, user)


def sign_in_idp_initiated(browser: httpx.Client, world: Loopback, user: str) -> Visit:
    start = browser.get(
        f"{world.idp_base}/saml/idp-init", params={"sp": world.sp_entity_id, "user": user}
    )
    return follow(browser, start, user)


def who(browser: httpx.Client, world: Loopback) -> str | None:
    """The user the SP's ``/whoami`` names, or None when it answers 401."""
    me = browser.get(f"{world.sp_base}/whoami")
    if me.status_code != 200:
        return None
    text = me.text.strip()
    return text.removeprefix("REMOTE_USER=") if text.startswith("REMOTE_USER=") else None


def path_of(visit: Visit) -> str:
    return urlsplit(str(visit.response.url)).path


TARGET_TOML = """\
name = "{name}"
[sp]
base_url = "{sp_base}"
metadata_url = "{sp_base}/metadata"
email_domain = "example.com"
[idp]
port = {idp_port}
[probes]
login = "/login?target={{relay_state}}"
me = "/whoami"
me_pattern = 'REMOTE_USER=(\\S+)'
logout = "/logout"
[features]
scim = false
admin = false
licenses = false
activations = false
idp_initiated = {idp_initiated}
single_logout = true
"""


@dataclass
class PeerTarget:
    """A peer SP alone on loopback, trusting the mock IdP the harness will start at
    ``idp_port``, and the target file (CONTRACT.md "Target file") that points at it."""

    sp_base: str
    idp_port: int
    target_file: Path
    peer: Any


@contextmanager
def peer_as_target(
    factory: PeerFactory, directory: Path, name: str, *, allow_unsolicited: bool = True
) -> Iterator[PeerTarget]:
    """Serve the peer SP alone; the harness brings its own mock IdP to ``idp_port`` (its
    metadata is known in advance: the data directory's key at that address)."""
    idp_port, sp_port = free_port(), free_port()
    idp = MockIdP(
        f"http://127.0.0.1:{idp_port}", signing_keys=[load_or_create(data_dir() / "mock-idp")]
    )
    sp_base = f"http://127.0.0.1:{sp_port}"
    peer = factory(sp_base, idp.metadata_xml(), allow_unsolicited=allow_unsolicited)
    path = directory / f"{name.replace(' ', '-')}.toml"
    path.write_text(
        TARGET_TOML.format(
            name=name,
            sp_base=sp_base,
            idp_port=idp_port,
            idp_initiated=str(allow_unsolicited).lower(),
        )
    )
    try:
        with serve(peer.app, port=sp_port):
            yield PeerTarget(sp_base, idp_port, path, peer)
    finally:
        peer.close()
