"""Replaying a captured SAML Response against an SP: the Python API of ``sso-harness replay``.

A fresh browser session (an HTTP client keeping cookies) starts a sign-in at the SP's login
probe and reads the ID of the AuthnRequest the SP sends; the capture is rewritten for this SP
and this request (:mod:`harness._replay_rewrite`), re-signed with the mock IdP's key in the
places and with the algorithms of the original, posted to the ACS, and the SP's me probe is
asked who is signed in. A reproduction becomes a regression test in a few lines::

    from harness.replay import replay
    result = replay(open("okta-response.b64", "rb").read())
    assert result.signed_in, result.describe()

Where a replay goes: the in-process reference SP (the default; the capture's user is
provisioned to it over SCIM first), an SP described by a target file (``target=``), or the
SP whose ACS URL is given (``to=``: an SP laid out like ``sso-harness sp``, trusting the
``sso-harness idp`` at ``idp_url``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import random
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit

import httpx
from cryptography import x509

from harness._replay_rewrite import (
    PARTS,
    Capture,
    CaptureShape,
    ReplayError,
    Rewrite,
    read_capture,
    rewrite_capture,
)
from harness.forms import form_with
from harness.home import data_dir
from harness.protocol.keys import KeyLoadError, KeyPair, PrivateKey, load_private_key
from harness.protocol.refusal import Refusal
from harness.protocol.saml.authn_request import parse_authn_request
from harness.protocol.saml.bindings import encode_post_value
from harness.protocol.saml.decode import decode_message
from harness.protocol.saml.encryption import EncryptionChoice
from harness.protocol.saml.metadata import parse_sp_metadata
from harness.protocol.xml import XMLSecurityError
from harness.signin import (
    ACCEPT,
    MAX_HOPS,
    REDIRECTS,
    SignInAttempt,
    _post,
    _record,
    _refusal,
    me_probe_failure,
    read_identity,
    same_user,
)
from harness.targets import Probes, TargetError, load_target

if TYPE_CHECKING:
    from harness.world import World

__all__ = [
    "PARTS",
    "Capture",
    "CaptureShape",
    "Peer",
    "ReplayError",
    "ReplayResult",
    "read_capture",
    "replay",
    "replay_to",
    "world_peer",
]

DEFAULT_IDP_URL = "http://127.0.0.1:8002"  # where `sso-harness idp` and `serve` listen


@dataclass(frozen=True)
class Peer:
    """Where a replay goes, and in whose name it is signed."""

    sp_base: str
    sp_entity_id: str
    encryption_certificate: x509.Certificate | None
    idp_entity_id: str
    idp_key: KeyPair
    probes: Probes = field(default_factory=Probes)
    acs_url: str | None = None  # None: the ACS the SP's AuthnRequest names, else its metadata's
    default_acs: str | None = None
    client: Callable[[], httpx.Client] = lambda: httpx.Client(timeout=30)


@dataclass
class ReplayResult:
    """What the SP answered the replayed capture, and what was sent."""

    attempt: SignInAttempt  # the exchange, the SP's reason and rule, who is signed in
    capture: CaptureShape  # what the capture was, as read
    sent: bytes  # the Response as rewritten and posted
    user_name: str | None  # who the capture signs in (its NameID, or the subject put in)
    acs_url: str | None = None
    request_id: str | None = None  # the fresh AuthnRequest answered
    status: int | None = None  # the ACS's HTTP status
    kept: tuple[str, ...] = ()
    notes: list[str] = field(default_factory=list)

    @property
    def signed_in(self) -> bool:
        return self.attempt.signed_in

    @property
    def identity(self) -> str | None:
        return self.attempt.identity

    @property
    def reason(self) -> str | None:
        return self.attempt.reason

    @property
    def rule(self) -> str | None:
        return self.attempt.rule

    def describe(self) -> str:
        text = self.attempt.describe()
        if self.rule:
            text += f" [{self.rule}]"
        return text


def parts(keep: Iterable[str]) -> frozenset[str]:
    """``keep`` checked against :data:`PARTS`."""
    kept = frozenset(keep)
    unknown = sorted(kept - set(PARTS))
    if unknown:
        raise ReplayError(
            f"unknown part(s) to keep: {', '.join(unknown)} (parts: {', '.join(PARTS)})"
        )
    return kept


# -- the fresh sign-in ---------------------------------------------------------------------


@dataclass
class _Start:
    request_id: str | None = None
    acs_url: str | None = None
    relay_state: str | None = None


def _request_in(message: str, start: _Start) -> None:
    """The AuthnRequest carried by a URL or a form's SAMLRequest value, read into ``start``."""
    try:
        decoded = decode_message(message)
        request = parse_authn_request(decoded.xml)
    except (Refusal, XMLSecurityError):
        return
    start.request_id, start.acs_url = request.id, request.acs_url
    start.relay_state = decoded.relay_state


