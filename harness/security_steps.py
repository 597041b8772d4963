"""Running a case of the SAML security catalogue against the SP under test: each variant from a
fresh browser and a fresh SP-initiated request (IdP-initiated where the case is about
unsolicited responses), the mock IdP sending the case's mutated response, and the SP's me probe
asked who is signed in afterwards. What it saw goes to :func:`harness.checks.security.judge_case`.
"""

from __future__ import annotations

import contextlib
import resource
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx

from harness.checks.security import SECURITY_CHECKS, CaseRun
from harness.checks.security_catalogue import (
    ATTACKER_SUFFIX,
    CASES_BY_ID,
    CaseValues,
    SecurityCase,
    Variant,
    bound,
)
from harness.forms import post_form
from harness.protocol.keys import KeyPair
from harness.protocol.refusal import Refusal
from harness.protocol.saml.authn_request import parse_authn_request
from harness.protocol.saml.bindings import encode_post_value
from harness.protocol.saml.decode import decode_message
from harness.protocol.saml.ids import new_id
from harness.protocol.saml.logout import LogoutResponse, build_logout_response
from harness.protocol.saml.mutators import MutatorCall
from harness.protocol.saml.signing import sign_element
from harness.protocol.xml import to_bytes
from harness.response_evidence import journal_seq, response_sent
from harness.scenario.model import SecurityCaseStep, SignIn
from harness.sessions import attempt_sign_in
from harness.signin import MAX_HOPS, SignInAttempt, read_identity, same_user, sign_in
from harness.verdicts import Verdict, judged, not_judged
from harness.world import PASSWORD, World, world_key


def run_case(world: World, step: SecurityCaseStep, line: int) -> Iterator[Verdict]:
    case = CASES_BY_ID[step.case]
    for variant in case.variants:
        check = SECURITY_CHECKS[case.check_id(variant)]
        blocked = _blocked(world, case, variant)
        if blocked is not None:
            yield from not_judged([check], line, blocked)
            continue
        yield judged(check, line, _run_variant(world, step, case, variant))


def _encrypts(world: World) -> bool:
    registered = world.idp.sps.get(world.sp_entity_id)
    if registered is None:
        return False
    if registered.settings.encrypt is not None:
        return registered.settings.encrypt
    return bool(registered.metadata.encryption_certificates)


def _blocked(world: World, case: SecurityCase, variant: Variant) -> str | None:
    """Why the case cannot run against this target (None: it can)."""
    if (broken := world.broken.get("provisioning")) is not None:
        return broken
    if "encryption" in case.needs and not _encrypts(world):
        return "the SP's metadata offers no encryption key: the IdP cannot encrypt to it"
    idp_initiated = "idp_initiated" in case.needs or variant.via == "idp"
    if idp_initiated and not world.features.idp_initiated:
        return "the target has no IdP-initiated sign-in (features.idp_initiated)"
    if "second_idp" in case.needs and (world.reference is None or world.loopback):
        return (
            "no second IdP that the SP trusts for another organisation (the in-process "
            "reference SP's second organisation only)"
        )
    if "rollover" in case.needs and world.reference is None:
        return (
            "the SP read the IdP's metadata before the run: a second signing key cannot be "
            "published to it from here (the in-process reference SP only)"
        )
    return None


def _control(world: World, step: SecurityCaseStep, via: str) -> SignInAttempt | None:
    """P01 through ``via`` in this world: the first unmutated sign-in that worked, run now when
    none has (an IdP-initiated control only where the SP takes unsolicited responses)."""
    if via not in world.controls and (via == "sp" or world.features.idp_initiated):
        session = f"control:{via}"
        world.forget_http_session(session)
        attempt = attempt_sign_in(world, SignIn(user=step.user, session=session, via=via))  # type: ignore[arg-type]
        world.controls[via] = attempt
    return world.controls.get(via)


