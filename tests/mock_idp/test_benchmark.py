import pytest

from mock_idp.benchmark import run_benchmark


@pytest.mark.slow
def test_signed_responses_keep_up_with_raw_rsa() -> None:
    result = run_benchmark(seconds=3.0)
    # Aim (issue 3): 0.6 of the two-signature ceiling; measured about 0.7 on a quiet machine.
    # The bound here is lower so a busy shared CI box does not flake, yet re-parsing PEM or
    # re-reading keys per response (about 0.1) would still fail it.
    assert result["ratio_to_rsa_limit"] >= 0.4, result
