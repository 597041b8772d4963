"""Which authentication context to assert for a RequestedAuthnContext (SAML Core 3.3.2.2.1).

The IdP authenticates with a password form, so it can honestly claim the password classes
only; anything stronger (MFA, smartcards) cannot be satisfied and gets NoAuthnContext.
"""

from __future__ import annotations

from collections.abc import Sequence

from . import constants as c

# Weakest to strongest among the classes this IdP can honestly claim.
_RANK = {c.AC_UNSPECIFIED: 0, c.AC_PASSWORD: 1, c.AC_PASSWORD_PROTECTED: 2}


def choose_authn_context(
    requested: Sequence[str], comparison: str | None, default: str
) -> str | None:
    """The class to assert, or None when the request cannot be satisfied (NoAuthnContext)."""
    if not requested:
        return default
    comparison = comparison or "exact"
    known = [r for r in requested if r in _RANK]
    if comparison == "exact":
        if default in requested:
            return default
        return known[0] if known else None
    if not known:
        return None  # every requested class is beyond what a password form proves
    strongest = max(_RANK, key=_RANK.__getitem__)
    if comparison == "minimum":
        return strongest
    if comparison == "better":
        floor = min(_RANK[r] for r in known)
        return strongest if _RANK[strongest] > floor else None
    # maximum: the strongest class not above the requested ones
    ceiling = max(_RANK[r] for r in known)
    return max((k for k in _RANK if _RANK[k] <= ceiling), key=_RANK.__getitem__)
