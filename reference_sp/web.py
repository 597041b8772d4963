"""The business account's pages and JSON API: landing ("Continue with SSO"), /api/me, the
account page, the admin page, and device activation (start, complete through SSO, check in).
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, delete, func, insert, select, update
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from reference_sp.account_tables import account_users, activations, audit_log, sp_sessions
from reference_sp.activation_quota import PendingQuota
from reference_sp.http import (
    JsonBodyError,
    cross_site,
    parse_json,
    refusal,
    render,
    safe_relay_state,
    wants_json,
)
from reference_sp.organisation import Organisation
from reference_sp.sessions import Session
from reference_sp.tables import resources
from reference_sp.timeutil import iso, parse_iso

if TYPE_CHECKING:
    from reference_sp.app import ReferenceSP

# A pending activation is confirmed in a browser within minutes, or never: it then expires and
# is deleted at the next start. Nobody is signed in when one starts, so the bounds on what is
# pending are per client address and in all (reference_sp.activation_quota).
PENDING_LIFETIME = timedelta(minutes=10)
PENDING_PER_CLIENT = 100
PENDING_IN_ALL = 10_000
MAX_FIELD = 200
_VERSION = re.compile(r"^\s*(\d{1,6})(?:\.\d{1,9}){0,3}(?:[-+ ][\w.\-+ ]{0,40})?\s*$")


@dataclass
class Me:
    session: Session
    organisation: Organisation
    user_name: str
    email: str
    admin: bool
    license: dict[str, Any]
    roles: list[str] = field(default_factory=list)

    @property
    def csrf(self) -> str:
        return self.session.csrf

    def to_json(self) -> dict[str, Any]:
        return {
            "userName": self.user_name,
            "email": self.email,
            "organization": self.organisation.name,
            "roles": self.roles,
            "license": self.license,
        }


def _email(doc: dict[str, Any], fallback: str) -> str:
    emails = [e for e in doc.get("emails", []) if isinstance(e, dict) and e.get("value")]
    primary = next((e for e in emails if e.get("primary") is True), emails[0] if emails else None)
    return str(primary["value"]) if primary else fallback


def client_major(version: str) -> int | None:
    match = _VERSION.match(version)
    return int(match.group(1)) if match else None


class WebRoutes:
    def __init__(self, sp: ReferenceSP) -> None:
        self.sp = sp
        self._sessions_seen: set[str] = set()  # the flaw sessions-last-one-request only
        self._pending = PendingQuota(PENDING_PER_CLIENT)

    def routes(self) -> list[Route]:
        return [
            Route("/", self.landing, methods=["GET"]),
            Route("/api/me", self.api_me, methods=["GET"]),
            Route("/account", self.account, methods=["GET"]),
            Route("/admin", self.admin, methods=["GET"]),
            Route("/api/activations", self.start_activation, methods=["POST"]),
            Route("/api/activations/{id}", self.check_in, methods=["GET"]),
            Route("/activate/{code}", self.activate, methods=["GET", "POST"]),
        ]

    # -------------------------------------------------------------------------- identity

    def me(self, conn: Connection, request: Request) -> Me | None:
        sp = self.sp
        session = sp.sessions.current(conn, request)
        if session is None:
            return None
        if "sessions-last-one-request" in sp.flaws:
            if session.token_sha256 in self._sessions_seen:
                return None
            if len(self._sessions_seen) > 10_000:
                self._sessions_seen.clear()
            self._sessions_seen.add(session.token_sha256)
        organisation = sp.organisations.get(session.org_pk)
        if organisation is None:
            return None
        account = sp.accounts.account(conn, session.user_id)
        if "admin-by-stale-group" in sp.flaws:
            admin = "admin" in session.roles_at_sign_in
        else:
            admin = bool(account is not None and account.entitled and account.admin)
        doc_text = conn.execute(
            select(resources.c.doc).where(resources.c.id == session.user_id)
        ).scalar()
        doc = json.loads(doc_text) if doc_text else {}
        state = str(account.license) if account is not None else "none"
        license_info: dict[str, Any] = {
            "state": state,
            "product": organisation.product,
            "subscription": organisation.subscription,
            "seats": organisation.seats,
            "seatsHeld": sp.accounts.seats_held(conn, organisation.org_pk),
        }
        if state == "waiting":
            license_info["waitingPosition"] = sp.accounts.waiting_position(
                conn, organisation.org_pk, session.user_id
            )
        return Me(
            session=session,
            organisation=organisation,
            user_name=str(doc.get("userName", session.user_name)),
            email=_email(doc, session.user_name),
            admin=admin,
            license=license_info,
            roles=["user", "admin"] if admin else ["user"],
        )

    async def landing(self, request: Request) -> Response:
        sp = self.sp
        with sp.db.transaction() as conn:
            me = self.me(conn, request)
        signed_out = request.query_params.get("signed_out") == "1"
        return render(
            "landing.html",
            sp.flaws,
            me=me,
            message="You are signed out." if signed_out else None,
            relay_state=safe_relay_state(request.query_params.get("RelayState")),
            email="",
        )

    async def api_me(self, request: Request) -> Response:
        with self.sp.db.transaction() as conn:
            me = self.me(conn, request)
        if me is None:
            return JSONResponse(
                {"error": "not-signed-in", "message": "sign in with SSO first"},
                status_code=401,
                headers={"Cache-Control": "no-store"},
            )
        return JSONResponse(me.to_json(), headers={"Cache-Control": "no-store"})

    def _to_sign_in(self, path: str) -> Response:
        return RedirectResponse(f"/?RelayState={path}", status_code=303)

    async def account(self, request: Request) -> Response:
        sp = self.sp
        with sp.db.transaction() as conn:
            me = self.me(conn, request)
            if me is None:
                return self._to_sign_in("/account")
            devices = conn.execute(
                select(activations)
                .where(activations.c.user_id == me.session.user_id)
                .order_by(activations.c.created.desc())
            ).all()
        return render("account.html", sp.flaws, me=me, devices=devices)

    async def admin(self, request: Request) -> Response:
        sp = self.sp
        with sp.db.transaction() as conn:
            me = self.me(conn, request)
            if me is None:
                if wants_json(request):
                    return JSONResponse({"error": "not-signed-in"}, status_code=401)
                return self._to_sign_in("/admin")
            if not me.admin:
                return refusal(
                    request,
                    sp.flaws,
                    403,
                    "not-admin",
                    "SP-BIZ-ADMIN",
                    f"only members of {me.organisation.admin_group!r} administer this business "
                    "account",
                )
            org = me.organisation.org_pk
            users = conn.execute(
                select(account_users)
                .where(account_users.c.org_pk == org)
                .order_by(account_users.c.user_name)
            ).all()
            open_sessions: dict[str, int] = {}
            for (user_id,) in conn.execute(
                select(sp_sessions.c.user_id).where(
                    sp_sessions.c.org_pk == org,
                    sp_sessions.c.ended.is_(None),
                    sp_sessions.c.expires > iso(sp.clock()),
                )
            ):
                open_sessions[user_id] = open_sessions.get(user_id, 0) + 1
            devices = conn.execute(
                select(activations)
                .where(activations.c.org_pk == org)
                .order_by(activations.c.created.desc())
            ).all()
            audit = conn.execute(
                select(audit_log)
                .where(audit_log.c.org_pk == org)
                .order_by(audit_log.c.seq.desc())
                .limit(200)
            ).all()
        waiting = sorted(
            (u for u in users if u.license == "waiting"), key=lambda u: (u.license_since, u.user_id)
        )
        data = {
            "users": [
                {
                    "userName": u.user_name,
                    "active": bool(u.entitled),
                    "admin": bool(u.admin),
                    "license": u.license,
                    "openSessions": open_sessions.get(u.user_id, 0),
                }
                for u in users
            ],
            "admins": [u.user_name for u in users if u.admin],
            "seats": {
                "total": me.organisation.seats,
                "held": sum(1 for u in users if u.license == "held"),
                "waiting": [u.user_name for u in waiting],
            },
            "activations": [
                {
                    "deviceId": d.device_id,
                    "product": d.product,
                    "clientVersion": d.client_version,
                    "user": d.user_name,
                    "status": d.status,
                    "reason": d.reason,
                }
                for d in devices
            ],
            "audit": [
                {
                    "seq": a.seq,
                    "at": a.at,
                    "actor": a.actor,
                    "action": a.action,
                    "user": a.user_name,
                    "detail": json.loads(a.detail),
                }
                for a in audit
            ],
        }
        if wants_json(request):
            return JSONResponse(data, headers={"Cache-Control": "no-store"})
        return render(
            "admin.html",
            sp.flaws,
            me=me,
            data=data,
            organisation=me.organisation,
            sp_entity_id=sp.entity_id,
            acs_url=sp.acs_url,
            scim_url=f"{sp.base_url}/scim/v2",
        )

    # ------------------------------------------------------------------------ activations

    async def start_activation(self, request: Request) -> Response:
        """A desktop client asks to be activated: ``{"product", "clientVersion", "deviceId"}``.

        Unauthenticated by design, so it is guarded otherwise: JSON only (a cross-site HTML form
        cannot send it without a CORS preflight, which fails here), never from a browser on
        another site, and a bounded number of pending activations per client and in all,
        each expiring after PENDING_LIFETIME and pruned then."""
        sp = self.sp
        media = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media != "application/json" and not (
            media.startswith("application/") and media.endswith("+json")
        ):
            return _api_error(
                415, "unsupported-media-type", f"send application/json, not {media[:100]!r}"
            )
        foreign = cross_site(request, sp.base_url)
        if foreign is not None:
            return _api_error(403, "cross-site", f"{foreign}: start activations from the device")
        try:
            body = parse_json(await request.body())  # capped by reference_sp.body_limit
        except JsonBodyError as exc:
            return _api_error(400, "bad-request", str(exc))
        if not isinstance(body, dict):
            return _api_error(400, "bad-request", "send a JSON object")
        values: dict[str, str] = {}
        for name, aliases in (
            ("product", ("product",)),
            ("clientVersion", ("clientVersion", "client_version")),
            ("deviceId", ("deviceId", "device_id")),
        ):
            raw = next((body[a] for a in aliases if a in body), None)
            if not isinstance(raw, str) or not raw.strip() or len(raw) > MAX_FIELD:
                return _api_error(
                    400, "bad-request", f"{name} is required: a string of 1 to {MAX_FIELD} chars"
                )
            values[name] = raw.strip()
        device_name = body.get("deviceName")
        if not isinstance(device_name, str) or len(device_name) > MAX_FIELD:
            device_name = None
        major = client_major(values["clientVersion"])
        if major is None:
            return _api_error(
                400,
                "bad-client-version",
                f"clientVersion {values['clientVersion']!r} is not a version",
            )
        minimum = min((t.min_client_major for t in sp.organisations.all()), default=18)
        if major < minimum and "allow-old-clients" not in sp.flaws:
            return _api_error(
                422,
                "client-version-unsupported",
                f"{values['product']} {values['clientVersion']} cannot be activated through SSO: "
                f"version {minimum} or later is required",
            )
        now = sp.clock()
        expires = iso(now + PENDING_LIFETIME)
        client = request.client.host if request.client is not None else "unknown"
        activation_id, code = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        with sp.db.transaction() as conn:
            conn.execute(  # pending activations nobody confirmed in time are gone for good
                delete(activations).where(
                    activations.c.status == "pending", activations.c.expires < iso(now)
                )
            )
            refused = self._over_quota(conn, client, iso(now))
            if refused is not None:
                return refused
            conn.execute(
                insert(activations).values(
                    id=activation_id,
                    code=code,
                    product=values["product"],
                    client_version=values["clientVersion"],
                    device_id=values["deviceId"],
                    device_name=device_name,
                    status="pending",
                    created=iso(now),
                    expires=expires,
                )
            )
            self._pending.add(client, activation_id, expires)
        return JSONResponse(
            {
                "id": activation_id,
                "status": "pending",
                "activationUrl": f"{sp.base_url}/activate/{code}",
                "checkInUrl": f"{sp.base_url}/api/activations/{activation_id}",
                "expires": expires,
            },
            status_code=201,
        )

    def _over_quota(self, conn: Connection, client: str, now: str) -> Response | None:
        """A 429 when the client, or everyone together, holds too many pending activations."""

        def still_pending(ids: list[str]) -> list[str]:
            return list(
                conn.execute(
                    select(activations.c.id).where(
                        activations.c.id.in_(ids), activations.c.status == "pending"
                    )
                ).scalars()
            )

        if not self._pending.admits(client, now, still_pending):
            return _too_many(
                f"this client has {PENDING_PER_CLIENT} activations waiting to be confirmed; "
                "confirm them or wait until they expire",
                self._pending.earliest_expiry(client),
                now,
            )
        pending, earliest = conn.execute(
            select(func.count(), func.min(activations.c.expires)).where(
                activations.c.status == "pending"
            )
        ).one()
        if pending >= PENDING_IN_ALL:
            return _too_many(
                f"{PENDING_IN_ALL} activations are waiting to be confirmed; try again later",
                earliest,
                now,
            )
        return None

    async def check_in(self, request: Request) -> Response:
        sp = self.sp
        activation_id = request.path_params["id"]
        with sp.db.transaction() as conn:
            row = conn.execute(
                select(activations).where(activations.c.id == activation_id[:64])
            ).first()
        if row is None:
            return _api_error(
                404, "unknown-activation", "no such activation (or it expired unconfirmed)"
            )
        status, reason = row.status, row.reason
        if status == "pending" and row.expires < iso(sp.clock()):
            status, reason = "expired", "not-completed-in-time"
        body: dict[str, Any] = {
            "id": row.id,
            "status": status,
            "product": row.product,
            "clientVersion": row.client_version,
            "deviceId": row.device_id,
        }
        if reason:
            body["reason"] = reason
        if row.user_name:
            body["user"] = row.user_name
        if (
            row.org_pk is not None
            and (organisation := sp.organisations.get(row.org_pk)) is not None
        ):
            body["organization"] = organisation.name
        return JSONResponse(body, headers={"Cache-Control": "no-store"})

    async def activate(self, request: Request) -> Response:
        """The browser half of an activation: sign in with SSO, then confirm."""
        sp = self.sp
        code = request.path_params["code"][:64]
        form = await request.form(max_files=0, max_fields=5) if request.method == "POST" else None
        with sp.db.transaction() as conn:
            row = conn.execute(select(activations).where(activations.c.code == code)).first()
            now = iso(sp.clock())
            if row is None or (row.status == "pending" and row.expires < now):
                return refusal(
                    request,
                    sp.flaws,
                    404,
                    "unknown-activation",
                    "SP-BIZ-ACTIVATION",
                    "this activation link is unknown or has expired; start again on the device",
                )
            me = self.me(conn, request)
            if me is None:
                return RedirectResponse(f"/?RelayState=/activate/{code}", status_code=303)
            if row.status != "pending":
                return render("activate.html", sp.flaws, me=me, row=row, done=True)
            if form is None:
                return render("activate.html", sp.flaws, me=me, row=row, done=False)
            if form.get("csrf") != me.csrf:
                return refusal(
                    request, sp.flaws, 403, "csrf", "SP-CSRF", "the form's CSRF token is wrong"
                )
            problem = self._activation_problem(me, row.client_version, sp.flaws)
            if problem is not None:
                reason, message = problem
                sp.accounts.audit(
                    conn,
                    me.organisation.org_pk,
                    "activation-refused",
                    actor=me.user_name,
                    user_id=me.session.user_id,
                    user_name=me.user_name,
                    device=row.device_id,
                    reason=reason,
                )
                return refusal(request, sp.flaws, 403, reason, "SP-BIZ-ACTIVATION", message)
            conn.execute(
                update(activations)
                .where(activations.c.id == row.id, activations.c.status == "pending")
                .values(
                    status="active",
                    org_pk=me.organisation.org_pk,
                    user_id=me.session.user_id,
                    user_name=me.user_name,
                    completed=now,
                )
            )
            sp.accounts.audit(
                conn,
                me.organisation.org_pk,
                "activation-completed",
                actor=me.user_name,
                user_id=me.session.user_id,
                user_name=me.user_name,
                device=row.device_id,
                product=row.product,
                client_version=row.client_version,
            )
        return RedirectResponse("/account", status_code=303)

    @staticmethod
    def _activation_problem(
        me: Me, client_version: str, flaws: frozenset[str] = frozenset()
    ) -> tuple[str, str] | None:
        organisation = me.organisation
        major = client_major(client_version)
        too_old = major is None or major < organisation.min_client_major
        if too_old and "allow-old-clients" not in flaws:
            return (
                "client-version-unsupported",
                f"version {organisation.min_client_major} or later is required to activate "
                "through SSO",
            )
        if organisation.subscription != "per-user":
            return (
                "subscription-not-per-user",
                f"{organisation.name}'s subscription is {organisation.subscription}: only per-user "
                "subscriptions activate devices through SSO",
            )
        state = me.license.get("state")
        if state == "waiting":
            return (
                "license-waiting",
                f"all {organisation.seats} seats are taken; you are number "
                f"{me.license.get('waitingPosition')} on the waiting list",
            )
        if state != "held":
            return ("no-license", f"you hold no {organisation.product} license")
        return None


def _api_error(status: int, error: str, message: str) -> JSONResponse:
    return JSONResponse({"error": error, "message": message, "status": status}, status_code=status)


def _too_many(message: str, earliest_expiry: str | None, now: str) -> JSONResponse:
    """429 with Retry-After: when the first pending activation in the way expires."""
    wait = int(PENDING_LIFETIME.total_seconds())
    if earliest_expiry is not None:
        left = parse_iso(earliest_expiry) - parse_iso(now)
        wait = max(1, int(left.total_seconds()) + 1)
    response = _api_error(429, "too-many-pending-activations", message)
    response.headers["Retry-After"] = str(wait)
    return response