def start_sign_in(
    client: httpx.Client, peer: Peer, user_name: str, attempt: SignInAttempt
) -> _Start:
    """Start an SP-initiated sign-in at the login probe and follow the SP's own redirects
    until it sends the browser to the IdP: the AuthnRequest it sends is read, not delivered."""
    start = _Start()
    sp_host = urlsplit(peer.sp_base).netloc
    response = client.get(peer.probes.login_url(peer.sp_base, user_name, None), headers=ACCEPT)
    _record(attempt.exchange, response)
    for _ in range(MAX_HOPS):
        if response.status_code in REDIRECTS and "location" in response.headers:
            target = urljoin(str(response.url), response.headers["location"])
            if urlsplit(target).netloc != sp_host:
                attempt.reached_idp = True
                _request_in(target, start)
                return start
            response = client.get(target, headers=ACCEPT)
            _record(attempt.exchange, response)
            continue
        form = form_with(response.text, str(response.url), "SAMLRequest")
        if form is not None:
            attempt.reached_idp = True
            body = httpx.QueryParams(form.fields)
            _request_in(f"{form.action}?{body}", start)
        break
    return start


def _deliver(
    client: httpx.Client, peer: Peer, acs: str, xml: bytes, relay_state: str | None
) -> tuple[SignInAttempt, int]:
    attempt = SignInAttempt(signed_in=False, delivered=True)
    fields = {"SAMLResponse": encode_post_value(xml)}
    if relay_state is not None:
        fields["RelayState"] = relay_state
    response = _post(client, acs, fields)
    _record(attempt.exchange, response)
    if response.status_code >= 400:
        _refusal(response, "sp", attempt)
    elif "location" in response.headers:
        attempt.landed_on = urlsplit(urljoin(acs, response.headers["location"])).path
    return attempt, response.status_code


def replay_to(
    peer: Peer,
    capture: Capture,
    *,
    keep: Iterable[str] = (),
    now: dt.datetime | None = None,
    rng: random.Random | None = None,
    subject: str | None = None,
    encryption: EncryptionChoice | None = None,
    client: httpx.Client | None = None,
) -> ReplayResult:
    """Replay ``capture`` to ``peer`` in a fresh session (or in ``client``'s)."""
    kept = parts(keep)
    rng = rng or random.Random()
    user_name = subject or capture.shape.name_id
    own_client = client is None
    http = peer.client() if client is None else client
    try:
        opened = SignInAttempt(signed_in=False)
        start = start_sign_in(http, peer, user_name or "", opened)
        acs = peer.acs_url or start.acs_url or peer.default_acs
        if acs is None:
            raise ReplayError("the SP names no ACS URL (give it with --to)")
        rewritten = rewrite_capture(
            capture,
            Rewrite(
                acs_url=acs,
                audience=peer.sp_entity_id,
                issuer=peer.idp_entity_id,
                in_response_to=start.request_id,
                now=now or dt.datetime.now(dt.UTC).replace(microsecond=0),
                keep=kept,
                subject=subject,
            ),
            key=peer.idp_key,
            encrypt_to=peer.encryption_certificate,
            rng=rng,
            encryption=encryption,
        )
        if start.request_id is None and "in-response-to" not in kept:
            rewritten.notes.append("the SP's login probe sent no AuthnRequest: InResponseTo kept")
        relay_state = start.relay_state if start.request_id else capture.relay_state
        attempt, status = _deliver(http, peer, acs, rewritten.xml, relay_state)
        attempt.reached_idp = opened.reached_idp
        attempt.exchange[:0] = opened.exchange
        identity, answer = read_identity(http, peer.sp_base, peer.probes)
    finally:
        if own_client:
            http.close()
    attempt.exchange.append({"request": f"GET {peer.sp_base}{peer.probes.me}", "answer": answer})
    attempt.identity, attempt.me_failed = identity, me_probe_failure(answer)
    attempt.signed_in = user_name is not None and same_user(identity, user_name)
    if identity is not None and not attempt.signed_in:
        attempt.reason = "signed-in-as-someone-else"
    return ReplayResult(
        attempt=attempt,
        capture=capture.shape,
        sent=rewritten.xml,
        user_name=user_name,
        acs_url=acs,
        request_id=start.request_id,
        status=status,
        kept=tuple(p for p in PARTS if p in kept),
        notes=rewritten.notes,
    )


