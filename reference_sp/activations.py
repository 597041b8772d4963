"""Device activation through SSO: a desktop client starts one (unauthenticated, so bounded per
client and in all), a signed-in user confirms it in the browser, the client checks in to learn
whether it is active, or revoked and why.

A pending activation is confirmed within minutes, or never: it then expires and is deleted at
the next start. Nobody is signed in when one starts, so the bounds on what is pending are per
client address and in all (reference_sp.activation_quota)."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Connection, Row

from harness.protocol.refusal import Refusal
from reference_sp import activation_store as store
from reference_sp.accounts import Accounts
from reference_sp.activation_quota import PendingQuota
from reference_sp.db import Database
from reference_sp.identity import Identity, Me, NotSignedIn
from reference_sp.organisation_routing import OrganisationRouting
from reference_sp.settings import Site
from reference_sp.timeutil import iso, parse_iso

PENDING_LIFETIME = timedelta(minutes=10)
PENDING_PER_CLIENT = 100
PENDING_IN_ALL = 10_000
MAX_FIELD = 200
ACTIVATION_RULE = "BIZ-ACTIVATION-1"
_VERSION = re.compile(r"^\s*(\d{1,6})(?:\.\d{1,9}){0,3}(?:[-+ ][\w.\-+ ]{0,40})?\s*$")
_FIELDS = (
    ("product", ("product",)),
    ("clientVersion", ("clientVersion", "client_version")),
    ("deviceId", ("deviceId", "device_id")),
)


def client_major(version: str) -> int | None:
    match = _VERSION.match(version)
    return int(match.group(1)) if match else None


class TooManyPending(Refusal):
    """429: too many activations wait to be confirmed; ``retry_after`` seconds until the first
    one in the way expires."""

    status = 429

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__("too-many-pending-activations", message, ACTIVATION_RULE)
        self.retry_after = retry_after

    @classmethod
    def until(cls, message: str, earliest_expiry: str | None, now: str) -> TooManyPending:
        wait = int(PENDING_LIFETIME.total_seconds())
        if earliest_expiry is not None:
            left = parse_iso(earliest_expiry) - parse_iso(now)
            wait = max(1, int(left.total_seconds()) + 1)
        return cls(message, wait)


@dataclass(frozen=True)
class ActivationRequest:
    """What a desktop client sends: ``{"product", "clientVersion", "deviceId"[, "deviceName"]}``."""

    product: str
    client_version: str
    device_id: str
    device_name: str | None

    @classmethod
    def of(cls, body: object) -> ActivationRequest:
        """The request in a parsed JSON body, or a 400 Refusal saying what is wrong."""
        if not isinstance(body, dict):
            raise Refusal("bad-request", "send a JSON object", ACTIVATION_RULE, status=400)
        values: dict[str, str] = {}
        for name, aliases in _FIELDS:
            raw = next((body[a] for a in aliases if a in body), None)
            if not isinstance(raw, str) or not raw.strip() or len(raw) > MAX_FIELD:
                message = f"{name} is required: a string of 1 to {MAX_FIELD} chars"
                raise Refusal("bad-request", message, ACTIVATION_RULE, status=400)
            values[name] = raw.strip()
        device_name = body.get("deviceName")
        if not isinstance(device_name, str) or len(device_name) > MAX_FIELD:
            device_name = None
        return cls(values["product"], values["clientVersion"], values["deviceId"], device_name)


@dataclass(frozen=True)
class ActivationVisit:
    """The browser's visit to an activation link: the page to show, or ``confirmed`` now."""

    me: Me
    row: Row[Any]
    state: Literal["confirm", "done", "confirmed"]


