"""The sans-IO step protocol: a dialect's step is a generator that yields the requests it
wants sent and receives each reply; whoever drives it does the HTTP (or replays a script)."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any, TypeVar

from .failures import ScimCallError
from .model import DesiredState, ProvisionedState, ScimReply, ScimRequest

T = TypeVar("T")
Exchange = Generator[ScimRequest, ScimReply, T]


@dataclass
class CycleContext:
    """One cycle's inputs: the desired state, the IdP's memory (updated as writes succeed),
    the time, the randomness and whether it is a full (initial) cycle."""

    desired: DesiredState
    state: ProvisionedState
    now: dt.datetime
    rng: random.Random
    full: bool = False
    cache: dict[str, Any] = field(default_factory=dict)  # per-cycle listings (Okta, Ping)


def call(request: ScimRequest, *expected: int) -> Exchange[ScimReply]:
    """Send ``request``; any status outside ``expected`` fails the step with the SP's error."""
    reply = yield request
    if reply.status not in expected or reply.garbage:
        raise ScimCallError.from_reply(request, reply, " or ".join(str(s) for s in expected))
    return reply


def call_for_object(request: ScimRequest, *expected: int) -> Exchange[dict[str, Any]]:
    """Like ``call``, and the answer must be a JSON object (a resource or a ListResponse)."""
    reply = yield from call(request, *expected)
    if not isinstance(reply.body, dict):
        raise ScimCallError(
            request, reply, f"{request.method} {request.path}: {reply.status} without a JSON object"
        )
    return reply.body


def resources_of(listing: dict[str, Any]) -> list[dict[str, Any]]:
    found = listing.get("Resources", [])
    return [r for r in found if isinstance(r, dict)] if isinstance(found, list) else []


def quote(value: str) -> str:
    """A SCIM filter string literal (RFC 7644 3.4.2.2: a JSON string)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
