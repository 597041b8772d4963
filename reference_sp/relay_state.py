"""Where a browser lands after signing in: the RelayState when it is a path on this site
(saml2int R01: never an off-site redirect), else the account page. The ``open-redirect`` flaw
follows any RelayState instead (:func:`any_relay_state`)."""

from __future__ import annotations

from urllib.parse import urlsplit

MAX_RELAY_STATE = 512
DEFAULT_LANDING = "/account"


def safe_relay_state(value: str | None) -> str | None:
    """``value`` when it is a path on this site, else None."""
    if not value or len(value) > MAX_RELAY_STATE:
        return None
    if not value.startswith("/") or value.startswith("//") or "\\" in value:
        return None
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
        return None
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return None
    return value


def landing(*relay_states: str | None) -> str:
    """The first safe RelayState among ``relay_states``, else DEFAULT_LANDING."""
    return next(
        (safe for value in relay_states if (safe := safe_relay_state(value)) is not None),
        DEFAULT_LANDING,
    )


OPEN_REDIRECT = "open-redirect"


def any_relay_state(value: str | None) -> str | None:
    """The ``open-redirect`` flaw's reading: any non-empty RelayState, wherever it points."""
    return value or None


def relay_state_kept(value: str | None, flaws: frozenset[str]) -> str | None:
    """What the SP keeps of a RelayState: a path on this site, or anything under the flaw."""
    return any_relay_state(value) if OPEN_REDIRECT in flaws else safe_relay_state(value)


def landing_after_sign_in(flaws: frozenset[str], *relay_states: str | None) -> str:
    """:func:`landing`, or under the ``open-redirect`` flaw the first RelayState there is."""
    if OPEN_REDIRECT in flaws:
        return next((value for value in relay_states if value), DEFAULT_LANDING)
    return landing(*relay_states)
