"""The provisioning engine: drives a dialect's requests over HTTP (httpx) to a SCIM endpoint.

The dialect (``harness.protocol.scim.dialects``) decides every request; this module sends them,
retries where the dialect's vendor would (sleeping through the injected ``sleep``), journals
each request and reply with the dialect and the directory change that caused it, and reports
per user. Only writes the SP acknowledged change the IdP's memory of the SP, so a change that
failed (4xx, 5xx, 429, garbage, timeout) stays pending and the next cycle sends it again.
"""

from __future__ import annotations

import asyncio
import base64
import json
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx

from harness.protocol.scim.dialects import DIALECTS, Dialect, Task, dialect_named
from harness.protocol.scim.dialects.exchange import CycleContext, Exchange, T
from harness.protocol.scim.dialects.failures import ScimCallError
from harness.protocol.scim.dialects.model import ProvisionedState, ScimReply, ScimRequest
from harness.tls import default_ssl_context

from .clock import Clock
from .directory import Directory
from .journal import Journal
from .provisioning_results import ConnectionResult, CycleReport, SubjectResult
from .provisioning_scope import desired_state
from .refusals import ProvisioningError

Sleep = Callable[[float], Awaitable[None]]
SCIM_JSON = "application/scim+json"

MAX_REPORTS = 100


class CycleAbortedError(Exception):
    """The SP cannot be provisioned at all this cycle (wrong token, wrong URL, unreachable)."""


@dataclass(frozen=True)
class ProvisioningTarget:
    """Where and how to provision: the SCIM base URL, bearer token or basic credentials, the
    dialect, and Ping's Remove User Action (disable or delete)."""

    scim_url: str
    token: str | None = None
    basic_user: str | None = None
    basic_password: str | None = None
    dialect: str = "rfc"
    ping_remove_user_action: str = "disable"
    timeout: float = 10.0

    def __post_init__(self) -> None:
        if not self.scim_url.startswith(("http://", "https://")):
            raise ProvisioningError(
                f"the SCIM base URL must be http(s)://..., not {self.scim_url!r}"
            )
        try:
            url = httpx.URL(self.scim_url)
        except httpx.InvalidURL as exc:
            raise ProvisioningError(f"the SCIM base URL {self.scim_url!r}: {exc}") from exc
        port_ok = url.port is None or 0 < url.port < 65536
        if not url.host or not port_ok or any(c.isspace() for c in self.scim_url):
            raise ProvisioningError(f"the SCIM base URL {self.scim_url!r} is not a valid URL")
        if self.dialect not in DIALECTS:
            raise ProvisioningError(
                f"unknown dialect {self.dialect!r}; choose from {', '.join(DIALECTS)}"
            )
        if self.ping_remove_user_action not in ("disable", "delete"):
            raise ProvisioningError("ping_remove_user_action is disable or delete")

    def authorization(self) -> str | None:
        if self.token:
            return f"Bearer {self.token}"
        if self.basic_user is not None:
            raw = f"{self.basic_user}:{self.basic_password or ''}".encode()
            return "Basic " + base64.b64encode(raw).decode()
        return None

    def to_json(self) -> dict[str, Any]:
        auth = "bearer" if self.token else "basic" if self.basic_user is not None else "none"
        return {
            "scim_url": self.scim_url,
            "auth": auth,
            "dialect": self.dialect,
            "ping_remove_user_action": self.ping_remove_user_action,
            "timeout": self.timeout,
        }


