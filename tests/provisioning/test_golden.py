"""Golden traces: for each dialect and each directory change, the exact request sequence
(method, path, query, body, and the SP's status) of the cycle that change causes, against the
real reference SP, compared with ``tests/samples/provisioning/<dialect>/<change>.json``.

SCIM ids the SP assigned are replaced by ``<user:NAME>`` / ``<group:NAME>``; the clock is
frozen and the IdP seeded, so the rest is byte-stable. Set ``SSO_HARNESS_UPDATE_GOLDEN=1`` to
rewrite the files, then review the diff against the vendor documentation named in each
dialect's docstring (``harness/protocol/scim/dialects``)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from harness.protocol.scim.dialects import DIALECTS
from mock_idp.idp import MockIdP
from reference_sp.app import ReferenceSP

from .conftest import VARIANTS, make_world_for
from .scenarios import CHANGES, Change, base_directory

pytestmark = pytest.mark.anyio
GOLDEN = Path(__file__).parents[1] / "samples" / "provisioning"
UPDATE = os.environ.get("SSO_HARNESS_UPDATE_GOLDEN") == "1"


def _names(idp: MockIdP) -> dict[str, str]:
    """Every SCIM id the SP ever answered with -> a readable placeholder."""
    names: dict[str, str] = {}
    for entry in idp.journal.entries(kind="SCIM"):
        body = entry.details.get("response")
        resources = body.get("Resources", [body]) if isinstance(body, dict) else []
        for resource in resources:
            if isinstance(resource, dict) and isinstance(resource.get("id"), str):
                label = resource.get("userName") or resource.get("displayName")
                kind = "user" if "userName" in resource else "group"
                names.setdefault(resource["id"], f"<{kind}:{label}>")
    return names


def _replace_ids(value: Any, names: dict[str, str]) -> Any:
    if isinstance(value, str):
        for scim_id, label in names.items():
            value = value.replace(scim_id, label)
        return value
    if isinstance(value, list):
        return [_replace_ids(v, names) for v in value]
    if isinstance(value, dict):
        return {k: _replace_ids(v, names) for k, v in value.items()}
    return value


def trace(idp: MockIdP, since: int) -> list[dict[str, Any]]:
    names = _names(idp)
    found = []
    for entry in idp.journal.entries(kind="SCIM", since=since):
        step = dict(entry.details["request"])  # type: ignore[call-overload]
        step["status"] = entry.details["status"]
        step["change"] = entry.details["change"]
        found.append(_replace_ids(step, names))
    return found


def compare(dialect: str, name: str, steps: list[dict[str, Any]]) -> None:
    path = GOLDEN / dialect / f"{name}.json"
    document = {"dialect": dialect, "change": name, "requests": steps}
    text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    if UPDATE or not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        if not UPDATE:
            pytest.fail(f"{path} was missing and has been written: review it and commit it")
    assert json.loads(path.read_text()) == document


def _last_seq(idp: MockIdP) -> int:
    last = idp.journal.last()
    return last.seq if last else 0


@pytest.mark.parametrize("dialect", [*DIALECTS, *VARIANTS])
async def test_connection_test_and_initial_cycle(reference_sp: ReferenceSP, dialect: str) -> None:
    world = make_world_for(reference_sp, dialect)
    base_directory(world.idp.directory)
    result = await world.idp.check_provisioning_connection()
    assert result.ok, result.message
    compare(dialect, "connection-test", trace(world.idp, 0))
    since = _last_seq(world.idp)
    report = await world.idp.provision()
    assert report.ok, report.to_json()
    compare(dialect, "initial", trace(world.idp, since))


@pytest.mark.parametrize("change", CHANGES, ids=lambda c: c.name)
@pytest.mark.parametrize("dialect", [*DIALECTS, *VARIANTS])
async def test_change(reference_sp: ReferenceSP, dialect: str, change: Change) -> None:
    world = make_world_for(reference_sp, dialect)
    base_directory(world.idp.directory)
    assert (await world.idp.provision()).ok
    if change.before is not None:
        change.before(world.idp.directory)
        assert (await world.idp.provision()).ok
    change.apply(world.idp.directory)
    world.clock.frozen_at = world.clock.now() + change.wait
    since = _last_seq(world.idp)
    report = await world.idp.provision(change.cycle)
    assert report.ok, report.to_json()
    compare(dialect, change.name, trace(world.idp, since))