def _signed_subject(world: World, step: SecurityCaseStep, variant: Variant) -> str:
    named = [call.params.get("value") for call in variant.mutators]
    if "{attacker_suffixed}" in named:
        return world.user_name(step.attacker) + ATTACKER_SUFFIX
    return world.user_name(step.user)


def _sent(world: World) -> dict[str, Any]:
    """The Response the IdP sent last, as evidence (its assertion as before encryption)."""
    return response_sent(world.idp.journal.last("Response"))


def _no_effect(world: World, since: int) -> str | None:
    """The IdP's reason when it could not apply the case's mutators to this response."""
    for entry in world.idp.journal.entries():
        error = entry.error or {}
        if entry.seq > since and error.get("reason") == "mutator-no-effect":
            return error.get("message")
    return None


def _journal_seq(world: World) -> int:
    return journal_seq(world.idp.journal)


def _run_variant(
    world: World, step: SecurityCaseStep, case: SecurityCase, variant: Variant
) -> CaseRun:
    signed_subject = _signed_subject(world, step, variant)
    attacker = world.user_name(step.attacker)
    control = attempt = None
    if case.id != "P01":
        # A response the SP must accept is controlled by P01 (SP-initiated): an IdP-initiated
        # one (C08) is what is judged, not a control of itself.
        control = _control(world, step, "sp" if case.expect == "signed-in" else variant.via)
    session = f"case:{case.id}:{variant.name}"
    world.forget_http_session(session)
    named = {v for call in variant.mutators for v in call.params.values()}
    token = case.check_id(variant)
    out_of_band = world.out_of_band_url(token) if "{out_of_band}" in named else ""
    calls = bound(variant.mutators, CaseValues(attacker, out_of_band))
    since = _journal_seq(world)
    if calls:
        world.idp.plan_next(*calls, sp=world.sp_entity_id)
    measured = world.reference is not None and case.slow_after_s is not None
    rss_before = _max_rss_kib() if measured else 0
    flow = case.flow_of(variant)
    probes: list[dict[str, Any]] = []  # the oracle flow's answers
    started = time.perf_counter()
    try:
        attempt = _send(world, step, variant, flow, session, probes)
    except httpx.TimeoutException as exc:  # a hang: judged, never an error of the harness
        attempt = SignInAttempt(signed_in=False, reason=f"no answer in time ({exc})")
    finally:
        world.idp.plan.clear()  # a response never drawn must not break the next case's
    answer_s = time.perf_counter() - started
    if case.id == "P01" and attempt.signed_in:
        world.controls.setdefault(variant.via, attempt)
    run = CaseRun(
        case,
        variant,
        signed_subject,
        attacker,
        attempt,
        control,
        answer_s=answer_s,
        out_of_band=world.out_of_band_hits(token) if out_of_band else [],
        evidence=_sent(world),
    )
    if (why := _no_effect(world, since)) is not None:
        run.evidence["not_sent"] = why
    if flow == "oracle":
        run.evidence["oracle_probes"] = probes
    if measured:  # the in-process SP shares this process: its peak is ours
        run.evidence["memory"] = {
            "max_rss_kib_before": rss_before,
            "max_rss_kib_after": _max_rss_kib(),
        }
    if flow == "replay" or variant.replayed:
        _replay(world, run)
    elif flow == "acs-scheme":
        run.evidence["acs"] = _acs(world)
        run.evidence["in_process"] = not world.loopback  # reached without any network
    return run


ORACLE_PARTS = ("last-byte", "first-byte", "key")


