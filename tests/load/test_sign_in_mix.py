"""``--idp-initiated-share``: exactly that share of a process's sign-ins start at the IdP, spread
evenly, so a short run (the smoke test's three employees) has sign-ins of both kinds."""

from __future__ import annotations

import pytest

from harness.load.employee import starts_at_the_idp


@pytest.mark.parametrize(("share", "of_100"), [(0.0, 0), (0.25, 25), (0.5, 50), (1.0, 100)])
def test_exactly_the_share_of_sign_ins_start_at_the_idp(share: float, of_100: int) -> None:
    assert sum(starts_at_the_idp(share) for _ in range(100)) == of_100


def test_half_of_any_three_sign_ins_in_a_row_has_both_kinds() -> None:
    for _ in range(10):
        kinds = {starts_at_the_idp(0.5) for _ in range(3)}
        assert kinds == {True, False}
