"""The scim_conformance suite's step, ``scim_conformance: GROUP``: run one group of checks of
:mod:`harness.checks.scim_conformance` against the target's SCIM base URL (``world.scim_url``,
``world.scim_token``), one verdict per check.

Discovery comes first: what /ServiceProviderConfig announces (filter, sort, patch, etag, bulk)
and whether /ResourceTypes lists the enterprise extension decide which later checks run; what
the server does not announce is skipped with that reason, never passed. A group whose fixture
cannot be made (creating its users failed) skips its checks with the reason. Every resource a
group makes has a name unique to the run and is deleted when the group ends.
"""

from __future__ import annotations

import weakref
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from harness.checks.model import Check
from harness.checks.scim_conformance import GROUPS
from harness.checks.scim_seen import Exchange, ScimSeen
from harness.scim_http import ScimHttp
from harness.verdicts import Verdict, judged, not_judged

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"

# What a group needs the server to announce in /ServiceProviderConfig.
ANNOUNCED: dict[str, str] = {
    "filters": "filter",
    "search": "filter",
    "case": "filter",
    "pagination": "filter",
    "sorting": "sort",
    "patch": "patch",
    "etags": "etag",
    "bulk": "bulk",
}

# A group's outcome per check: what was seen, or why it could not be judged.
Outcome = tuple[Check, ScimSeen | str]


class FixtureFailed(Exception):  # noqa: N818 - the outcome's name
    """A resource a group needs could not be made: its checks are skipped with this reason."""


@dataclass
class Conformance:
    """One world's conformance run: the client, the run's names, what discovery found."""

    http: ScimHttp
    prefix: str  # unique to the run: every userName and displayName starts with it
    domain: str
    announced: dict[str, bool] | None = None  # None: /ServiceProviderConfig not read
    discovery_problem: str = ""
    enterprise: bool = False
    config: dict[str, Any] = field(default_factory=dict)  # /ServiceProviderConfig's answer
    made: list[str] = field(default_factory=list)  # locations to delete when the group ends

    def name(self, group: str, ref: str) -> str:
        return f"{self.prefix}{group}-{ref}@{self.domain}"

    def create(self, path: str, body: dict[str, Any], **kwargs: Any) -> Exchange:
        made = self.http.call("POST", path, body, **kwargs)
        if made.status == 201 and isinstance(made.body, dict) and made.body.get("id"):
            self.made.append(f"{path}/{made.body['id']}")
        return made

    def user(self, group: str, ref: str, **attributes: Any) -> str:
        """A user of the group's fixture (its id); FixtureFailed when the server refuses it."""
        name = self.name(group, ref)
        body = {"schemas": [USER_SCHEMA], "userName": name, **attributes}
        made = self.create("/Users", body)
        if made.status != 201 or not isinstance(made.body, dict) or not made.body.get("id"):
            raise FixtureFailed(
                f"creating the user {name} answered {made.status}: {made.body!r}"[:300]
            )
        return str(made.body["id"])

    def group(self, group: str, ref: str, members: list[str]) -> str:
        body = {
            "schemas": [GROUP_SCHEMA],
            "displayName": f"{self.prefix}{group}-{ref}",
            "members": [{"value": m} for m in members],
        }
        made = self.create("/Groups", body)
        if made.status != 201 or not isinstance(made.body, dict) or not made.body.get("id"):
            raise FixtureFailed(f"creating a group answered {made.status}: {made.body!r}"[:300])
        return str(made.body["id"])

    def patch(self, path: str, *operations: dict[str, Any], **kwargs: Any) -> Exchange:
        body = {"schemas": [PATCH_OP], "Operations": list(operations)}
        return self.http.call("PATCH", path, body, **kwargs)

    def clean_up(self) -> None:
        while self.made:
            self.http.delete_quietly(self.made.pop())

    def unannounced(self, feature: str) -> str | None:
        if self.announced is None:
            return f"/ServiceProviderConfig could not be read ({self.discovery_problem})"
        if not self.announced.get(feature, False):
            return f"the server does not announce {feature} support in /ServiceProviderConfig"
        return None


_RUNS: weakref.WeakKeyDictionary[Any, Conformance] = weakref.WeakKeyDictionary()


def conformance_of(world: Any, http: Any) -> Conformance:
    """The world's conformance run, made (and discovered) on its first group."""
    found = _RUNS.get(world)
    if found is None:
        sample = world.user_name("scim-conformance")
        prefix = f"c{zlib.crc32(sample.encode()):08x}-"
        client = ScimHttp(http, world.scim_url.rstrip("/"), world.scim_token)
        found = _RUNS[world] = Conformance(client, prefix, sample.rsplit("@", 1)[-1])
        discover(found)
    return found


def discover(c: Conformance) -> dict[str, Exchange]:
    """Read what the server announces; the exchanges, for the discovery checks."""
    seen = {
        "spc": c.http.call("GET", "/ServiceProviderConfig"),
        "types": c.http.call("GET", "/ResourceTypes"),
        "schemas": c.http.call("GET", "/Schemas"),
    }
    spc = seen["spc"].body
    if seen["spc"].status == 200 and isinstance(spc, dict):
        c.config = spc
        c.announced = {
            f: isinstance(spc.get(f), dict) and spc[f].get("supported") is True
            for f in ("patch", "bulk", "filter", "sort", "etag")
        }
    else:
        c.discovery_problem = f"it answered {seen['spc'].status}"
    types = seen["types"].body
    listed = types.get("Resources", []) if isinstance(types, dict) else types
    for rt in listed if isinstance(listed, list) else []:
        if isinstance(rt, dict) and rt.get("name") == "User":
            extensions = rt.get("schemaExtensions") or []
            c.enterprise = any(
                isinstance(e, dict) and e.get("schema") == ENTERPRISE for e in extensions
            )
    return seen


def run_group(
    world: Any, group: str, line: int, outcomes: Callable[[Conformance], Iterator[Outcome]]
) -> Iterator[Verdict]:
    checks = GROUPS[group]
    if world.scim_url is None:
        yield from not_judged(checks, line, "the target has no SCIM endpoint")
        return
    with world.client() as http:
        c = conformance_of(world, http)
        c.http.http = http
        feature = ANNOUNCED.get(group)
        reason = c.unannounced(feature) if feature else None
        if reason is not None:
            yield from not_judged(checks, line, reason)
            return
        done: set[str] = set()
        try:
            for check, seen in outcomes(c):
                done.add(check.id)
                if isinstance(seen, str):
                    yield from not_judged([check], line, seen)
                else:
                    yield judged(check, line, seen)
        except FixtureFailed as exc:
            yield from not_judged([k for k in checks if k.id not in done], line, str(exc))
        finally:
            c.clean_up()