def _broken_ciphertexts(
    world: World, step: SecurityCaseStep, session: str, probes: list[dict[str, Any]]
) -> SignInAttempt:
    """E02: one sign-in per broken part of an AES-CBC EncryptedAssertion in an unsigned
    Response, each from a fresh browser; what the SP answered each (status, reason, time) goes
    to ``probes``."""
    attempt = SignInAttempt(signed_in=False)
    for part in ORACLE_PARTS:
        name = f"{session}:{part}"
        world.forget_http_session(name)
        # The Response unsigned: a signature over the ciphertext would stop the SP before it
        # decrypts, and the decryption's answers are what an oracle leaks.
        calls = [MutatorCall(name, {}) for name in ("unsigned-response", "cbc-encryption")]
        calls.append(MutatorCall("corrupt-ciphertext", {"part": part}))
        world.idp.plan_next(*calls, sp=world.sp_entity_id)
        started = time.perf_counter()
        try:
            attempt = attempt_sign_in(world, SignIn(user=step.user, session=name))
        finally:
            world.idp.plan.clear()
        # The answer to the response's POST: the last POST that went to the SP, whatever its ACS
        # path is called (/acs, /Shibboleth.sso/SAML2/POST...).
        sp_post = f"POST {world.sp_base}"
        posted = [e for e in attempt.exchange if str(e.get("request", "")).startswith(sp_post)]
        probes.append(
            {
                "part": part,
                "delivered": attempt.delivered,
                "status": posted[-1].get("status") if posted else None,
                "reason": attempt.reason,
                "identity": attempt.identity,
                "answer_s": round(time.perf_counter() - started, 3),
            }
        )
        if attempt.identity is not None:
            break
    return attempt


def _to_the_idp(world: World, client: Any, user_name: str) -> str:
    """Start an SP-initiated sign-in and stop at the IdP: the URL the SP sent the browser to."""
    url = world.probes.login_url(world.sp_base, user_name, None)
    idp_host = urlsplit(world.idp_base).netloc
    for _ in range(MAX_HOPS):
        answer = client.get(url, headers={"Accept": "application/json"})
        if urlsplit(url).netloc == idp_host or "location" not in answer.headers:
            break
        url = str(answer.url.join(answer.headers["location"]))
    return url


def _pending_request_id(url: str) -> str | None:
    """The ID of the AuthnRequest an HTTP-Redirect URL carries (None: not one)."""
    try:
        decoded = decode_message(url)
        return parse_authn_request(decoded.xml).id
    except Refusal:
        return None


def _logout_response_at_the_acs(
    world: World, step: SecurityCaseStep, session: str
) -> SignInAttempt:
    """S11: with a sign-in pending, the IdP's own signed LogoutResponse answering that request
    is posted to the ACS, where only a Response belongs."""
    client = world.http_session(session)
    user_name = world.user_name(step.user)
    url = _to_the_idp(world, client, user_name)
    acs = _acs(world) or world.url("/saml/acs")
    message = build_logout_response(
        LogoutResponse(
            id=new_id(world.idp.identity().rng),
            issue_instant=world.idp.clock.now(),
            issuer=world.idp.entity_id,
            in_response_to=_pending_request_id(url),
            destination=acs,
        )
    )
    signed = to_bytes(sign_element(message, world.idp.signing_key))
    accept = {"Accept": "application/json"}
    answer = post_form(client, acs, {"SAMLResponse": encode_post_value(signed)}, accept)
    identity, me = read_identity(client, world.sp_base, world.probes)
    return SignInAttempt(
        signed_in=same_user(identity, user_name),
        delivered=urlsplit(acs).netloc == urlsplit(world.sp_base).netloc,
        reached_idp=urlsplit(url).netloc == urlsplit(world.idp_base).netloc,
        identity=identity,
        exchange=[
            {"request": f"GET {url}", "note": "the SP's AuthnRequest, left pending"},
            {"request": f"POST {acs} (an IdP-signed LogoutResponse)", "status": answer.status_code},
            {"request": f"GET {world.sp_base}{world.probes.me}", "answer": me},
        ],
    )


