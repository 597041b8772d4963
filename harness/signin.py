"""Signing a user in through HTTP the way a browser does: SP-initiated (the SP's login URL,
a redirect to the IdP, the IdP's login form, the auto-submitting form back to the ACS) or
IdP-initiated. Returns what happened, with the exchange as evidence."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

from harness.forms import form_with
from harness.targets import Probes

MAX_HOPS = 10


@dataclass
class SignInAttempt:
    signed_in: bool
    reason: str | None = None  # the refusal's reason code (SP or IdP)
    rule: str | None = None
    refused_by: str | None = None  # "sp" or "idp"
    landed_on: str | None = None  # the SP path the browser ended on
    exchange: list[dict[str, Any]] = field(default_factory=list)


def dotted(document: Any, path: str) -> Any:
    """``document["a"]["b"]`` for ``path`` "a.b"; None where a step is missing."""
    for part in path.split("."):
        if not isinstance(document, dict):
            return None
        document = document.get(part)
    return document


def signed_in_as(me: httpx.Response, probes: Probes, user_name: str) -> bool:
    try:
        body = me.json()
    except ValueError:
        return False
    return str(dotted(body, probes.me_user_field) or "").lower() == user_name.lower()


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


def _refusal(response: httpx.Response, who: str, attempt: SignInAttempt) -> SignInAttempt:
    attempt.refused_by = who
    try:
        body = response.json()
    except ValueError:
        body = {}
    if isinstance(body, dict):
        attempt.reason = body.get("reason") or body.get("error")
        attempt.rule = body.get("rule")
    return attempt


def sign_in(
    browser: httpx.Client,
    *,
    sp_base: str,
    idp_base: str,
    sp_entity_id: str,
    user_name: str,
    password: str,
    via: str = "sp",
    relay_state: str | None = None,
    probes: Probes | None = None,
) -> SignInAttempt:
    probes = probes or Probes()
    attempt = SignInAttempt(signed_in=False)
    json = {"Accept": "application/json"}
    if via == "sp":
        params = {"email": user_name}
        if relay_state:
            params["RelayState"] = relay_state
        response = browser.get(f"{sp_base}{probes.login}", params=params, headers=json)
    else:
        params = {"sp": sp_entity_id, "user": user_name}
        if relay_state:
            params["RelayState"] = relay_state
        response = browser.get(f"{idp_base}/saml/idp-init", params=params, headers=json)
    _record(attempt.exchange, response)
    for _ in range(MAX_HOPS):
        host = urlsplit(str(response.url)).netloc
        at_idp = host == urlsplit(idp_base).netloc
        if response.status_code in (301, 302, 303, 307):
            target = response.headers["location"]
            if target.startswith("/"):
                target = f"{response.url.scheme}://{host}{target}"
            if not at_idp and urlsplit(target).netloc == host:
                attempt.landed_on = urlsplit(target).path
                break  # the SP redirected within itself: the sign-in is over
            response = browser.get(target, headers=json)
            _record(attempt.exchange, response)
            continue
        if response.status_code >= 400:
            return _refusal(response, "idp" if at_idp else "sp", attempt)
        html = response.text
        login = form_with(html, str(response.url), "username", "password")
        if login is not None:
            login.fields.update(username=user_name, password=password)
            response = browser.post(login.action, data=login.fields, headers=json)
            _record(attempt.exchange, response)
            continue
        saml = form_with(html, str(response.url), "SAMLResponse")
        if saml is None:
            attempt.refused_by = "idp" if at_idp else "sp"
            attempt.reason = "no-response"
            return attempt
        response = browser.post(saml.action, data=saml.fields, headers=json)
        _record(attempt.exchange, response)
        if response.status_code >= 400:
            return _refusal(response, "sp", attempt)
        if response.status_code not in (302, 303):
            attempt.landed_on = urlsplit(str(response.url)).path
            break
    me = browser.get(f"{sp_base}{probes.me}")
    _record(attempt.exchange, me)
    if me.status_code == 200:
        attempt.signed_in = signed_in_as(me, probes, user_name)
        if not attempt.signed_in:
            attempt.reason = "signed-in-as-someone-else"
    return attempt
