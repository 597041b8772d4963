"""Where the control API may point the IdP's outbound SCIM calls.

``PUT /api/provision/target`` makes the IdP send requests (with a bearer token) to a URL of the
caller's choosing: a request-forgery primitive against whatever the IdP's host can reach. The
API therefore accepts loopback targets and the hosts the operator allowed at start
(``--allow-provision-to HOST``). Names are compared as written, never resolved: a name that
resolves to loopback today may resolve elsewhere tomorrow.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from urllib.parse import urlsplit


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):  # RFC 6761: always loopback
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def refusal(url: str, allowed_hosts: Iterable[str]) -> str | None:
    """Why the IdP may not call ``url`` (a sentence), or None when it may."""
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower().rstrip(".")
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError as exc:
        return f"the SCIM URL is not a valid URL: {exc}"
    if parts.scheme not in ("http", "https") or not host:
        return "the SCIM URL must be an http:// or https:// URL with a host"
    if _is_loopback(host) or host in {h.lower().rstrip(".") for h in allowed_hosts}:
        return None
    return (
        f"the IdP provisions only to loopback or to hosts its operator allowed; {host!r} is "
        "neither (start it with --allow-provision-to HOST)"
    )