def _sign_in_from_another_browser(
    world: World, step: SecurityCaseStep, session: str
) -> SignInAttempt:
    """A login CSRF: one browser asks the SP to sign in and is sent to the IdP; another browser
    (the victim's) completes that IdP step and carries the response to the SP."""
    user_name = world.user_name(step.user)
    url = _to_the_idp(world, world.http_session(f"{session}:starter"), user_name)
    if urlsplit(url).netloc != urlsplit(world.idp_base).netloc:
        # Never sent to the IdP: the victim's browser must not start a sign-in of its own.
        return SignInAttempt(signed_in=False, reason="the SP sent the first browser nowhere")
    return sign_in(
        world.http_session(session),
        sp_base=world.sp_base,
        idp_base=world.idp_base,
        sp_entity_id=world.sp_entity_id,
        user_name=user_name,
        password=PASSWORD,
        probes=world.probes,
        start=url,
    )


@contextlib.contextmanager
def _attacks_signed_by(world: World, key: KeyPair) -> Iterator[None]:
    """The attacker's signatures (wrong-key) made with ``key``: another IdP's the SP trusts."""
    previous = world.idp.keys.swap_attacker(key)
    try:
        yield
    finally:
        world.idp.keys.swap_attacker(previous)


@contextlib.contextmanager
def _signing_with_a_second_key(world: World) -> Iterator[None]:
    """Mid-rollover: the IdP publishes a new key first and the SP re-reads the metadata (both
    keys), while the IdP still signs with the old one, now the metadata's second (SDP-SP37).
    Both stay published afterwards."""
    world.idp.rollover_key(world_key("mock idp, second"))
    world.trust_idp_metadata()
    world.idp.keys.activate(1)
    yield


def _max_rss_kib() -> int:
    """This process's peak resident memory so far (KiB on Linux): a case that grows it shows
    what parsing the message cost, C allocations (libxml2's) included."""
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def _send(
    world: World,
    step: SecurityCaseStep,
    variant: Variant,
    flow: str,
    session: str,
    probes: list[dict[str, Any]],
) -> SignInAttempt:
    """The variant's message(s) sent the way its flow says, from the ``session`` browser."""
    if flow == "other-browser":
        return _sign_in_from_another_browser(world, step, session)
    if flow == "logout-response":
        return _logout_response_at_the_acs(world, step, session)
    if flow == "oracle":
        return _broken_ciphertexts(world, step, session, probes)
    plain = SignIn(user=step.user, session=session)
    if flow == "foreign-key":
        with _attacks_signed_by(world, world.other_idp().signing_key):
            return attempt_sign_in(world, plain)
    if flow == "second-key":
        with _signing_with_a_second_key(world):
            return attempt_sign_in(world, plain)
    request = SignIn(
        user=step.user, session=session, via=variant.via, relay_state=variant.relay_state
    )
    return attempt_sign_in(world, request)


def _acs(world: World) -> str | None:
    registered = world.idp.sps.get(world.sp_entity_id)
    if registered is None or not registered.post_acs_endpoints():
        return None
    return registered.post_acs_endpoints()[0].location


def _replay(world: World, run: CaseRun) -> None:
    """Post the Response the user was just signed in with again, from another browser: the
    first use is the control, the second must open no session."""
    first = run.attempt
    entry = world.idp.journal.last("Response")
    run.control = first
    if entry is None or entry.xml is None or not first.signed_in:
        return
    fields = {"SAMLResponse": encode_post_value(entry.xml.encode())}
    if entry.relay_state is not None:
        fields["RelayState"] = entry.relay_state
    acs = str(entry.details.get("acs") or _acs(world))
    session = f"replay:{run.case.id}"
    world.forget_http_session(session)
    client = world.http_session(session)
    answer = post_form(client, acs, fields, {"Accept": "application/json"})
    identity, me = read_identity(client, world.sp_base, world.probes)
    replayed = SignInAttempt(
        signed_in=same_user(identity, run.signed_subject),
        delivered=urlsplit(acs).netloc == urlsplit(world.sp_base).netloc,
        reached_idp=True,
        identity=identity,
        exchange=[
            {"request": f"POST {acs} (the same SAMLResponse again)", "status": answer.status_code},
            {"request": f"GET {world.sp_base}{world.probes.me}", "answer": me},
        ],
    )
    run.attempt = replayed
