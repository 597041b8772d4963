"""The journal claims a mutator was applied only when it changed the response sent."""

from __future__ import annotations

import httpx
import pytest

from harness.protocol.keys import KeyPair
from harness.protocol.saml.mutators import MutatorNoEffect
from mock_idp.idp import MockIdP

from .conftest import BASE, frozen_clock
from .fake_sp import FakeSP

USER = "alice@example.com"


def test_a_planned_mutator_with_nothing_to_break_is_an_error(idp: MockIdP, sp: FakeSP) -> None:
    idp.sps[sp.entity_id].settings.sign_response = False  # only the assertion is signed
    idp.plan_next("unsigned-response")
    with pytest.raises(MutatorNoEffect, match="unsigned-response"):
        idp.sso(sp.entity_id, USER)
    assert idp.journal.entries(kind="Response") == []
    error = idp.journal.entries(kind="Error")[-1]
    assert error.error is not None and error.error["reason"] == "mutator-no-effect"
    assert "unsigned-response" in error.error["message"]


def test_an_applied_mutator_is_journaled(idp: MockIdP, sp: FakeSP) -> None:
    idp.plan_next("corrupt-signature")
    idp.sso(sp.entity_id, USER)
    entry = idp.journal.entries(kind="Response")[-1]
    assert entry.mutators == ("corrupt-signature",)
    assert [v.check for v in entry.verdicts if v.check.startswith("mutator:")] == [
        "mutator:corrupt-signature"
    ]


def test_a_flaw_with_nothing_to_break_is_not_claimed(idp_key: KeyPair, sp: FakeSP) -> None:
    # No InResponseTo to leave out of an IdP-initiated response: the flaw stays a standing
    # behaviour (the sign-in goes on) but the journal must not say it broke this response.
    idp = MockIdP(
        BASE, signing_keys=[idp_key], seed=1, clock=frozen_clock(), flaws=["no-in-response-to"]
    )
    idp.register_sp_metadata(sp.metadata())
    idp.add_user(USER, email=USER)
    idp.sso(sp.entity_id, USER)
    entry = idp.journal.entries(kind="Response")[-1]
    assert entry.mutators == ()
    assert "no-in-response-to" in str(entry.details["mutators_not_applied"])


@pytest.mark.anyio
async def test_over_http_a_no_effect_plan_is_an_error_page(
    idp: MockIdP, sp: FakeSP, client: httpx.AsyncClient
) -> None:
    idp.plan_next("unsigned", "unsigned")
    page = await client.get(
        "/saml/idp-init",
        params={"sp": sp.entity_id, "user": USER},
        headers={"accept": "application/json"},
    )
    assert page.status_code == 500
    assert page.json()["reason"] == "mutator-no-effect"
    assert "SAMLResponse" not in page.text
