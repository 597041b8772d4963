"""The IdP's provisioning under load: employees hired and leaving, sent to the SP's SCIM
endpoint request for request as the dialect's vendor would (rfc, entra, entra-compat, okta,
ping: the mock IdP's own sans-IO dialects), each request named by its step ("scim: lookup",
"scim: create", "scim: deactivate"...).

Each provisioner keeps its own small directory and its memory of what it wrote, so that
provisioners on many workers never touch each other's users: a cycle sends exactly the one
change just made (incremental), as an IdP does between its full syncs.
"""

from __future__ import annotations

import datetime as dt
import random
import time

import httpx

from harness.load.config import LoadConfig
from harness.load.steps import Report, StepTransport
from harness.protocol.scim.dialects import Dialect, Task, dialect_named
from harness.protocol.scim.dialects.exchange import CycleContext
from harness.protocol.scim.dialects.failures import ScimCallError
from harness.protocol.scim.dialects.model import ProvisionedState, ScimReply, ScimRequest
from mock_idp.directory import Directory, User
from mock_idp.provisioning import ProvisioningTarget, client_headers, http_request, scim_reply
from mock_idp.provisioning_scope import desired_state

# How many hires a provisioner keeps before the oldest leaves: each hire, then a leaver.
STAFF = 1


def step_of(task: Task, request: ScimRequest) -> str:
    """The step a dialect's request belongs to, whatever the vendor's way of doing it."""
    if request.method == "GET":
        return "scim: lookup"
    if request.method == "POST":
        return "scim: create"
    if request.method == "DELETE":
        return "scim: delete"
    if task.change == "block":
        return "scim: deactivate"
    return f"scim: {request.method.lower()} ({task.change})"


class Provisioner:
    def __init__(self, config: LoadConfig, report: Report, rng: random.Random, name: str) -> None:
        if config.scim_url is None:
            raise ValueError("the SP has no SCIM endpoint to provision")
        self.config = config
        self.rng = rng
        self.name = name
        self.target = ProvisioningTarget(
            scim_url=config.scim_url, token=config.scim_token, dialect=config.dialect
        )
        self.dialect: Dialect = dialect_named(config.dialect)
        self.directory = Directory()
        self.state = ProvisionedState()
        self.hired = 0
        self.transport = StepTransport(report)
        self.client = httpx.Client(
            transport=self.transport,
            timeout=self.target.timeout,
            headers=client_headers(self.target, self.dialect),
        )

    def close(self) -> None:
        self.client.close()

    def hire(self) -> None:
        """A new employee assigned to the app: the dialect's create (with its lookup)."""
        self.hired += 1
        user_name = f"{self.config.churn_prefix}-{self.name}-{self.hired}@example.com"
        self.directory.add_user(
            User(
                user_name=user_name,
                email=user_name,
                given_name="Load",
                family_name=f"Hire {self.hired}",
                external_id=f"{self.config.churn_prefix}-{self.name}-{self.hired}",
            )
        )
        self._cycle()

    def leave(self) -> None:
        """The oldest hire leaves: blocked in the directory, the dialect's deactivation; then
        forgotten, so that no later cycle sends anything for them."""
        users = self.directory.users()
        if len(users) < STAFF:
            self.hire()
            return
        leaving = users[0]
        leaving.active = False
        self._cycle()
        self.directory.remove_user(leaving.user_name)
        self.state.users.pop(leaving.id, None)

    def _cycle(self) -> None:
        now = dt.datetime.now(dt.UTC)
        ctx = CycleContext(desired_state(self.directory), self.state, now, self.rng)
        for task in self.dialect.plan(ctx):
            steps = self.dialect.run(ctx, task)
            try:
                request = next(steps)
                while True:
                    request = steps.send(self._send(task, request))
            except StopIteration:
                continue
            except (ScimCallError, ValueError):  # an answer it cannot go on from: that step
                continue  # already failed, with the status

    def _send(self, task: Task, request: ScimRequest) -> ScimReply:
        url, headers, content = http_request(self.target, self.dialect, request)
        attempt = 0
        while True:
            with self.transport.step(step_of(task, request)):
                try:
                    response = self.client.request(
                        request.method,
                        url,
                        params=list(request.query),
                        content=content,
                        headers=headers,
                    )
                except httpx.HTTPError as exc:
                    return ScimReply(0, transport_error=f"{type(exc).__name__}: {exc}")
            reply = scim_reply(response)
            wait = self.dialect.retry.delay(reply, attempt)
            if wait is None:
                return reply
            time.sleep(wait)  # the vendor's back-off (gevent's sleep under Locust)
            attempt += 1