class Provisioner:
    """Provisions one directory to one SCIM target, cycle after cycle."""

    def __init__(
        self,
        directory: Directory,
        journal: Journal,
        clock: Clock,
        *,
        seed: int | None = None,
        sleep: Sleep = asyncio.sleep,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.directory = directory
        self.journal = journal
        self.clock = clock
        self.rng = random.Random(seed)
        self.sleep = sleep
        self.transport = transport  # e.g. httpx.ASGITransport(app=...) for in-process SPs
        self.target: ProvisioningTarget | None = None
        self.state = ProvisionedState()
        self.reports: list[CycleReport] = []  # the newest MAX_REPORTS
        self._cycles = 0
        self._lock = asyncio.Lock()

    # ------------------------------------------------------------------------------ settings

    def configure(self, target: ProvisioningTarget) -> None:
        """Point at a target; a different SCIM URL starts from an empty memory (a new app)."""
        if self.target is None or self.target.scim_url != target.scim_url:
            self.state = ProvisionedState()
        self.target = target

    def dialect(self) -> Dialect:
        target = self._target()
        return dialect_named(target.dialect, ping_remove_user_action=target.ping_remove_user_action)

    def reset(self) -> None:
        self.target = None
        self.state = ProvisionedState()
        self.reports.clear()
        self._cycles = 0

    def _target(self) -> ProvisioningTarget:
        if self.target is None:
            raise ProvisioningError("no provisioning target: configure the SCIM base URL first")
        return self.target

    # ------------------------------------------------------------------------------ running

    async def test_connection(self) -> ConnectionResult:
        """The dialect's own connection test (Entra's random-GUID lookup, Okta's two lists)."""
        target, dialect = self._target(), self.dialect()
        ctx = CycleContext(desired_state(self.directory), self.state, self.clock.now(), self.rng)
        async with self._client(target, dialect) as client:
            try:
                await self._drive(client, dialect, dialect.connection_test(ctx), None, None)
            except CycleAbortedError as exc:
                return ConnectionResult(False, str(exc), dialect.name, target.scim_url)
            except (ScimCallError, ValueError) as exc:
                return ConnectionResult(False, str(exc), dialect.name, target.scim_url)
        return ConnectionResult(
            True, "the SCIM endpoint answered as expected", dialect.name, target.scim_url
        )

    async def run_cycle(self, kind: str | None = None) -> CycleReport:
        """One cycle: ``initial`` (full sync, every assigned object looked up) or
        ``incremental`` (only what changed since the last cycle); by default the first cycle is
        initial and the next ones incremental."""
        async with self._lock:
            return await self._run_cycle(kind)

    def run_cycle_blocking(self, kind: str | None = None) -> CycleReport:
        """``run_cycle`` for code without an event loop (scripts, the REPL)."""
        return asyncio.run(self.run_cycle(kind))

    async def _run_cycle(self, kind: str | None) -> CycleReport:
        target, dialect = self._target(), self.dialect()
        if kind is None:
            kind = "incremental" if self._cycles else "initial"
        if kind not in ("initial", "incremental"):
            raise ProvisioningError(f"a cycle is initial or incremental, not {kind!r}")
        desired = desired_state(self.directory)
        self._cycles += 1
        report = CycleReport(
            cycle=self._cycles,
            dialect=dialect.name,
            kind=kind,
            target=target.scim_url,
            started=self.clock.now(),
        )
        last = self.journal.last()
        report.first_journal_seq = last.seq if last else 0
        self.reports.append(report)
        del self.reports[:-MAX_REPORTS]  # each holds every request of its cycle
        ctx = CycleContext(desired, self.state, self.clock.now(), self.rng, full=kind == "initial")
        outcomes: dict[tuple[str, str], SubjectResult] = {}
        async with self._client(target, dialect) as client:
            try:
                for task in dialect.plan(ctx):
                    outcomes[(task.phase.removeprefix("retire-"), task.key)] = await self._run_task(
                        client, dialect, ctx, task, report
                    )
            except CycleAbortedError as exc:
                report.aborted = str(exc)
        report.results = self._results(ctx, outcomes, report)
        report.finished = self.clock.now()
        return report

    async def _run_task(
        self,
        client: httpx.AsyncClient,
        dialect: Dialect,
        ctx: CycleContext,
        task: Task,
        report: CycleReport,
    ) -> SubjectResult:
        kind = "group" if task.phase.endswith("group") else "user"
        try:
            action = await self._drive(client, dialect, dialect.run(ctx, task), task, report)
        except ScimCallError as exc:
            return SubjectResult(kind, task.subject, "failed", "", task.change, exc.to_json())
        except ValueError as exc:  # the SP broke the protocol (e.g. a created resource without id)
            error = {"status": None, "scimType": None, "detail": None, "message": str(exc)}
            return SubjectResult(kind, task.subject, "failed", "", task.change, error)
        return SubjectResult(kind, task.subject, "provisioned", action, task.change)

    def _results(
        self,
        ctx: CycleContext,
        outcomes: dict[tuple[str, str], SubjectResult],
        report: CycleReport,
    ) -> list[SubjectResult]:
        results: list[SubjectResult] = []
        pending = "not sent: " + report.aborted if report.aborted else ""
        for user in sorted(self.directory.users(), key=lambda u: u.user_name.lower()):
            found = outcomes.get(("user", user.id))
            if found is not None:
                results.append(found)
            elif pending and user.assigned:
                results.append(SubjectResult("user", user.user_name, "failed", "", pending))
            elif not user.assigned and user.id not in self.state.users:
                results.append(SubjectResult("user", user.user_name, "skipped", "", "not assigned"))
            elif user.id in self.state.users:
                results.append(SubjectResult("user", user.user_name, "provisioned", "unchanged"))
            else:  # assigned but left out by the dialect (Ping deletes blocked users)
                results.append(SubjectResult("user", user.user_name, "skipped", "", "not in scope"))
        for (kind, key), result in outcomes.items():
            if kind == "user" and key not in ctx.desired.directory_users:
                results.append(result)  # deleted from the directory: still reported
        for group in sorted(self.directory.groups(), key=lambda g: g.display_name.lower()):
            found = outcomes.get(("group", group.id))
            if found is not None:
                results.append(found)
            elif group.id in self.state.groups:
                results.append(
                    SubjectResult("group", group.display_name, "provisioned", "unchanged")
                )
            elif not group.assigned:
                results.append(
                    SubjectResult("group", group.display_name, "skipped", "", "not assigned")
                )
            elif pending:
                results.append(SubjectResult("group", group.display_name, "failed", "", pending))
        known_groups = {g.id for g in self.directory.groups()}
        for (kind, key), result in outcomes.items():
            if kind == "group" and key not in known_groups:
                results.append(result)  # deleted from the directory: still reported
        return results

    # ------------------------------------------------------------------------------ HTTP

    def _client(self, target: ProvisioningTarget, dialect: Dialect) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            transport=self.transport,
            # Over the network: the CA bundle loaded once, not for every cycle's client.
            verify=True if self.transport is not None else default_ssl_context(),
            timeout=target.timeout,
            headers=client_headers(target, dialect),
            follow_redirects=False,
        )

    async def _drive(
        self,
        client: httpx.AsyncClient,
        dialect: Dialect,
        steps: Exchange[T],
        task: Task | None,
        report: CycleReport | None,
    ) -> T:
        try:
            request = next(steps)
            while True:
                reply = await self._send_with_retries(client, dialect, request, task, report)
                request = steps.send(reply)
        except StopIteration as done:
            result: T = done.value
            return result

    async def _send_with_retries(
        self,
        client: httpx.AsyncClient,
        dialect: Dialect,
        request: ScimRequest,
        task: Task | None,
        report: CycleReport | None,
    ) -> ScimReply:
        attempt = 0
        while True:
            reply = await self._send(client, dialect, request)
            if report is not None:
                report.requests += 1
            wait = dialect.retry.delay(reply, attempt)
            self._journal(dialect, request, reply, task, report, attempt, wait)
            _abort_if_unusable(self._target(), request, reply)
            if wait is None:
                return reply
            await self.sleep(wait)
            attempt += 1

    async def _send(
        self, client: httpx.AsyncClient, dialect: Dialect, request: ScimRequest
    ) -> ScimReply:
        target = self._target()
        url, headers, content = http_request(target, dialect, request)
        try:
            response = await client.request(
                request.method, url, params=list(request.query), content=content, headers=headers
            )
        except httpx.TimeoutException:
            return ScimReply(0, transport_error=f"timeout after {target.timeout:g} s")
        except httpx.ConnectError as exc:
            return ScimReply(0, transport_error=f"cannot connect: {exc or type(exc).__name__}")
        except (httpx.HTTPError, httpx.InvalidURL, OSError, OverflowError) as exc:
            return ScimReply(0, transport_error=f"{type(exc).__name__}: {exc}")
        return scim_reply(response)

    def _journal(
        self,
        dialect: Dialect,
        request: ScimRequest,
        reply: ScimReply,
        task: Task | None,
        report: CycleReport | None,
        attempt: int,
        wait: float | None,
    ) -> None:
        details: dict[str, object] = {
            "dialect": dialect.name,
            "cycle": report.cycle if report else None,
            "change": task.change if task else "connection-test",
            "task": task.phase if task else "connection-test",
            "subject": task.subject if task else None,
            "request": request.to_json(),
            "status": reply.status,
            "response": reply.body,
            "garbage": reply.garbage,
            "transport_error": reply.transport_error,
            "attempt": attempt,
            "retry_in_s": wait,
        }
        self.journal.record(
            time=self.clock.now(),
            direction="out",
            kind="SCIM",
            binding=None,
            sp=self._target().scim_url,
            xml=None,
            user=task.subject if task and not task.phase.endswith("group") else None,
            details=details,
        )


