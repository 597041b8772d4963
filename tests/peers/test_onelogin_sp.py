"""The python3-saml peer SP (tests/peers/onelogin_sp.py) against the mock IdP on loopback."""

from __future__ import annotations

from functools import partial

import pytest

from . import behaviour
from .onelogin_sp import create_app

pytestmark = pytest.mark.loopback


@pytest.mark.parametrize("preset", ["generic", "entra", "okta", "ping"])
def test_sp_initiated_sign_in_names_the_user(preset: str) -> None:
    behaviour.sp_initiated_sign_in(create_app, preset)


def test_idp_initiated_sign_in_works_when_unsolicited_responses_are_allowed() -> None:
    behaviour.idp_initiated_sign_in(create_app, allowed=True)


def test_idp_initiated_sign_in_is_refused_by_default() -> None:
    text = behaviour.idp_initiated_sign_in(create_app, allowed=False)
    assert "unsolicited" in text


def test_an_encrypted_assertion_is_accepted() -> None:
    behaviour.encrypted_assertion_accepted(create_app)


def test_an_unsigned_response_is_refused() -> None:
    text = behaviour.refused(create_app, "unsigned")
    assert "python3-saml" in text


def test_a_replayed_solicited_response_is_refused() -> None:
    assert "InResponseTo" in behaviour.replay_refused(create_app)


def test_a_replayed_unsolicited_response_is_refused_by_the_recommended_id_cache() -> None:
    answer = behaviour.unsolicited_replay(create_app)
    assert answer.status_code == 403
    assert "replay" in answer.text


def test_logout_ends_the_session_and_tells_the_idp() -> None:
    behaviour.logout_ends_session(create_app)


def test_an_idp_initiated_logout_ends_the_session() -> None:
    behaviour.idp_initiated_logout(create_app)


@pytest.mark.parametrize("allow_unsolicited", [False, True])
@pytest.mark.parametrize("mutator", ["bad-in-response-to", "wrong-recipient"])
def test_what_pysaml2_lets_through_python3_saml_refuses(
    mutator: str, allow_unsolicited: bool
) -> None:
    factory = partial(create_app, allow_unsolicited=allow_unsolicited)
    assert "python3-saml" in behaviour.refused(factory, mutator)