# -- where a replay goes ---------------------------------------------------------------------


def _metadata_peer(
    metadata: bytes, *, sp_base: str, idp_base: str, acs_url: str | None, probes: Probes
) -> Peer:
    from mock_idp.keystore import load_or_create

    try:
        sp = parse_sp_metadata(metadata)
    except (Refusal, XMLSecurityError) as exc:
        raise ReplayError(
            f"the SP's metadata cannot be read: {getattr(exc, 'message', exc)}"
        ) from None
    post_acs = [e for e in sp.acs_endpoints if e.binding.endswith("HTTP-POST")]
    return Peer(
        sp_base=sp_base,
        sp_entity_id=sp.entity_id,
        encryption_certificate=next(iter(sp.encryption_certificates), None),
        idp_entity_id=f"{idp_base.rstrip('/')}/saml/metadata",
        idp_key=load_or_create(data_dir() / "mock-idp"),
        probes=probes,
        acs_url=acs_url,
        default_acs=post_acs[0].location if post_acs else None,
        client=lambda: httpx.Client(timeout=30, headers={"User-Agent": "sso-harness"}),
    )


def acs_peer(acs_url: str, idp_url: str = DEFAULT_IDP_URL) -> Peer:
    """The SP whose ACS is ``acs_url``, laid out like ``sso-harness sp`` (its metadata at
    ``/saml/metadata``), trusting the ``sso-harness idp`` at ``idp_url``."""
    parts_ = urlsplit(acs_url)
    if parts_.scheme not in ("http", "https") or not parts_.netloc:
        raise ReplayError(f"--to {acs_url!r} is not an http(s) URL")
    sp_base = f"{parts_.scheme}://{parts_.netloc}"
    try:
        metadata = httpx.get(f"{sp_base}/saml/metadata", timeout=10).raise_for_status().content
    except httpx.HTTPError as exc:
        raise ReplayError(
            f"cannot read the SP's metadata at {sp_base}/saml/metadata: {exc}"
        ) from None
    return _metadata_peer(
        metadata, sp_base=sp_base, idp_base=idp_url, acs_url=acs_url, probes=Probes()
    )


def target_peer(path: str | Path) -> tuple[Peer, Callable[[str], None]]:
    """The SP of a target file, and how to provision a user to it (over its SCIM, if any)."""
    from harness.component_cli import base_url

    try:
        target = load_target(path)
        metadata = target.sp_metadata()
    except TargetError as exc:
        raise ReplayError(str(exc)) from None
    except (OSError, httpx.HTTPError) as exc:
        raise ReplayError(f"cannot read the SP's metadata: {exc}") from None
    peer = _metadata_peer(
        metadata,
        sp_base=target.sp_base,
        idp_base=base_url("127.0.0.1", target.idp_port),
        acs_url=None,
        probes=target.probes,
    )

    def provision(user_name: str) -> None:
        if target.scim_url is None:
            return  # the SP takes users on sight, or whoever runs it made the user
        user = {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": user_name,
            "active": True,
            "emails": [{"value": user_name, "primary": True}] if "@" in user_name else [],
        }
        headers = {"Authorization": f"Bearer {target.scim_token or ''}"}
        with contextlib.suppress(httpx.HTTPError):
            httpx.post(f"{target.scim_url}/Users", json=user, headers=headers, timeout=10)

    return peer, provision


