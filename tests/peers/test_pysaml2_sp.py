"""The pysaml2 peer SP (tests/peers/pysaml2_sp.py) against the mock IdP on loopback."""

from __future__ import annotations

from functools import partial

import pytest

from . import behaviour
from .pysaml2_sp import create_app

pytestmark = pytest.mark.loopback


@pytest.mark.parametrize("preset", ["generic", "entra", "okta", "ping"])
def test_sp_initiated_sign_in_names_the_user(preset: str) -> None:
    behaviour.sp_initiated_sign_in(create_app, preset)


def test_idp_initiated_sign_in_works_when_unsolicited_responses_are_allowed() -> None:
    behaviour.idp_initiated_sign_in(create_app, allowed=True)


def test_idp_initiated_sign_in_is_refused_by_default() -> None:
    text = behaviour.idp_initiated_sign_in(create_app, allowed=False)
    assert "UnsolicitedResponse" in text


def test_an_encrypted_assertion_is_accepted() -> None:
    behaviour.encrypted_assertion_accepted(create_app)


def test_an_unsigned_response_is_refused() -> None:
    text = behaviour.refused(create_app, "unsigned")
    assert "pysaml2" in text


def test_a_replayed_solicited_response_is_refused() -> None:
    assert "UnsolicitedResponse" in behaviour.replay_refused(create_app)


def test_logout_ends_the_session_and_tells_the_idp() -> None:
    behaviour.logout_ends_session(create_app)


def test_an_idp_initiated_logout_ends_the_session() -> None:
    behaviour.idp_initiated_logout(create_app)


def test_a_replayed_unsolicited_response_is_accepted_as_pysaml2_documents() -> None:
    """pysaml2 keeps no record of unsolicited responses ("Should check that I haven't seen this
    before", saml2/response.py AuthnResponse.loads) and its docs recommend none: the peer
    stays faithful to the library, so the harness's replay check is expected to FAIL here."""
    answer = behaviour.unsolicited_replay(create_app)
    assert answer.status_code == 303, answer.text


@pytest.mark.parametrize("check_recipient", [False, True])
def test_a_wrong_recipient_is_refused_only_when_the_app_passes_conv_info(
    check_recipient: bool,
) -> None:
    """pysaml2's verify_recipient looks only when given conv_info (saml2/response.py)."""
    factory = partial(create_app, check_recipient=check_recipient)
    if check_recipient:
        assert "No valid recipient" in behaviour.refused(factory, "wrong-recipient")
    else:
        behaviour.accepted_despite(factory, "wrong-recipient")


@pytest.mark.parametrize("allow_unsolicited", [False, True])
def test_a_bad_in_response_to_passes_as_unsolicited_when_those_are_allowed(
    allow_unsolicited: bool,
) -> None:
    """AuthnResponse.loads: an InResponseTo naming no outstanding request is refused, unless
    allow_unsolicited, which then accepts it as if it named none (saml2/response.py)."""
    factory = partial(create_app, allow_unsolicited=allow_unsolicited)
    if allow_unsolicited:
        behaviour.accepted_despite(factory, "bad-in-response-to")
    else:
        assert "UnsolicitedResponse" in behaviour.refused(factory, "bad-in-response-to")
