"""Signing in with a real Chromium: the same journey as ``harness.signin``, clicked through by
a browser (redirects, the IdP's login form, the auto-submitting SAML form, cookies with their
SameSite rules). The session's cookies are then handed to the world's HTTP client of the same
name, so later expectations look at the very session the browser opened."""

from __future__ import annotations

import contextlib
import re
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from harness.browser import BrowserError
from harness.signin import SignInAttempt, read_identity, same_user
from harness.world import World

_REASON = re.compile(r'<code id="reason">([^<]+)</code>')


def browser_sign_in(
    world: World,
    *,
    session: str,
    user_name: str,
    password: str,
    via: str,
    relay_state: str | None,
) -> SignInAttempt:
    attempt = SignInAttempt(signed_in=False)
    page = world.chromium_session(session)
    if via == "sp":
        start = world.probes.login_url(world.sp_base, user_name, relay_state)
    else:
        query = {"sp": world.sp_entity_id, "user": user_name}
        query |= {"RelayState": relay_state} if relay_state else {}
        start = f"{world.idp_base}/saml/idp-init?{urlencode(query)}"
    try:
        status = page.goto(start)
        attempt.exchange.append({"browser": f"GET {start}", "status": status, "at": page.url})
        attempt.reached_idp = via == "idp"
        if 'name="password"' in page.html():
            attempt.reached_idp = True
            page.fill_and_submit({"username": user_name, "password": password})
            attempt.exchange.append({"browser": "submitted the IdP's login form", "at": page.url})
    except BrowserError as exc:
        attempt.reason = "browser-error"
        attempt.exchange.append({"browser": str(exc)})
    shot = Path(world.screenshot_dir) / f"{len(world.screenshots):03d}-{session}.png"
    with contextlib.suppress(BrowserError):  # a missing screenshot must not fail the step
        world.screenshots.append(str(page.screenshot(shot)))
    at = urlsplit(page.url)
    attempt.landed_on = at.path if at.netloc == urlsplit(world.sp_base).netloc else None
    client = world.http_session(session)
    sp_host = urlsplit(world.sp_base).hostname
    for cookie in page.cookies():
        if cookie.get("domain") in (sp_host, f".{sp_host}"):
            client.cookies.set(str(cookie["name"]), str(cookie["value"]), domain=str(sp_host))
    attempt.delivered = at.netloc == urlsplit(world.sp_base).netloc and attempt.reached_idp
    attempt.identity, answer = read_identity(client, world.sp_base, world.probes)
    attempt.exchange.append({"request": f"GET {world.url(world.probes.me)}", "answer": answer})
    attempt.signed_in = same_user(attempt.identity, user_name)
    if not attempt.signed_in:
        found = _REASON.search(page.html())
        attempt.reason = attempt.reason or (found.group(1) if found else None)
        attempt.refused_by = "idp" if at.netloc == urlsplit(world.idp_base).netloc else "sp"
    return attempt
