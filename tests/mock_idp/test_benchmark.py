import pytest

from mock_idp.benchmark import run_benchmark


@pytest.mark.slow
def test_signed_responses_keep_up_with_raw_rsa() -> None:
    result = run_benchmark(seconds=3.0)
    # Aim (issue 15): 0.8 of the two-signature ceiling; measured about 0.82 in CPU time on a
    # busy 2-core box. The bound is lower so that a CI box whose RSA is faster next to its
    # Python does not flake, yet building every response as a tree again (0.67 on that box)
    # or re-reading keys per response (about 0.1) fails it.
    assert result["ratio_to_rsa_limit"] >= 0.7, result
