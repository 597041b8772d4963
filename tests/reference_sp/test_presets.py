"""The reference SP signs users in from each of the mock IdP's presets (Entra ID, Okta, Ping
Identity and generic shapes: prefixes, NameID formats, which element is signed), with and
without an encrypted assertion, SP- and IdP-initiated."""

from __future__ import annotations

import pytest

from .conftest import make_world

USER = "dana@acme.test"


@pytest.mark.parametrize("preset", ["generic", "entra", "okta", "ping"])
@pytest.mark.parametrize("encrypt", [False, True], ids=["plain", "encrypted"])
def test_each_preset_signs_in(preset: str, encrypt: bool) -> None:
    for world in make_world("sqlite://", preset=preset, encrypt=encrypt):
        world.provision(USER)
        message = world.response_for(USER)
        assert (b"EncryptedAssertion" in message.xml) is encrypt
        assert world.post(message).status_code == 303
        assert world.me().json()["userName"] == USER
        world.http.cookies.clear()
        unsolicited = world.idp.sso(world.sp.entity_id, USER)
        assert world.post(unsolicited).status_code == 303
