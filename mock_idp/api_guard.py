"""Who may drive the control API: not another web site, and only the token holder when set.

The API creates admins, rewrites NameIDs and makes the IdP call URLs, so a page a tester happens
to visit must not be able to drive it. Browsers send ``Origin`` (and ``Sec-Fetch-Site``) on
cross-origin writes, including CORS "simple" requests that skip the preflight; a write whose
origin is not the IdP's own is refused. The IdP's own origin comes from its configured base URL,
never from the request's Host header: a DNS-rebinding page controls that header.
"""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from starlette.requests import Request

from .refusals import AccessError

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def origin_of(url: str) -> str:
    """``scheme://host[:port]`` as browsers write it in ``Origin`` (default ports left out)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    default = {"http": 80, "https": 443}.get(scheme)
    port = parts.port if parts.port is not None and parts.port != default else None
    return f"{scheme}://{host}" + (f":{port}" if port is not None else "")


def check_access(request: Request, own_origin: str, token: str | None) -> None:
    """Raise AccessError unless this control-API request may proceed."""
    if token is not None and not bearer_matches(request, token):
        raise AccessError(
            "unauthorized",
            "the control API needs Authorization: Bearer <api token>",
            status=401,
        )
    check_same_origin(request, own_origin)


def bearer_matches(request: Request, token: str) -> bool:
    """Whether the request carries ``Authorization: Bearer <token>``."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return scheme.lower() == "bearer" and secrets.compare_digest(
        value.strip().encode(), token.encode()
    )


def check_same_origin(request: Request, own_origin: str) -> None:
    """Raise AccessError for a write that another site's page sent."""
    if request.method in SAFE_METHODS:
        return
    site = request.headers.get("sec-fetch-site", "").lower()
    if site in ("cross-site", "same-site"):
        raise AccessError(
            "cross-origin", f"a {site} page may not write to the control API (Sec-Fetch-Site)"
        )
    origin = request.headers.get("origin")
    if origin is not None and origin.strip().lower() != own_origin:
        raise AccessError(
            "cross-origin",
            f"a page from {origin!r} may not write to the control API (only {own_origin})",
        )
