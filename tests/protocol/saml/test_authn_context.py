import pytest

from harness.protocol.saml import constants as c
from harness.protocol.saml.authn_context import choose_authn_context

MFA = "http://schemas.microsoft.com/claims/multipleauthn"


@pytest.mark.parametrize(
    ("requested", "comparison", "expected"),
    [
        ((), None, c.AC_PASSWORD_PROTECTED),
        ((c.AC_PASSWORD_PROTECTED,), "exact", c.AC_PASSWORD_PROTECTED),
        ((c.AC_PASSWORD,), None, c.AC_PASSWORD),
        ((MFA,), "exact", None),
        ((c.AC_PASSWORD,), "minimum", c.AC_PASSWORD_PROTECTED),
        ((MFA,), "minimum", None),
        ((c.AC_PASSWORD,), "better", c.AC_PASSWORD_PROTECTED),
        ((c.AC_PASSWORD_PROTECTED,), "better", None),
        ((c.AC_PASSWORD,), "maximum", c.AC_PASSWORD),
    ],
)
def test_choice(requested: tuple[str, ...], comparison: str | None, expected: str | None) -> None:
    assert choose_authn_context(requested, comparison, c.AC_PASSWORD_PROTECTED) == expected
