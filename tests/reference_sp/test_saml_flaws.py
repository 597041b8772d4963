"""The validation seam: strict unless a SAML flaw is on, and each flawed validation keeps its
own stand-in key (no module-wide cache shared between SPs)."""

from __future__ import annotations

from datetime import UTC, datetime

from harness.protocol.saml.sp_validation import validate_response
from reference_sp.saml_flaws import SAML_FLAWS, FlawedValidation, StandInKey, response_validation

NOW = datetime(2025, 1, 1, tzinfo=UTC)


def test_without_a_saml_flaw_the_validation_is_the_core_s() -> None:
    assert response_validation(()) is validate_response
    assert response_validation(["no-replay-cache", "allow-old-clients"]) is validate_response


def test_a_saml_flaw_weakens_only_through_its_own_validation() -> None:
    validation = response_validation(["skip-audience", "no-replay-cache"])
    assert isinstance(validation, FlawedValidation)
    assert validation.flaws == {"skip-audience"} <= SAML_FLAWS


def test_the_stand_in_key_is_made_once_per_holder() -> None:
    first, second = StandInKey(), StandInKey()
    assert first.get(NOW) is first.get(NOW)
    assert first.get(NOW).certificate != second.get(NOW).certificate
