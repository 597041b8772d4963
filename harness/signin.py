"""Signing a user in through HTTP the way a browser does: SP-initiated (the SP's login URL, the
SP's own redirects until the IdP is reached, the IdP's login form, the auto-submitting form back
to the ACS) or IdP-initiated. Returns what happened, with the exchange as evidence.

What is recorded is what a verdict by effect needs (DESIGN "Verdicts that hold for any peer"):
whether the IdP's response was delivered to the SP at all, and who the SP's me probe says is
signed in afterwards. The SP's reason code is kept where it tells one, as evidence.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from harness.forms import Form, form_with, post_form
from harness.targets import Probes

MAX_HOPS = 16
REDIRECTS = (301, 302, 303, 307, 308)
# The reference SP answers refusals in JSON when asked for JSON only; other SPs ignore it.
ACCEPT = {"Accept": "application/json"}


@dataclass
class SignInAttempt:
    signed_in: bool
    reason: str | None = None  # the refusal's reason code, where the SP or IdP tells one
    rule: str | None = None
    refused_by: str | None = None  # "sp" or "idp"
    landed_on: str | None = None  # the SP path the browser ended on
    left_site: str | None = None  # where the SP sent the browser off-site after the response
    delivered: bool = False  # the IdP's SAMLResponse was posted to the SP
    reached_idp: bool = False  # the start reached the IdP (SP-initiated: the SP sent us there)
    identity: str | None = None  # who the me probe names afterwards
    reason_told: bool = False  # the reason is a code the peer told (JSON), not our guess
    me_failed: str | None = None  # the me probe failed itself (5xx): nobody's identity is known
    exchange: list[dict[str, Any]] = field(default_factory=list)
    # The Response the IdP sent (its assertion in clear) and its fields beside what the SP
    # expected, where the IdP is ours (harness.response_evidence)
    sent: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        """What happened, in words a report can show (never "refused by the None")."""
        if self.signed_in:
            return f"signed in as {self.identity}"
        if self.identity is not None:
            return f"signed in as someone else ({self.identity})"
        if not self.reached_idp:
            return "the sign-in never reached the IdP" + _because(self.reason)
        if not self.delivered:
            return "the IdP sent no response to the SP" + _because(self.reason)
        who = "the SP" if self.refused_by != "idp" else "the IdP"
        return f"refused by {who}" + _because(self.reason)


def _because(reason: str | None) -> str:
    return f" ({reason})" if reason else ""


def _record(exchange: list[dict[str, Any]], response: httpx.Response) -> None:
    request = response.request
    entry: dict[str, Any] = {
        "request": f"{request.method} {request.url}",
        "status": response.status_code,
    }
    if request.method == "POST" and request.content:
        entry["form"] = request.content.decode("utf-8", "replace")[:20000]
    if "location" in response.headers:
        entry["location"] = response.headers["location"]
    if response.status_code >= 400:
        entry["body"] = response.text[:4000]
    exchange.append(entry)


def _refusal(response: httpx.Response, who: str, attempt: SignInAttempt) -> None:
    attempt.refused_by = who
    try:
        body = response.json()
    except ValueError:
        body = {}
    if isinstance(body, dict):
        reason = body.get("reason")
        attempt.reason = str(reason) if reason else None
        attempt.reason_told = bool(reason)
        attempt.rule = body.get("rule")
    if attempt.reason is None:
        attempt.reason = f"HTTP {response.status_code}"


def read_identity(client: httpx.Client, sp_base: str, probes: Probes) -> tuple[str | None, Any]:
    """Who the SP's me probe names for this client (None: nobody), and what it answered."""
    custom = probes.custom.get("who_am_i")
    if custom is not None:
        named = custom(client, sp_base)
        return (str(named) if named else None), {"who_am_i": named}
    response = client.get(f"{sp_base}{probes.me}", headers=ACCEPT)
    identity = probes.identity(
        response.status_code, response.headers.get("content-type", ""), response.text
    )
    shown: Any = response.text[:2000]
    if response.headers.get("content-type", "").startswith("application/json"):
        with contextlib.suppress(ValueError):
            shown = response.json()
    return identity, {"status": response.status_code, "body": shown}


def me_probe_failure(answer: Any) -> str | None:
    """Why the me probe's answer tells nothing (a 5xx: the SP failed, which is not "nobody is
    signed in"), else None."""
    status = answer.get("status") if isinstance(answer, dict) else None
    if isinstance(status, int) and status >= 500:
        return f"the me probe answered {status}"
    return None


def same_user(identity: str | None, user_name: str) -> bool:
    return identity is not None and identity.strip().lower() == user_name.lower()


def _browser_target(base: str, location: str) -> str:
    """Where a browser goes for a Location header: for http(s), a backslash before the query
    reads as a slash (WHATWG URL), so ``/\\evil.example`` leaves the site as ``//evil.example``."""
    if urlsplit(base).scheme in ("http", "https"):
        head, sep, tail = location.partition("?")
        head, hash_sep, fragment = head.partition("#")
        location = head.replace("\\", "/") + hash_sep + fragment + sep + tail
    return urljoin(base, location)


