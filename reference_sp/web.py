"""The business account's pages and JSON API over HTTP: landing ("Continue with SSO"),
/api/me, the account page, the admin page, and device activation (start, complete through
SSO, check in). What they show comes from reference_sp.account_pages and
reference_sp.activations; refusals become the error page, or JSON."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from harness.protocol.refusal import Refusal
from reference_sp.account_pages import AccountPages
from reference_sp.activations import ActivationRequest, ActivationService, TooManyPending
from reference_sp.http import (
    JsonBodyError,
    api_refusal,
    cross_site,
    parse_json,
    refusal,
    render,
    wants_json,
)
from reference_sp.identity import NotSignedIn
from reference_sp.relay_state import safe_relay_state
from reference_sp.sessions import Sessions
from reference_sp.settings import Site

_NO_STORE = {"Cache-Control": "no-store"}


def _to_sign_in(path: str) -> Response:
    return RedirectResponse(f"/?RelayState={path}", status_code=303)


class PageRoutes:
    def __init__(
        self, pages: AccountPages, sessions: Sessions, site: Site, flaws: frozenset[str]
    ) -> None:
        self.pages = pages
        self.sessions = sessions
        self.site = site
        self.flaws = flaws

    def routes(self) -> list[Route]:
        return [
            Route("/", self.landing, methods=["GET"]),
            Route("/api/me", self.api_me, methods=["GET"]),
            Route("/account", self.account, methods=["GET"]),
            Route("/admin", self.admin, methods=["GET"]),
        ]

    async def landing(self, request: Request) -> Response:
        me = self.pages.me(self.sessions.session_token(request))
        signed_out = request.query_params.get("signed_out") == "1"
        return render(
            "landing.html",
            self.flaws,
            me=me,
            message="You are signed out." if signed_out else None,
            relay_state=safe_relay_state(request.query_params.get("RelayState")),
            email="",
        )

    async def api_me(self, request: Request) -> Response:
        me = self.pages.me(self.sessions.session_token(request))
        if me is None:
            return api_refusal(NotSignedIn())
        return JSONResponse(me.to_json(), headers=_NO_STORE)

    async def account(self, request: Request) -> Response:
        try:
            page = self.pages.account(self.sessions.session_token(request))
        except NotSignedIn:
            return _to_sign_in("/account")
        return render("account.html", self.flaws, me=page.me, devices=page.devices)

    async def admin(self, request: Request) -> Response:
        try:
            page = self.pages.admin(self.sessions.session_token(request))
        except NotSignedIn as exc:
            return api_refusal(exc) if wants_json(request) else _to_sign_in("/admin")
        except Refusal as exc:
            return refusal(request, self.flaws, exc)
        if wants_json(request):
            return JSONResponse(page.data, headers=_NO_STORE)
        return render(
            "admin.html",
            self.flaws,
            me=page.me,
            data=page.data,
            organisation=page.me.organisation,
            sp_entity_id=self.site.entity_id,
            acs_url=self.site.acs_url,
            scim_url=self.site.scim_url,
        )


class ActivationRoutes:
    def __init__(
        self,
        activations: ActivationService,
        sessions: Sessions,
        site: Site,
        flaws: frozenset[str],
    ) -> None:
        self.activations = activations
        self.sessions = sessions
        self.site = site
        self.flaws = flaws

    def routes(self) -> list[Route]:
        return [
            Route("/api/activations", self.start, methods=["POST"]),
            Route("/api/activations/{id}", self.check_in, methods=["GET"]),
            Route("/activate/{code}", self.activate, methods=["GET", "POST"]),
        ]

    async def start(self, request: Request) -> Response:
        """A desktop client asks to be activated: ``{"product", "clientVersion", "deviceId"}``.

        Unauthenticated by design, so it is guarded otherwise: JSON only (a cross-site HTML form
        cannot send it without a CORS preflight, which fails here), never from a browser on
        another site, and a bounded number of pending activations per client and in all."""
        try:
            asked = ActivationRequest.of(await self._json_body(request))
            client = request.client.host if request.client is not None else "unknown"
            started = self.activations.start(asked, client)
        except Refusal as exc:
            response = api_refusal(exc)
            if isinstance(exc, TooManyPending):
                response.headers["Retry-After"] = str(exc.retry_after)
            return response
        return JSONResponse(started, status_code=201)

    async def _json_body(self, request: Request) -> object:
        media = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media != "application/json" and not (
            media.startswith("application/") and media.endswith("+json")
        ):
            message = f"send application/json, not {media[:100]!r}"
            raise Refusal("unsupported-media-type", message, "SP-CSRF", status=415)
        foreign = cross_site(request, self.site.base_url)
        if foreign is not None:
            message = f"{foreign}: start activations from the device"
            raise Refusal("cross-site", message, "SP-CSRF", status=403)
        try:
            return parse_json(await request.body())  # capped by reference_sp.body_limit
        except JsonBodyError as exc:
            raise Refusal("bad-request", str(exc), "BIZ-ACTIVATION-1", status=400) from None

    async def check_in(self, request: Request) -> Response:
        try:
            body = self.activations.check_in(request.path_params["id"])
        except Refusal as exc:
            return api_refusal(exc)
        return JSONResponse(body, headers=_NO_STORE)

    async def activate(self, request: Request) -> Response:
        """The browser half of an activation: sign in with SSO, then confirm."""
        code = request.path_params["code"][:64]
        token = self.sessions.session_token(request)
        try:
            if request.method == "POST":
                form = await request.form(max_files=0, max_fields=5)
                visit = self.activations.visit(code, token, confirm=True, csrf=form.get("csrf"))
            else:
                visit = self.activations.visit(code, token, confirm=False)
        except NotSignedIn:
            return _to_sign_in(f"/activate/{code}")
        except Refusal as exc:
            return refusal(request, self.flaws, exc)
        if visit.state == "confirmed":
            return RedirectResponse("/account", status_code=303)
        done = visit.state == "done"
        return render("activate.html", self.flaws, me=visit.me, row=visit.row, done=done)
