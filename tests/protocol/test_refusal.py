"""The one refusal root: every refusal carries reason, message, rule and a status hint."""

from __future__ import annotations

from harness.protocol.refusal import Refusal
from harness.protocol.saml.errors import SAMLError, SignatureError
from harness.protocol.scim.errors import ScimError, uniqueness
from harness.protocol.xml import XMLSecurityError


def test_the_core_refusals_share_one_root_and_one_json_shape() -> None:
    for refusal in (
        SignatureError("bad-signature", "the digest does not match", "XMLDSIG-4"),
        XMLSecurityError("dtd", "a DOCTYPE is not allowed"),
    ):
        assert isinstance(refusal, Refusal)
        assert set(refusal.to_json()) == {"reason", "rule", "message", "status"}
    assert XMLSecurityError("dtd", "no").rule == "SDP-G03"


def test_with_status_keeps_the_class_and_the_triple() -> None:
    original = SignatureError("bad-signature", "the digest does not match", "XMLDSIG-4")
    sharpened = original.with_status(403)
    assert isinstance(sharpened, SignatureError) and isinstance(sharpened, SAMLError)
    assert (sharpened.reason, sharpened.message, sharpened.rule) == (
        "bad-signature",
        "the digest does not match",
        "XMLDSIG-4",
    )
    assert (original.status, sharpened.status) == (400, 403)


def test_a_scim_error_is_a_refusal_whose_json_is_the_rfc_error_body() -> None:
    error = uniqueness("userName 'ada' is taken")
    assert isinstance(error, Refusal) and (error.reason, error.rule) == (
        "uniqueness",
        "RFC7644-3.12",
    )
    assert error.with_status(400).to_json()["status"] == "400"
    assert ScimError(404, "no such user").reason == "scim-error"
