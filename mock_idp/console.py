"""The console at ``/``: the directory, the SPs, the plan and the journal decoded, with forms
that change them and a "reproduce this" download per response.

Every write is a same-origin form POST (the control API's origin rule, ``api_guard``); when the
IdP has an API token, every page needs it too, as a bearer token or as the console cookie that
the token form sets (an HMAC of the token, never the token itself)."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from harness.protocol.refusal import Refusal
from harness.protocol.saml.mutators import MUTATORS

from .api_guard import bearer_matches, check_same_origin, origin_of
from .console_forms import console_form, field, plan_from_form, user_from_form
from .console_pages import render_console
from .console_view import entry_view, verdict_line
from .idp import MockIdP
from .journal import JournalEntry
from .refusals import AccessError, APIError
from .reproduce import capture_scenario_yaml, scenario_yaml
from .service_providers import ServiceProvider
from .web import browser_session, wants_json

CONSOLE_COOKIE = "mock_idp_console"
JOURNAL_KINDS = frozenset(
    {
        "AuthnRequest",
        "Response",
        "LogoutRequest",
        "LogoutResponse",
        "Login",
        "SCIM",
        "Error",
        "LogoutSkipped",
    }
)
MAX_JOURNAL_ROWS = 500
Handler = Callable[[Request], Awaitable[Response]]


def console_key(token: str) -> str:
    return hmac.new(token.encode(), b"sso-harness mock IdP console", hashlib.sha256).hexdigest()


def problem_page(request: Request, refusal: Refusal) -> Response:
    if wants_json(request):
        return JSONResponse(refusal.to_json(), status_code=refusal.status)
    if refusal.status == 401 and request.method == "GET":
        return HTMLResponse(render_console("token", title="Console"), status_code=401)
    shown = {"reason": refusal.reason, "message": refusal.message, "status": refusal.status}
    return HTMLResponse(render_console("problem", title="Refused", **shown), refusal.status)


def _sp_row(sp: ServiceProvider) -> dict[str, object]:
    settings, metadata = sp.settings, sp.metadata
    wants = bool(metadata.encryption_certificates)
    encrypts = settings.encrypt if settings.encrypt is not None else wants
    return {
        "entity_id": sp.entity_id,
        "acs": [e.location for e in sp.post_acs_endpoints()],
        "requests_signed": metadata.authn_requests_signed,
        "assertions_signed": metadata.want_assertions_signed,
        "encryption": ("encrypted" if encrypts else "none")
        + (" (key in metadata)" if wants else ""),
    }


def _journal_row(entry: JournalEntry) -> dict[str, object]:
    verdict = verdict_line(entry)
    bad = verdict.startswith(("refused", "broken")) or "broken" in verdict
    return {
        "seq": entry.seq,
        "time": entry.time.strftime("%H:%M:%S"),
        "direction": entry.direction,
        "kind": entry.kind,
        "sp": entry.sp,
        "user": entry.user,
        "verdict": verdict,
        "css": "fail" if bad else "pass",
    }


def _journal_query(request: Request) -> tuple[str | None, int]:
    params = request.query_params
    unknown = set(params) - {"kind", "limit"}
    if unknown:
        raise APIError("bad-parameter", f"unknown query parameters {sorted(unknown)}", status=400)
    kind = params.get("kind") or None
    if kind is not None and kind not in JOURNAL_KINDS:
        raise APIError("bad-parameter", f"kind is one of {sorted(JOURNAL_KINDS)}", status=400)
    limit = params.get("limit", "50")
    if not limit.isdigit() or not 1 <= int(limit) <= MAX_JOURNAL_ROWS:
        raise APIError("bad-parameter", f"limit is 1 to {MAX_JOURNAL_ROWS}", status=400)
    return kind, int(limit)


def home_page(idp: MockIdP, request: Request) -> str:
    kind, limit = _journal_query(request)
    session = browser_session(request, idp.sessions, idp.clock.now())
    members = idp.directory.members
    groups = [
        {"name": g.display_name, "members": [u.user_name for u in members(g.display_name)]}
        for g in idp.directory.groups()
    ]
    entries = idp.journal.entries(kind=kind, limit=limit)
    return render_console(
        "home",
        title="Console",
        entity_id=idp.entity_id,
        preset=idp.preset.name,
        flaws=sorted(idp.flaws),
        user=session.user_name if session else None,
        users=idp.directory.users(),
        groups=groups,
        sps=[_sp_row(sp) for sp in idp.sps.values()],
        plan=[p.to_json() for p in idp.plan.entries()],
        mutators=MUTATORS,
        kind=kind,
        journal=[_journal_row(e) for e in reversed(entries)],
    )


def find_entry(idp: MockIdP, seq: int) -> JournalEntry:
    found = [e for e in idp.journal.entries(since=seq - 1) if e.seq == seq]
    if not found:
        raise APIError("not-found", f"no journal entry {seq} (it may have given way)", status=404)
    return found[0]


def _entry_page(idp: MockIdP, entry: JournalEntry) -> str:
    view = entry_view(idp.journal, entry)
    reproducible = entry.kind == "Response" and entry.direction == "out" and bool(entry.user)
    return render_console(
        "entry",
        title=f"Journal entry {entry.seq}",
        e=entry,
        view=view,
        reproducible=reproducible,
        details=json.dumps(
            {k: v for k, v in entry.details.items() if k != "assertion_before_encryption"},
            indent=2,
            default=str,
        ),
    )


def _reproduction(idp: MockIdP, entry: JournalEntry) -> Response:
    user = idp.directory.get_user(entry.user) if entry.user else None
    text = scenario_yaml(
        entry,
        entity_id=idp.entity_id,
        preset=idp.preset.name,
        groups=user.groups if user is not None else (),
    )
    return Response(
        text,
        media_type="application/yaml",
        headers={"Content-Disposition": f'attachment; filename="reproduce-{entry.seq}.yaml"'},
    )


def admit(request: Request, idp: MockIdP, *, need_token: bool = True) -> None:
    """Raise AccessError unless this request may use the console: the API token (as a bearer
    token or the console cookie) when the IdP has one, and same-origin writes."""
    token = idp.api_token
    if need_token and token is not None:
        cookie = request.cookies.get(CONSOLE_COOKIE, "")
        if not (
            bearer_matches(request, token)
            or hmac.compare_digest(cookie.encode(), console_key(token).encode())
        ):
            raise AccessError("unauthorized", "the console needs the API token", status=401)
    check_same_origin(request, origin_of(idp.base_url))


def console_route(idp: MockIdP, path: str, handler: Handler, *methods: str) -> Route:
    """A console Route behind ``admit``, answering refusals as a page (JSON when asked)."""
    need_token = path != "/console/login"

    async def wrapper(request: Request) -> Response:
        try:
            admit(request, idp, need_token=need_token)
            return await handler(request)
        except Refusal as refusal:
            return problem_page(request, refusal)

    return Route(path, wrapper, methods=list(methods) or ["GET"])


def console_routes(idp: MockIdP) -> list[Route]:
    """``/`` and the console's own routes under ``/console``."""

    def back(anchor: str) -> Response:
        return RedirectResponse(f"/#{anchor}", status_code=303)

    async def home(request: Request) -> Response:
        return HTMLResponse(home_page(idp, request))

    async def entry(request: Request) -> Response:
        return HTMLResponse(_entry_page(idp, find_entry(idp, request.path_params["seq"])))

    async def reproduce(request: Request) -> Response:
        return _reproduction(idp, find_entry(idp, request.path_params["seq"]))

    async def reproduce_capture(request: Request) -> Response:
        capture = (await console_form(request)).get("capture", "").strip()
        if not capture:
            raise APIError("missing-field", "the form needs capture")
        return Response(
            capture_scenario_yaml(capture),
            media_type="application/yaml",
            headers={"Content-Disposition": 'attachment; filename="reproduce-capture.yaml"'},
        )

    async def login(request: Request) -> Response:
        form = await console_form(request)
        token = idp.api_token
        given = field(form, "token", required=True)
        if token is None or not hmac.compare_digest(given.encode(), token.encode()):
            raise AccessError("unauthorized", "that is not this IdP's API token", status=401)
        response = back("users")
        response.set_cookie(
            CONSOLE_COOKIE, console_key(token), httponly=True, samesite="strict", path="/"
        )
        return response

    async def add_user(request: Request) -> Response:
        idp.script.add_user(user_from_form(await console_form(request)))
        return back("users")

    async def add_member(request: Request) -> Response:
        form = await console_form(request)
        user, group = field(form, "user", required=True), field(form, "group", required=True)
        idp.script.user(user)
        idp.script.add_to_group(user, group)
        return back("users")

    async def block(request: Request) -> Response:
        idp.script.block_user(field(await console_form(request), "user", required=True))
        return back("users")

    async def plan(request: Request) -> Response:
        wanted = plan_from_form(await console_form(request), set(idp.sps))
        idp.plan.add(wanted.calls, sticky=wanted.sticky, count=wanted.count, sp=wanted.sp)
        return back("plan")

    async def clear_plan(request: Request) -> Response:
        idp.plan.clear()
        return back("plan")

    return [
        console_route(idp, "/", home),
        console_route(idp, "/console/journal/{seq:int}", entry),
        console_route(idp, "/console/journal/{seq:int}/scenario.yaml", reproduce),
        console_route(idp, "/console/reproduce", reproduce_capture, "POST"),
        console_route(idp, "/console/login", login, "POST"),
        console_route(idp, "/console/users", add_user, "POST"),
        console_route(idp, "/console/members", add_member, "POST"),
        console_route(idp, "/console/block", block, "POST"),
        console_route(idp, "/console/plan", plan, "POST"),
        console_route(idp, "/console/plan/clear", clear_plan, "POST"),
    ]
