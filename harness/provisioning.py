"""Provisioning cycles in a world: the mock IdP's provisioning engine sends its directory to
the SP's SCIM endpoint in the scenario's dialect (rfc, entra, entra-compat, okta, ping),
request for request as that vendor would. The cycle report (what was sent, each user's result)
goes into the world's evidence."""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx

from mock_idp.provisioning import ProvisioningTarget

if TYPE_CHECKING:
    from harness.world import World


class ProvisioningFailed(Exception):  # noqa: N818 - the outcome's name
    """A cycle could not reach the SP at all (wrong URL or token): the world is broken."""


def provision(world: World, cycle: str, dialect: str) -> None:
    if world.scim_url is None:
        raise ProvisioningFailed("the target has no SCIM endpoint")
    target = ProvisioningTarget(scim_url=world.scim_url, token=world.scim_token, dialect=dialect)
    engine = world.idp.provisioning
    engine.configure(target)
    if world.loopback or world.reference is None:
        engine.transport = None  # real sockets
    else:
        engine.transport = httpx.ASGITransport(app=world.reference.app)
    report = world.portal.call(engine.run_cycle, cycle)
    world.evidence.append({"provisioning": report.to_json()})
    if report.aborted:
        raise ProvisioningFailed(f"the {dialect} provisioning cycle was aborted: {report.aborted}")
