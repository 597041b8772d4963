"""What every peer SP must show on loopback against the mock IdP, written once; each peer's
test module runs these with its own factory. A sign-in is judged through the SP's own
``/whoami`` (like Shibboleth's or mellon's protected page), a refusal by the ACS's 403 and no
session afterwards."""

from __future__ import annotations

import base64

import httpx

from .servers import (
    PASSWORD,
    PeerFactory,
    follow,
    path_of,
    peer_on_loopback,
    sign_in_idp_initiated,
    sign_in_sp_initiated,
    who,
)

USER = "dana@example.com"


def _add_user(world_idp: object) -> None:
    world_idp.add_user(USER, password=PASSWORD, email=USER)  # type: ignore[attr-defined]


def sp_initiated_sign_in(factory: PeerFactory, preset: str) -> None:
    with peer_on_loopback(factory, preset=preset) as world, httpx.Client(timeout=30) as browser:
        _add_user(world.idp)
        visit = sign_in_sp_initiated(browser, world, USER, relay_state="/whoami")
        assert visit.response.status_code == 200, (visit.hops, visit.response.text)
        assert path_of(visit) == "/whoami", visit.hops
        assert who(browser, world) == USER


def idp_initiated_sign_in(factory: PeerFactory, *, allowed: bool) -> str:
    """Signs in IdP-initiated; returns the ACS's refusal text ("" when accepted)."""
    with (
        peer_on_loopback(factory, allow_unsolicited=allowed) as world,
        httpx.Client(timeout=30) as browser,
    ):
        _add_user(world.idp)
        visit = sign_in_idp_initiated(browser, world, USER)
        assert visit.saml_responses, visit.hops  # the response reached the ACS
        if allowed:
            assert visit.response.status_code == 200, (visit.hops, visit.response.text)
            assert who(browser, world) == USER
            return ""
        assert visit.response.status_code == 403, (visit.hops, visit.response.text)
        assert who(browser, world) is None
        return visit.response.text


def encrypted_assertion_accepted(factory: PeerFactory) -> None:
    with peer_on_loopback(factory) as world, httpx.Client(timeout=30) as browser:
        _add_user(world.idp)
        visit = sign_in_sp_initiated(browser, world, USER)
        assert visit.saml_responses, visit.hops
        xml = base64.b64decode(visit.saml_responses[-1])
        assert b"EncryptedAssertion" in xml  # the SP's metadata offered an encryption key
        assert b"<saml:Assertion" not in xml and b"<Assertion" not in xml
        assert who(browser, world) == USER


def refused(factory: PeerFactory, mutator: str) -> str:
    """The mock IdP breaks the next response with ``mutator``: the ACS answers 403 and no
    session exists. Returns the refusal text. A positive control runs first."""
    with peer_on_loopback(factory) as world, httpx.Client(timeout=30) as control:
        _add_user(world.idp)
        sign_in_sp_initiated(control, world, USER)
        assert who(control, world) == USER  # the control: the same flow, unmutated
        with httpx.Client(timeout=30) as browser:
            world.idp.plan_next(mutator)
            visit = sign_in_sp_initiated(browser, world, USER)
            assert visit.saml_responses, visit.hops
            assert visit.response.status_code == 403, (visit.hops, visit.response.text)
            assert who(browser, world) is None
            return visit.response.text


def replay_refused(factory: PeerFactory) -> str:
    """A solicited response posted a second time (same browser) is refused."""
    with peer_on_loopback(factory) as world, httpx.Client(timeout=30) as browser:
        _add_user(world.idp)
        visit = sign_in_sp_initiated(browser, world, USER)
        assert who(browser, world) == USER
        browser.cookies.clear()
        again = browser.post(
            f"{world.sp_base}/acs", data={"SAMLResponse": visit.saml_responses[-1]}
        )
        assert again.status_code == 403, again.text
        assert who(browser, world) is None
        return again.text


def logout_ends_session(factory: PeerFactory) -> None:
    """GET /logout ends the local session and sends a LogoutRequest to the IdP."""
    with peer_on_loopback(factory) as world, httpx.Client(timeout=30) as browser:
        _add_user(world.idp)
        sign_in_sp_initiated(browser, world, USER)
        assert who(browser, world) == USER
        visit = follow(browser, browser.get(f"{world.sp_base}/logout"))
        assert visit.response.status_code == 200, (visit.hops, visit.response.text)
        assert who(browser, world) is None
        kinds = [(e.direction, e.kind) for e in world.idp.journal.entries()]
        assert ("in", "LogoutRequest") in kinds, kinds
        assert ("out", "LogoutResponse") in kinds, kinds


def idp_initiated_logout(factory: PeerFactory) -> None:
    """The IdP's sign-out sends a LogoutRequest to the SP's /slo: the session ends there."""
    with peer_on_loopback(factory) as world, httpx.Client(timeout=30) as browser:
        _add_user(world.idp)
        sign_in_sp_initiated(browser, world, USER)
        assert who(browser, world) == USER
        visit = follow(browser, browser.get(f"{world.idp_base}/saml/logout"))
        assert visit.response.status_code == 200, (visit.hops, visit.response.text)
        assert who(browser, world) is None
        kinds = [(e.direction, e.kind) for e in world.idp.journal.entries()]
        assert ("out", "LogoutRequest") in kinds, kinds
        assert ("in", "LogoutResponse") in kinds, kinds


def unsolicited_replay(factory: PeerFactory) -> httpx.Response:
    """An IdP-initiated response (unsolicited allowed) posted a second time, from a fresh
    browser: what the SP answers (the library decides; returned for the caller to judge)."""
    with (
        peer_on_loopback(factory, allow_unsolicited=True) as world,
        httpx.Client(timeout=30) as browser,
    ):
        _add_user(world.idp)
        visit = sign_in_idp_initiated(browser, world, USER)
        assert who(browser, world) == USER
        with httpx.Client(timeout=30) as other:
            return other.post(
                f"{world.sp_base}/acs", data={"SAMLResponse": visit.saml_responses[-1]}
            )


def accepted_despite(factory: PeerFactory, mutator: str) -> None:
    """The SP signs the user in although the response was broken with ``mutator``: the
    library's documented or source-visible behaviour, pinned so a change is noticed."""
    with peer_on_loopback(factory) as world, httpx.Client(timeout=30) as browser:
        _add_user(world.idp)
        world.idp.plan_next(mutator)
        visit = sign_in_sp_initiated(browser, world, USER)
        assert visit.saml_responses, visit.hops
        assert who(browser, world) == USER, (visit.hops, visit.response.text)
