"""The vendors' quirks reach the SP: the reference SP's own journal records each deviation it
tolerated, so a dialect that quietly became textbook would fail here."""

from __future__ import annotations

import pytest

from reference_sp.app import ReferenceSP

from .conftest import make_world
from .scenarios import CHANGES, base_directory

pytestmark = pytest.mark.anyio

EXPECTED = {
    "rfc": set(),
    "entra": {
        "patch-op-not-lowercase",
        "boolean-as-string",
        "members-remove-with-value",
        "complex-as-value-string",
        "unknown-schema-urn",
    },
    "entra-compat": {"pathless-dotted-key", "complex-as-value-string", "unknown-schema-urn"},
    "okta": set(),
    "ping": set(),
}


@pytest.mark.parametrize("dialect", list(EXPECTED))
async def test_deviations_the_sp_tolerated(reference_sp: ReferenceSP, dialect: str) -> None:
    seen: set[str] = set()
    for change in CHANGES:
        world = make_world(reference_sp, dialect)
        base_directory(world.idp.directory)
        await world.idp.check_provisioning_connection()
        assert (await world.idp.provision()).ok
        if change.before:
            change.before(world.idp.directory)
            assert (await world.idp.provision()).ok
        change.apply(world.idp.directory)
        world.clock.frozen_at = world.clock.now() + change.wait
        report = await world.idp.provision(change.cycle)
        assert report.ok, report.to_json()
        journal = reference_sp.scim_journal(world.org_pk)
        seen |= {d["code"] for entry in journal for d in entry.deviations}
    assert seen == EXPECTED[dialect]