def _post(client: httpx.Client, url: str, fields: dict[str, str]) -> httpx.Response:
    """``client.post``, keeping the answer when its Location is no URL httpx can build a
    request for (``javascript:...``): a redirect the caller judges, not a harness error."""
    seen: list[httpx.Response] = []
    hooks = client.event_hooks
    client.event_hooks = {**hooks, "response": [*hooks["response"], seen.append]}
    try:
        return post_form(client, url, fields, ACCEPT)
    except httpx.InvalidURL:
        if not seen or "location" not in seen[-1].headers:
            raise
        return seen[-1]
    finally:
        client.event_hooks = hooks


def _saml_form(response: httpx.Response) -> Form | None:
    return form_with(response.text, str(response.url), "SAMLResponse")


def _start(
    probes: Probes,
    sp_base: str,
    idp_base: str,
    sp_entity_id: str,
    user_name: str,
    via: str,
    relay_state: str | None,
) -> str:
    """Where a sign-in starts: the SP's login URL, or the IdP's unsolicited start."""
    if via == "sp":
        return probes.login_url(sp_base, user_name, relay_state)
    params = {"sp": sp_entity_id, "user": user_name}
    if relay_state:
        params["RelayState"] = relay_state
    return str(httpx.URL(f"{idp_base}/saml/idp-init", params=params))


def sign_in(
    client: httpx.Client,
    *,
    sp_base: str,
    idp_base: str,
    sp_entity_id: str,
    user_name: str,
    password: str,
    via: str = "sp",
    relay_state: str | None = None,
    probes: Probes | None = None,
    start: str | None = None,
    login_fields: tuple[str, str] = ("username", "password"),
) -> SignInAttempt:
    """Sign ``user_name`` in; ``idp_base`` "" takes any host but the SP's for the IdP's (a
    real IdP's login may span several hosts); ``login_fields`` name the IdP's login form's
    user and password fields."""
    probes = probes or Probes()
    attempt = SignInAttempt(signed_in=False)
    idp_host = urlsplit(idp_base).netloc
    sp_host = urlsplit(sp_base).netloc
    if start is None:  # given: a sign-in picked up where another browser left it (login CSRF)
        start = _start(probes, sp_base, idp_base, sp_entity_id, user_name, via, relay_state)
    response = client.get(start, headers=ACCEPT)
    _record(attempt.exchange, response)
    for _ in range(MAX_HOPS):
        host = urlsplit(str(response.url)).netloc
        at_idp = host == idp_host if idp_host else host != sp_host
        attempt.reached_idp |= at_idp
        if response.status_code in REDIRECTS and "location" in response.headers:
            target = _browser_target(str(response.url), response.headers["location"])
            if attempt.delivered and not at_idp and urlsplit(target).netloc == sp_host:
                # After the response was delivered, a redirect within the SP is the landing.
                attempt.landed_on = urlsplit(target).path
                break
            if attempt.delivered and not at_idp and urlsplit(target).netloc != idp_host:
                attempt.left_site = target  # an open redirect: never followed
                break
            response = client.get(target, headers=ACCEPT)
            _record(attempt.exchange, response)
            continue
        if response.status_code >= 400:
            _refusal(response, "idp" if at_idp else "sp", attempt)
            break
        login = form_with(response.text, str(response.url), *login_fields)
        if at_idp and login is not None:
            login.fields.update({login_fields[0]: user_name, login_fields[1]: password})
            response = post_form(client, login.action, login.fields, ACCEPT)
            _record(attempt.exchange, response)
            continue
        saml = _saml_form(response) if at_idp else None
        if saml is None:
            if attempt.delivered and not at_idp:
                attempt.landed_on = urlsplit(str(response.url)).path
                break
            attempt.refused_by = "idp" if at_idp else "sp"
            attempt.reason = "no-response" if at_idp else "no-authn-request"
            break
        attempt.delivered = urlsplit(saml.action).netloc == sp_host
        response = _post(client, saml.action, saml.fields)
        _record(attempt.exchange, response)
        if response.status_code >= 400:
            _refusal(response, "sp", attempt)
            break
        if response.status_code not in REDIRECTS:
            attempt.landed_on = urlsplit(str(response.url)).path
            break
    # Judged by effect: who the SP's me probe names now, whatever the status codes said.
    identity, answer = read_identity(client, sp_base, probes)
    attempt.exchange.append({"request": f"GET {sp_base}{probes.me}", "answer": answer})
    attempt.identity = identity
    attempt.me_failed = me_probe_failure(answer)
    attempt.signed_in = same_user(identity, user_name)
    if identity is not None and not attempt.signed_in:
        attempt.reason = "signed-in-as-someone-else"
    return attempt