def client_headers(target: ProvisioningTarget, dialect: Dialect) -> dict[str, str]:
    """What the dialect's vendor sends on every request: its User-Agent, Accept, credentials."""
    headers = {"User-Agent": dialect.user_agent, "Accept": SCIM_JSON + ", application/json"}
    authorization = target.authorization()
    if authorization:
        headers["Authorization"] = authorization
    return headers


def http_request(
    target: ProvisioningTarget, dialect: Dialect, request: ScimRequest
) -> tuple[str, dict[str, str], bytes | None]:
    """The URL, the headers and the body of a dialect's request (its query goes as params)."""
    url = target.scim_url.rstrip("/") + request.path
    headers = {}
    content = None
    if request.body is not None:
        content = json.dumps(request.body).encode()
        headers["Content-Type"] = "application/json" if dialect.name == "okta" else SCIM_JSON
    return url, headers, content


def scim_reply(response: httpx.Response) -> ScimReply:
    """What the dialect is told of an answer: its status, its JSON (or that it was garbage)."""
    body: Any = None
    garbage = False
    if response.content:
        try:
            body = json.loads(response.content)
        except ValueError:
            garbage = True
    return ScimReply(response.status_code, body, dict(response.headers), garbage=garbage)


def _abort_if_unusable(target: ProvisioningTarget, request: ScimRequest, reply: ScimReply) -> None:
    """A wrong token or URL stops the cycle with a message saying which, not a pile of failures."""
    where = f"{request.method} {target.scim_url.rstrip('/')}{request.path}"
    if reply.status in (401, 403):
        raise CycleAbortedError(
            f"the SP refused the credentials ({reply.status} on {where}): check the SCIM token"
        )
    if reply.status == 0 and not (reply.transport_error or "").startswith("timeout"):
        raise CycleAbortedError(
            f"cannot reach the SCIM endpoint ({where}): {reply.transport_error}"
        )
    is_collection = request.path in ("/Users", "/Groups", "/ServiceProviderConfig")
    scim_error = isinstance(reply.body, dict) and any(
        str(s).endswith(":Error") for s in reply.body.get("schemas", [])
    )  # Okta lets an SP answer a lookup that found nobody with a SCIM 404
    if is_collection and request.method == "GET" and reply.status in (404, 405) and not scim_error:
        raise CycleAbortedError(
            f"no SCIM endpoint at {target.scim_url} ({reply.status} on {where}): "
            "check the SCIM base URL"
        )