class ActivationService:
    def __init__(
        self,
        db: Database,
        identity: Identity,
        organisations: OrganisationRouting,
        accounts: Accounts,
        site: Site,
        clock: Callable[[], datetime],
        flaws: frozenset[str],
    ) -> None:
        self.db = db
        self.identity = identity
        self.organisations = organisations
        self.accounts = accounts
        self.site = site
        self.clock = clock
        self.allow_old_clients = "allow-old-clients" in flaws
        self._pending = PendingQuota(PENDING_PER_CLIENT)

    def start(self, asked: ActivationRequest, client: str) -> dict[str, Any]:
        """A pending activation for the device (the JSON answer), or the Refusal."""
        major = client_major(asked.client_version)
        if major is None:
            message = f"clientVersion {asked.client_version!r} is not a version"
            raise Refusal("bad-client-version", message, ACTIVATION_RULE, status=400)
        minimum = min((o.min_client_major for o in self.organisations.all()), default=18)
        if major < minimum and not self.allow_old_clients:
            message = (
                f"{asked.product} {asked.client_version} cannot be activated through SSO: "
                f"version {minimum} or later is required"
            )
            raise Refusal("client-version-unsupported", message, ACTIVATION_RULE, status=422)
        moment = self.clock()
        now, expires = iso(moment), iso(moment + PENDING_LIFETIME)
        activation_id, code = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        new = store.NewActivation(
            activation_id,
            code,
            asked.product,
            asked.client_version,
            asked.device_id,
            asked.device_name,
            created=now,
            expires=expires,
        )
        with self.db.transaction_keeping_refusals() as conn:
            store.forget_expired(conn, now)
            self._check_quota(conn, client, now)
            store.add_pending(conn, new)
            self._pending.add(client, activation_id, expires)
        return {
            "id": activation_id,
            "status": "pending",
            "activationUrl": f"{self.site.base_url}/activate/{code}",
            "checkInUrl": f"{self.site.base_url}/api/activations/{activation_id}",
            "expires": expires,
        }

    def _check_quota(self, conn: Connection, client: str, now: str) -> None:
        """TooManyPending when the client, or everyone together, holds too many."""
        if not self._pending.admits(client, now, lambda ids: store.still_pending(conn, ids)):
            raise TooManyPending.until(
                f"this client has {PENDING_PER_CLIENT} activations waiting to be confirmed; "
                "confirm them or wait until they expire",
                self._pending.earliest_expiry(client),
                now,
            )
        pending, earliest = store.pending_in_all(conn)
        if pending >= PENDING_IN_ALL:
            raise TooManyPending.until(
                f"{PENDING_IN_ALL} activations are waiting to be confirmed; try again later",
                earliest,
                now,
            )

    def check_in(self, activation_id: str) -> dict[str, Any]:
        """The device's check-in: its activation's status (and why, when it ended)."""
        with self.db.transaction() as conn:
            row = store.by_id(conn, activation_id)
        if row is None:
            message = "no such activation (or it expired unconfirmed)"
            raise Refusal("unknown-activation", message, ACTIVATION_RULE, status=404)
        status, reason = row.status, row.reason
        if status == "pending" and row.expires < iso(self.clock()):
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
        if row.org_pk is not None and (organisation := self.organisations.get(row.org_pk)):
            body["organization"] = organisation.name
        return body

    def visit(
        self, code: str, session_token: str | None, *, confirm: bool, csrf: object = None
    ) -> ActivationVisit:
        """The activation link opened by a signed-in user (NotSignedIn otherwise): the page
        asking to confirm, the page saying it is done, or, when ``confirm`` (the form posted
        with its ``csrf`` token), the activation confirmed."""
        with self.db.transaction_keeping_refusals() as conn:
            now = iso(self.clock())
            row = store.by_code(conn, code)
            if row is None or (row.status == "pending" and row.expires < now):
                message = (
                    "this activation link is unknown or has expired; start again on the device"
                )
                raise Refusal("unknown-activation", message, ACTIVATION_RULE, status=404)
            me = self.identity.me(conn, session_token)
            if me is None:
                raise NotSignedIn()
            if row.status != "pending":
                return ActivationVisit(me, row, "done")
            if not confirm:
                return ActivationVisit(me, row, "confirm")
            if csrf != me.csrf:
                raise Refusal("csrf", "the form's CSRF token is wrong", "SP-CSRF", status=403)
            self._confirm(conn, me, row, now)
        return ActivationVisit(me, row, "confirmed")

    def _confirm(self, conn: Connection, me: Me, row: Row[Any], now: str) -> None:
        who = {"actor": me.user_name, "user_id": me.session.user_id, "user_name": me.user_name}
        org_pk = me.organisation.org_pk
        problem = self._problem(me, row.client_version)
        if problem is not None:
            reason, message = problem
            self.accounts.audit(
                conn, org_pk, "activation-refused", **who, device=row.device_id, reason=reason
            )
            raise Refusal(reason, message, ACTIVATION_RULE, status=403)
        store.confirm(conn, row.id, org_pk, me.session.user_id, me.user_name, now)
        self.accounts.audit(
            conn,
            org_pk,
            "activation-completed",
            **who,
            device=row.device_id,
            product=row.product,
            client_version=row.client_version,
        )

    def _problem(self, me: Me, client_version: str) -> tuple[str, str] | None:
        """Why this user may not activate this client (reason code, sentence), or None."""
        organisation = me.organisation
        major = client_major(client_version)
        too_old = major is None or major < organisation.min_client_major
        if too_old and not self.allow_old_clients:
            return (
                "client-version-unsupported",
                f"version {organisation.min_client_major} or later is required to activate "
                "through SSO",
            )
        if organisation.subscription != "per-user":
            return (
                "subscription-not-per-user",
                f"{organisation.name}'s subscription is {organisation.subscription}: only "
                "per-user subscriptions activate devices through SSO",
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
