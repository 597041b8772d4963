"""The preflight of a target file: is the SP there, and does the file describe it right?

``sso-harness target check FILE`` prints every probe; ``sso-harness run --target FILE`` makes the
same probe first and stops with one line when the SP cannot be used (CONTRACT: exit 2), rather
than reporting hundreds of errors about an SP that is not running.

The probes, in order: the SP's metadata (fetched or read, parsed, an ACS over HTTP-POST); an
SP-initiated start (the login probe, following the SP's own redirects) that reaches the mock
IdP's SSO URL with a SAMLRequest; the me probe answering "nobody" to a fresh browser; SCIM
discovery with the token, where the target has SCIM.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx

from harness.protocol.refusal import Refusal
from harness.protocol.saml import constants as saml
from harness.protocol.saml.metadata import parse_sp_metadata
from harness.signin import ACCEPT, REDIRECTS
from harness.targets import RemoteTarget
from harness.tls import default_ssl_context

TIMEOUT = 10


@dataclass(frozen=True)
class Probe:
    name: str
    ok: bool
    detail: str
    essential: bool = True  # without it, nothing can be judged


@dataclass
class Preflight:
    probes: list[Probe] = field(default_factory=list)

    @property
    def usable(self) -> bool:
        return all(p.ok for p in self.probes if p.essential)

    def first_problem(self) -> str | None:
        return next(
            (f"{p.name}: {p.detail}" for p in self.probes if p.essential and not p.ok), None
        )


def _metadata(target: RemoteTarget) -> Probe:
    where = target.sp_metadata_file or target.sp_metadata_url or ""
    try:
        data = target.sp_metadata()
    except OSError as exc:
        return Probe("metadata", False, f"cannot read {where} ({exc.strerror or exc})")
    except httpx.HTTPError as exc:
        return Probe("metadata", False, f"cannot fetch {where} ({exc})")
    try:
        metadata = parse_sp_metadata(data)
    except (Refusal, ValueError) as exc:
        return Probe("metadata", False, f"{where} is not SP metadata ({exc})")
    posts = [e for e in metadata.acs_endpoints if e.binding == saml.BINDING_HTTP_POST]
    if not posts:
        return Probe("metadata", False, f"{metadata.entity_id} has no ACS on HTTP-POST")
    front = [
        e.binding.rsplit(":", 1)[-1]
        for e in metadata.slo_endpoints
        if e.binding in (saml.BINDING_HTTP_REDIRECT, saml.BINDING_HTTP_POST)
    ]
    slo = f"; single logout on {', '.join(front)}" if front else "; no front-channel logout"
    return Probe("metadata", True, f"entityID {metadata.entity_id}, ACS {posts[0].location}{slo}")


def _start(target: RemoteTarget, http: httpx.Client) -> Probe:
    idp_host = f"127.0.0.1:{target.idp_port}"
    url = target.probes.login_url(
        target.sp_base, f"preflight@{target.email_domain}", target.probes.me
    )
    for _ in range(10):
        try:
            response = http.get(url, headers=ACCEPT)
        except httpx.HTTPError as exc:
            return Probe("sign-in start", False, f"GET {url} failed ({exc})")
        if response.status_code not in REDIRECTS or "location" not in response.headers:
            return Probe(
                "sign-in start",
                False,
                f"GET {url} answered {response.status_code} without sending the browser to the "
                f"IdP at {idp_host} (check probes.login)",
            )
        url = urljoin(str(response.url), response.headers["location"])
        parts = urlsplit(url)
        if parts.netloc in (idp_host, f"localhost:{target.idp_port}"):
            if "SAMLRequest" not in parse_qs(parts.query):
                return Probe(
                    "sign-in start", False, f"reached the IdP without a SAMLRequest: {url}"
                )
            return Probe("sign-in start", True, f"reaches the IdP: {parts.path}?SAMLRequest=...")
        if parts.netloc != urlsplit(target.sp_base).netloc:
            return Probe(
                "sign-in start",
                False,
                f"the SP sends the browser to {parts.scheme}://{parts.netloc}, not to the mock "
                f"IdP at {idp_host} (does the SP trust its metadata at "
                f"http://{idp_host}/saml/metadata?)",
            )
    return Probe("sign-in start", False, "more than 10 redirects within the SP")


def _me(target: RemoteTarget, http: httpx.Client) -> Probe:
    custom = target.probes.custom.get("who_am_i")
    if custom is not None:
        try:
            named = custom(http, target.sp_base)
        except Exception as exc:  # the user's probe module failing is their configuration's
            return Probe("me probe", False, f"who_am_i of the probe module raised {exc!r}")
        if named:
            return Probe("me probe", False, f"who_am_i names {named!r} for a fresh browser")
        return Probe("me probe", True, "who_am_i (probe module): nobody signed in")
    url = f"{target.sp_base}{target.probes.me}"
    try:
        response = http.get(url, headers=ACCEPT)
    except httpx.HTTPError as exc:
        return Probe("me probe", False, f"GET {url} failed ({exc})")
    if response.status_code == 404:
        return Probe("me probe", False, f"GET {url} answered 404 (check probes.me)")
    named = target.probes.identity(
        response.status_code, response.headers.get("content-type", ""), response.text
    )
    if named is not None:
        return Probe("me probe", False, f"names {named!r} for a browser that never signed in")
    return Probe("me probe", True, f"nobody signed in: {response.status_code}")


def _scim(target: RemoteTarget, http: httpx.Client) -> Probe:
    if target.scim_url is None:
        return Probe("SCIM", True, "none: users are accepted on sight", essential=False)
    headers = {"Authorization": f"Bearer {target.scim_token}"}
    url = f"{target.scim_url}/Users"
    try:
        response = http.get(url, params={"count": "1"}, headers=headers)
    except httpx.HTTPError as exc:
        return Probe("SCIM", False, f"GET {url} failed ({exc})")
    if response.status_code in (401, 403):
        return Probe("SCIM", False, f"GET {url} answered {response.status_code}: check the token")
    if response.status_code != 200:
        return Probe("SCIM", False, f"GET {url} answered {response.status_code}")
    return Probe("SCIM", True, f"GET {url} answered 200")


def preflight(target: RemoteTarget, *, full: bool = True, saml: bool = True) -> Preflight:
    """Probe the SP; ``full=False`` stops at the first essential problem (the run's check);
    ``saml=False`` (a run of SCIM suites only) probes SCIM alone."""
    found = Preflight()
    if saml:
        found.probes.append(_metadata(target))
    if not full and not found.usable:
        return found
    with httpx.Client(timeout=TIMEOUT, verify=default_ssl_context()) as http:
        for probe in (_start, _me, _scim) if saml else (_scim,):
            found.probes.append(probe(target, http))
            if not full and not found.usable:
                break
    return found
