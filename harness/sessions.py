"""Browser sessions at the SP under test: signing a user of the world in (through HTTP or a
real Chromium, from our IdP or another organisation's), finding the session a user already has,
and letting the IdP vouch for a user its directory no longer would."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from harness.response_evidence import journal_seq, sign_in_evidence
from harness.scenario.model import ScenarioRun, SignIn
from harness.signin import SignInAttempt, read_identity, sign_in
from harness.verdicts import StepError
from harness.world import NAMEID_FORMATS, PASSWORD, World
from mock_idp.directory import User


def user_of(world: World, ref: str) -> User:
    user = world.idp.directory.get_user(world.user_name(ref))
    if user is None:
        raise StepError(f"no user '{ref}' in the directory (hire or list them under given)")
    return user


@contextmanager
def _preset(world: World, preset: str | None) -> Iterator[None]:
    """A sign-in as another vendor's IdP would send it (``sign_in: {preset: okta}``)."""
    if preset is None:
        yield
        return
    before = world.idp.preset
    world.idp.set_preset(preset)
    try:
        yield
    finally:
        world.idp.preset = before


@contextmanager
def _name_id_format(world: World, name_id_format: str | None) -> Iterator[None]:
    """A sign-in that asks for its own NameID format (a control beside an opaque format)."""
    if name_id_format is None:
        yield
        return
    settings = world.idp.sps[world.sp_entity_id].settings
    before = settings.name_id_format
    settings.name_id_format = NAMEID_FORMATS[name_id_format]
    try:
        yield
    finally:
        settings.name_id_format = before


def attempt_sign_in(world: World, request: SignIn, run: ScenarioRun | None = None) -> SignInAttempt:
    """Sign ``request.user`` in through the flow the request names. (``run`` is accepted for
    the callers written before worlds knew their run; the world's own run is used.)"""
    session = request.session or request.user
    idp = world.other_idp() if request.idp == "other" else world.idp
    since = journal_seq(idp.journal)
    attempt = _attempt(world, request, session)
    attempt.sent = sign_in_evidence(idp.journal, since, world.sp_entity_id)
    world.evidence.append({"sign_in": request.user, "exchange": attempt.exchange})
    return attempt


def _attempt(world: World, request: SignIn, session: str) -> SignInAttempt:
    if request.idp == "other":
        other = world.other_idp()
        user = user_of(world, request.user)
        if other.directory.get_user(user.user_name) is None:
            other.add_user(user.user_name, password=PASSWORD, email=user.user_name)
        attempt = sign_in(
            world.http_session(session),
            sp_base=world.sp_base,
            idp_base=other.base_url,
            sp_entity_id=world.sp_entity_id,
            user_name=user.user_name,
            password=PASSWORD,
            via="idp",
            probes=world.probes,
        )
        return attempt
    if request.mutators:
        world.idp.plan_next(*request.mutator_calls)
    with _preset(world, request.preset), _name_id_format(world, request.name_id_format):
        if request.browser:
            from harness.browser_signin import browser_sign_in

            attempt = browser_sign_in(
                world,
                session=session,
                user_name=world.user_name(request.user),
                password=PASSWORD,
                via=request.via,
                relay_state=request.relay_state,
            )
        else:
            attempt = sign_in(
                world.http_session(session),
                sp_base=world.sp_base,
                idp_base=world.idp_base,
                sp_entity_id=world.sp_entity_id,
                user_name=world.user_name(request.user),
                password=PASSWORD,
                via=request.via,
                relay_state=request.relay_state,
                probes=world.probes,
            )
    return attempt


@contextmanager
def idp_vouches_for(world: World, ref: str) -> Iterator[None]:
    """Let the IdP sign ``ref`` in even when its directory no longer would (blocked or
    deleted): an IdP session outliving the block, or an IdP that deprovisions only over SCIM.
    What the SP then does is the SP's own rule (BIZ-SIGNIN-1), which is what is judged."""
    with world.idp.script.vouching_for(world.user_name(ref), deleted=world.deleted.get(ref)):
        yield


def identity_in(world: World, session: str) -> str | None:
    """Who the SP's me probe names in the browser ``session`` (None: nobody, or no browser)."""
    if not world.has_http_session(session):
        return None
    identity, _ = read_identity(world.http_session(session), world.sp_base, world.probes)
    return identity


def session_for(world: World, ref: str) -> tuple[str | None, SignInAttempt | None]:
    """The user's open session if there is one (so rules are judged on sessions already open),
    else a fresh sign-in; None when the user cannot sign in."""
    if identity_in(world, ref) is not None:
        return ref, None
    name = f"probe:{ref}"
    world.forget_http_session(name)
    attempt = attempt_sign_in(world, SignIn(user=ref, session=name))
    return (name if attempt.signed_in else None), attempt