@contextlib.contextmanager
def reference_peer(
    user_name: str | None, *, sp_flaws: Sequence[str] = (), seed: int = 0
) -> Iterator[Peer]:
    """The in-process reference SP trusting the in-process mock IdP, ``user_name`` provisioned
    to it over SCIM (the organisation takes the user's email domain)."""
    from harness.provisioning import ProvisioningFailed, provision
    from harness.scenario.model import Given, Organisation, Provision, Scenario, ScenarioRun, Step
    from harness.world import PASSWORD, World

    domain = user_name.rpartition("@")[2] if user_name and "@" in user_name else "example.com"
    scenario = Scenario(
        title="replay of a captured response",
        given=Given(organisation=Organisation(email_domain=domain.lower())),
        steps=(Step(kind="provision", value=Provision(cycle="initial")),),
    )
    run = ScenarioRun(suite="replay", path="replay", scenario=scenario)
    with contextlib.ExitStack() as stack:
        try:
            world = stack.enter_context(World.open(run, seed=seed, sp_flaws=tuple(sp_flaws)))
        except ValueError as exc:  # an unknown flaw
            raise ReplayError(str(exc)) from None
        if user_name:
            email = user_name if "@" in user_name else None
            world.idp.add_user(user_name, password=PASSWORD, email=email)
            try:
                provision(world, "initial", "rfc")
            except ProvisioningFailed as exc:
                raise ReplayError(f"the capture's user could not be provisioned: {exc}") from None
        yield world_peer(world)


def world_peer(world: World) -> Peer:
    """The SP of a scenario's world, the world's mock IdP signing."""
    registered = world.idp.sps[world.sp_entity_id].metadata
    return Peer(
        sp_base=world.sp_base,
        sp_entity_id=world.sp_entity_id,
        encryption_certificate=next(iter(registered.encryption_certificates), None),
        idp_entity_id=world.idp.entity_id,
        idp_key=world.idp.signing_key,
        probes=world.probes,
        client=world.client,
    )


def decryption_keys(sp_key: PrivateKey | bytes | str | Path | None) -> list[PrivateKey]:
    if sp_key is None:
        return []
    if isinstance(sp_key, (str, Path)):
        path = Path(sp_key)
        try:
            sp_key = path.read_bytes()
        except OSError as exc:
            raise ReplayError(f"cannot read the SP key {path}: {exc.strerror}") from None
    if isinstance(sp_key, bytes):
        try:
            return [load_private_key(sp_key)]
        except KeyLoadError as exc:
            raise ReplayError(f"the SP key: {exc}") from None
    return [sp_key]


def replay(
    capture: bytes | str | Capture,
    *,
    to: str | None = None,
    target: str | Path | None = None,
    keep: Iterable[str] = (),
    sp_key: PrivateKey | bytes | str | Path | None = None,
    idp_url: str = DEFAULT_IDP_URL,
    sp_flaws: Sequence[str] = (),
    now: dt.datetime | None = None,
    seed: int | None = None,
) -> ReplayResult:
    """Replay a captured SAMLResponse (XML, base64, a form body or a URL carrying it) to the
    in-process reference SP, the SP of a target file (``target``) or the SP whose ACS URL is
    ``to``; ``keep`` names the parts of :data:`PARTS` left as captured on purpose, ``sp_key``
    (a PEM file, PEM bytes or a key) decrypts an encrypted capture. Raises ReplayError (one
    line) for what cannot be replayed."""
    kept = parts(keep)
    read = (
        capture if isinstance(capture, Capture) else read_capture(capture, decryption_keys(sp_key))
    )
    rng = random.Random(seed)
    if to is not None and target is not None:
        raise ReplayError("give the SP either as --to ACS_URL or as --target FILE, not both")
    if target is not None:
        peer, provision = target_peer(target)
        if read.shape.name_id:
            provision(read.shape.name_id)
        return replay_to(peer, read, keep=kept, now=now, rng=rng)
    if to is not None:
        return replay_to(acs_peer(to, idp_url), read, keep=kept, now=now, rng=rng)
    with reference_peer(read.shape.name_id, sp_flaws=sp_flaws, seed=seed or 0) as peer:
        return replay_to(peer, read, keep=kept, now=now, rng=rng)
