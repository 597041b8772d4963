"""What the signed-response figure rests on, held without timing it: a clean signed response is
written as octets (no tree, no serialiser) with keys loaded once. A threshold on the measured
ratio flaked on CI (0.692 against a bound of 0.7 on a busy box) while the regressions it guarded
moved it to 0.67 and 0.1; these tests fail on the same regressions every time, and the figure
itself stays in the benchmark (docs/performance.md)."""

import pytest
from cryptography.hazmat.primitives import serialization
from signxml import XMLVerifier  # type: ignore[attr-defined]

from harness.protocol.saml import constants as c
from harness.protocol.saml import response as tree_builder
from harness.protocol.xml import parse_xml
from mock_idp.benchmark import benchmark_idp, run_benchmark


def _refuse(what: str):  # type: ignore[no-untyped-def]
    def refuse(*args: object, **kwargs: object) -> object:
        raise AssertionError(f"a clean signed response {what}")

    return refuse


def test_clean_signed_response_is_written_without_a_tree(monkeypatch: pytest.MonkeyPatch) -> None:
    response, key = benchmark_idp()
    monkeypatch.setattr(tree_builder, "build_assertion", _refuse("built its assertion as a tree"))
    monkeypatch.setattr(tree_builder, "build_response_element", _refuse("built a tree"))
    monkeypatch.setattr(tree_builder, "sign_element", _refuse("signed a tree"))
    for _ in range(3):
        issued = response()
    # What was written is what the figure counts: a Response and its assertion, each signed,
    # both signatures valid in signxml (a response written unsigned would pass the above).
    root = parse_xml(issued.xml)
    assertion = root.find(f"{{{c.SAML}}}Assertion")
    assert assertion is not None
    for element in (root, assertion):
        signature = element.find(f"{{{c.DS}}}Signature")
        assert signature is not None, f"{element.tag} is not signed"
        XMLVerifier().verify(element, x509_cert=key.certificate_pem().decode())


def test_clean_signed_response_loads_no_key(monkeypatch: pytest.MonkeyPatch) -> None:
    response, _ = benchmark_idp()
    response()  # whatever is loaded once, before the first response, may be
    monkeypatch.setattr(
        serialization, "load_pem_private_key", _refuse("loaded a private key again")
    )
    monkeypatch.setattr(serialization, "load_der_private_key", _refuse("loaded a key again"))
    for _ in range(3):
        response()


def test_benchmark_reports_both_rates() -> None:
    result = run_benchmark(seconds=0.3, rounds=1)
    assert result["signatures_per_response"] == 2
    assert result["rsa2048_signatures_per_second"] > 0
    assert result["signed_responses_per_second"] > 0
    expected = result["signed_responses_per_second"] / (result["rsa2048_signatures_per_second"] / 2)
    assert result["ratio_to_rsa_limit"] == pytest.approx(expected, abs=0.001)
