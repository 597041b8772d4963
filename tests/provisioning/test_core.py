"""The dialects are sans-IO: a step is a generator of requests, driven here with scripted
replies and no HTTP at all; the retry policies are plain arithmetic."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from harness.protocol.scim.dialects import dialect_named
from harness.protocol.scim.dialects.exchange import CycleContext, quote
from harness.protocol.scim.dialects.failures import ScimCallError
from harness.protocol.scim.dialects.model import (
    DesiredState,
    ProvisionedState,
    ScimReply,
    UserState,
)

NOW = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
DANA = UserState("k-dana", "dana@example.com", "emp-1", given_name="Dana")


def context(seed: int = 1) -> CycleContext:
    desired = DesiredState({DANA.key: DANA}, {}, frozenset({DANA.key}))
    return CycleContext(desired, ProvisionedState(), NOW, random.Random(seed))


def test_a_create_driven_by_hand() -> None:
    dialect = dialect_named("entra")
    ctx = context()
    [task] = dialect.plan(ctx)
    assert (task.phase, task.change) == ("user", "assign")
    steps = dialect.run(ctx, task)
    lookup = next(steps)
    assert (lookup.method, lookup.path) == ("GET", "/Users")
    assert lookup.query == (("filter", 'userName eq "dana@example.com"'),)
    create = steps.send(ScimReply(200, {"totalResults": 0, "Resources": []}))
    assert create.method == "POST" and create.body["active"] is True
    with pytest.raises(StopIteration) as done:
        steps.send(ScimReply(201, {"id": "sp-1", "userName": "dana@example.com"}))
    assert done.value.value == "created"
    assert ctx.state.users[DANA.key].scim_id == "sp-1"
    assert dialect.plan(ctx) == []  # nothing left to do


def test_a_scim_error_keeps_the_change_pending() -> None:
    dialect = dialect_named("rfc")
    ctx = context()
    [task] = dialect.plan(ctx)
    steps = dialect.run(ctx, task)
    next(steps)
    steps.send(ScimReply(200, {"Resources": []}))
    error = {"status": "409", "scimType": "uniqueness", "detail": "taken"}
    with pytest.raises(ScimCallError) as failed:
        steps.send(ScimReply(409, error))
    assert (failed.value.status, failed.value.scim_type) == (409, "uniqueness")
    assert [t.change for t in dialect.plan(ctx)] == ["assign"]


def test_entra_connection_test_is_a_random_guid_lookup_reproducible_from_the_seed() -> None:
    first = next(dialect_named("entra").connection_test(context(seed=9)))
    again = next(dialect_named("entra").connection_test(context(seed=9)))
    assert first == again
    assert first.query[0][1].startswith('userName eq "') and len(first.query[0][1]) == 50


def test_ping_backoff_is_exponential_and_honours_a_longer_retry_after() -> None:
    retry = dialect_named("ping").retry
    busy = ScimReply(503)
    assert [retry.delay(busy, n) for n in range(5)] == [1.0, 2.0, 4.0, 8.0, None]
    assert retry.delay(ScimReply(429, headers={"Retry-After": "30"}), 0) == 30.0
    assert retry.delay(ScimReply(0, transport_error="timeout"), 0) == 1.0
    assert retry.delay(ScimReply(400), 0) is None


@pytest.mark.parametrize(
    ("dialect", "status", "retried"),
    [("entra", 429, True), ("entra", 503, False), ("okta", 500, False), ("rfc", 503, True)],
)
def test_who_retries_what(dialect: str, status: int, retried: bool) -> None:
    assert (dialect_named(dialect).retry.delay(ScimReply(status), 0) is not None) is retried


def test_filter_literals_are_json_strings() -> None:
    assert quote('a"b\\c') == '"a\\"b\\\\c"'
