"""The control API's provisioning part (JSON under /api/provision).

- ``PUT /api/provision/target``: where and how to provision (SCIM base URL, bearer token or
  basic credentials, dialect, Ping's Remove User Action, timeout).
- ``POST /api/provision``: run a cycle (``{"cycle": "initial"|"incremental"}``, default the
  next one; an optional ``target`` configures first); answers the cycle's report (200 even when
  the SP refused things: ``ok``, ``aborted`` and per-user ``results`` say what happened).
- ``POST /api/provision/test``: the dialect's connection test.
- Targets: loopback, or a host the operator allowed (``--allow-provision-to``); else 403.
- ``GET /api/provision``: the target and the last reports; ``GET /api/provision/state``: what
  the IdP remembers having written (userName -> SCIM id, active, in scope).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .api_common import RouteFactory, read_json
from .idp import MockIdP
from .outbound import refusal
from .provisioning import ProvisioningTarget
from .refusals import APIError, ProvisioningError

REPORTS_SHOWN = 20


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BasicBody(_Strict):
    username: str
    password: str = ""


class TargetBody(_Strict):
    scim_url: str = Field(min_length=1)
    token: str | None = None
    basic: BasicBody | None = None
    dialect: Literal["rfc", "entra", "entra-compat", "okta", "ping"] = "rfc"
    ping_remove_user_action: Literal["disable", "delete"] = "disable"
    timeout: float = Field(default=10.0, gt=0, le=300)

    def to_target(self) -> ProvisioningTarget:
        return ProvisioningTarget(
            scim_url=self.scim_url,
            token=self.token,
            basic_user=self.basic.username if self.basic else None,
            basic_password=self.basic.password if self.basic else None,
            dialect=self.dialect,
            ping_remove_user_action=self.ping_remove_user_action,
            timeout=self.timeout,
        )


class CycleBody(_Strict):
    cycle: Literal["initial", "incremental"] | None = None
    target: TargetBody | None = None


def provisioning_routes(idp: MockIdP, route: RouteFactory) -> list[Route]:
    provisioner = idp.provisioning

    def configure(body: TargetBody) -> None:
        """Point the IdP at ``body``'s target, or refuse saying why not."""
        try:
            target = body.to_target()  # a malformed URL is a 422 here
        except ProvisioningError as exc:
            raise exc.with_status(422) from exc
        why = refusal(target.scim_url, idp.provision_allowed_hosts)
        if why is not None:
            raise APIError("target-not-allowed", why, status=403)
        idp.provision_to(target)

    async def target(request: Request) -> Response:
        configure(await read_json(request, TargetBody))
        return JSONResponse(provisioner.target.to_json() if provisioner.target else None)

    async def provision(request: Request) -> Response:
        if request.method == "GET":
            return JSONResponse(
                {
                    "target": provisioner.target.to_json() if provisioner.target else None,
                    "reports": [r.to_json() for r in provisioner.reports[-REPORTS_SHOWN:]],
                }
            )
        body = await read_json(request, CycleBody)
        if body.target is not None:
            configure(body.target)
        report = await idp.provision(body.cycle)
        return JSONResponse(report.to_json())

    async def test(request: Request) -> Response:
        result = await idp.check_provisioning_connection()
        return JSONResponse(result.to_json())

    async def state(request: Request) -> Response:
        memory = provisioner.state
        return JSONResponse(
            {
                "users": {
                    r.sent.user_name: {
                        "id": r.scim_id,
                        "active": r.sent.active,
                        "in_scope": r.in_scope,
                    }
                    for r in memory.users.values()
                },
                "groups": {
                    g.display_name: {"id": g.scim_id, "members": len(g.members)}
                    for g in memory.groups.values()
                },
            }
        )

    return [
        route("/provision", provision, "GET", "POST"),
        route("/provision/target", target, "PUT"),
        route("/provision/test", test, "POST"),
        route("/provision/state", state),
    ]
