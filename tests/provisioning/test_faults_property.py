"""Property: faults never lose a pending change. Random directories and changes, cycles whose
requests randomly fail (5xx, 429, 400 with a SCIM error, garbage, a timeout before the SP sees
the request, and a reply lost after the SP applied it); then one clean cycle brings the SP to
the directory's assigned state and the next clean cycle sends nothing."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import httpx
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from harness.protocol.scim.dialects import DIALECTS
from reference_sp.app import ReferenceSP

from .conftest import make_world_for
from .faults import scim_error
from .test_same_final_state import apply, change, check

KINDS = ("500", "503", "429", "400", "garbage", "timeout", "lost-reply")


class RandomFaults(httpx.AsyncBaseTransport):
    def __init__(self, inner: httpx.AsyncBaseTransport, rng: random.Random, rate: float) -> None:
        self.inner, self.rng, self.rate = inner, rng, rate
        self.enabled = True
        self.injected: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if not self.enabled or self.rng.random() >= self.rate:
            return await self.inner.handle_async_request(request)
        kind = self.rng.choice(KINDS)
        self.injected.append(f"{kind} {request.method} {request.url.path}")
        if kind == "timeout":
            raise httpx.ReadTimeout("timed out", request=request)
        if kind == "lost-reply":
            response = await self.inner.handle_async_request(request)
            await response.aread()
            raise httpx.ReadTimeout("the reply was lost", request=request)
        if kind == "garbage":
            return httpx.Response(200, content=b"<html>proxy error</html>")
        if kind == "429":
            return httpx.Response(
                429, headers={"Retry-After": "3"}, content=scim_error(429, "slow")
            )
        status = int(kind)
        return httpx.Response(status, content=scim_error(status, "injected", "invalidValue"))


# An employee renamed away and a new one hired under the old name, in one cycle (found here):
# the new one must be created, not take over the renamed one's account.
@example(
    dialect="rfc",
    initial=[("add", 0)],
    cycles=[[("change-username", 0, 1), ("add", 0)]],
    seed=0,
    rate=0.1,
)
@example(
    dialect="rfc", initial=[("add", 0)], cycles=[[("delete", 0), ("add", 0)]], seed=0, rate=0.0
)
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    dialect=st.sampled_from([*DIALECTS, "ping-delete"]),
    initial=st.lists(change, max_size=10),
    cycles=st.lists(st.lists(change, max_size=4), min_size=1, max_size=3),
    seed=st.integers(0, 2**32),
    rate=st.sampled_from([0.1, 0.3, 0.6]),
)
def test_faults_never_lose_a_pending_change(
    reference_sp: ReferenceSP,
    dialect: str,
    initial: list[tuple[Any, ...]],
    cycles: list[list[tuple[Any, ...]]],
    seed: int,
    rate: float,
) -> None:
    async def scenario() -> None:
        world = make_world_for(reference_sp, dialect)
        faults = RandomFaults(httpx.ASGITransport(app=reference_sp.app), random.Random(seed), rate)
        world.idp.provisioning.transport = faults
        for step in initial:
            apply(world.idp.directory, step)
        for steps in [[], *cycles]:
            for step in steps:
                apply(world.idp.directory, step)
            faults.enabled = True
            await world.idp.provision()  # whatever fails stays pending
            faults.enabled = False
            report = await world.idp.provision()
            assert report.ok, (report.to_json(), faults.injected)
            await check(world, dialect)
            again = await world.idp.provision()
            assert again.requests == 0, ([r.to_json() for r in again.results], faults.injected)

    asyncio.run(scenario())
