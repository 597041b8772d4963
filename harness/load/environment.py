"""What a load run runs against, set up before Locust starts and measured after it stops:

- the reference SP and the mock IdP, each in a process of its own (``sso-harness sp`` and
  ``sso-harness idp``), so that each one's CPU is its own;
- a running pair (``sso-harness serve``, given by ``--sp`` and ``--idp``);
- a target file's SP, with the mock IdP in a process of its own on the file's ``idp.port``.

Either way the employees are created in the IdP's directory and provisioned over SCIM by the
IdP itself (its control API) before the run, and the IdP's ``/api/stats`` tells its CPU and the
responses it issued, so the CPU per issued response is measured wherever the IdP runs.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from harness.component_cli import ConfigError, base_url
from harness.targets import RemoteTarget

START_TIMEOUT = 60.0
PRESET_OF_DIALECT = {"rfc": "generic", "entra": "entra", "entra-compat": "entra"}


@dataclass
class Environment:
    sp_url: str
    idp_url: str
    scim_url: str | None
    scim_token: str | None
    idp_api_token: str | None = None
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    logs: Path | None = None

    @property
    def sp_entity_id(self) -> str:
        return f"{self.sp_url}/saml/metadata"

    def idp_api(self) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.idp_api_token}"} if self.idp_api_token else {}
        return httpx.Client(base_url=f"{self.idp_url}/api", headers=headers, timeout=60.0)

    def close(self) -> None:
        for process in self.processes.values():
            process.terminate()
        for process in self.processes.values():
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@dataclass(frozen=True)
class Listen:
    """Where the started servers listen, and the name the workers and browsers reach them by."""

    address: str = "127.0.0.1"
    public_host: str | None = None
    sp_port: int = 0
    idp_port: int = 0

    def url(self, port: int) -> str:
        return base_url(self.public_host or self.address, port)


def free_port(address: str) -> int:
    with socket.socket(socket.AF_INET6 if ":" in address else socket.AF_INET) as probe:
        probe.bind((address, 0))
        port: int = probe.getsockname()[1]
        return port


def _start(environment: Environment, name: str, arguments: list[str]) -> None:
    if environment.logs is None:
        environment.logs = Path(tempfile.mkdtemp(prefix="sso-harness-load-"))
    log = (environment.logs / f"{name}.log").open("wb")
    environment.processes[name] = subprocess.Popen(  # noqa: S603 - our own interpreter
        [sys.executable, "-m", "harness", *arguments],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    log.close()


def _wait_until_up(environment: Environment, name: str, url: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    process = environment.processes[name]
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            if httpx.get(url, timeout=2.0).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    log = environment.logs / f"{name}.log" if environment.logs else None
    said = log.read_text(errors="replace").strip().splitlines()[-3:] if log else []
    raise ConfigError(f"the {name} did not start at {url}: {' / '.join(said) or 'no output'}")


def _start_idp(
    environment: Environment, listen: Listen, port: int, flaws: list[str], preset: str
) -> None:
    environment.idp_api_token = secrets.token_urlsafe(24)
    arguments = ["idp", "--host", listen.address, "--port", str(port)]
    arguments += ["--base-url", environment.idp_url, "--demo-users", "0", "--preset", preset]
    arguments += [f"--api-token={environment.idp_api_token}"]  # a token may start with "-"
    scim_host = urlsplit(environment.scim_url or "").hostname
    if scim_host:
        arguments += ["--allow-provision-to", scim_host]
    for flaw in flaws:
        arguments += ["--flaw", flaw]
    _start(environment, "mock IdP", arguments)
    _wait_until_up(environment, "mock IdP", f"{environment.idp_url}/saml/metadata")


def start_reference(
    listen: Listen, dialect: str, sp_flaws: list[str], idp_flaws: list[str]
) -> Environment:
    """The reference SP and the mock IdP, each in its own process, trusting each other."""
    sp_port = listen.sp_port or free_port(listen.address)
    idp_port = listen.idp_port or free_port(listen.address)
    sp_url, idp_url = listen.url(sp_port), listen.url(idp_port)
    token = secrets.token_urlsafe(24)
    environment = Environment(sp_url, idp_url, f"{sp_url}/scim/v2", token)
    try:
        _start_idp(
            environment, listen, idp_port, idp_flaws, PRESET_OF_DIALECT.get(dialect, dialect)
        )
        db = f"sqlite:///{environment.logs}/reference-sp.sqlite3"
        arguments = ["sp", "--host", listen.address, "--port", str(sp_port), "--base-url", sp_url]
        arguments += ["--db", db, f"--scim-token={token}", "--seats", "1000000"]
        arguments += ["--idp-metadata", f"{idp_url}/saml/metadata"]
        for flaw in sp_flaws:
            arguments += ["--flaw", flaw]
        _start(environment, "reference SP", arguments)
        _wait_until_up(environment, "reference SP", f"{sp_url}/healthz")
        _trust_sp(environment, httpx.get(f"{sp_url}/saml/metadata", timeout=10).content)
    except BaseException:
        environment.close()
        raise
    return environment


def for_target(target: RemoteTarget, listen: Listen, idp_flaws: list[str]) -> Environment:
    """A target file's SP, with the mock IdP started on the port the SP trusts."""
    environment = Environment(
        target.sp_base, listen.url(target.idp_port), target.scim_url, target.scim_token
    )
    try:
        _start_idp(environment, listen, target.idp_port, idp_flaws, "generic")
        _trust_sp(environment, target.sp_metadata())
    except BaseException:
        environment.close()
        raise
    return environment


def _trust_sp(environment: Environment, metadata: bytes) -> None:
    with environment.idp_api() as api:
        answer = api.post("/sps", content=metadata, headers={"Content-Type": "application/xml"})
    if answer.status_code != 201:
        raise ConfigError(f"the mock IdP refused the SP's metadata: {answer.text[:300]}")


def provision_employees(
    environment: Environment, user_names: list[str], password: str, dialect: str
) -> None:
    """Create the employees in the IdP's directory and let the IdP provision them (where the
    SP has SCIM; an SP without it signs in whom the IdP vouches for, or refuses)."""
    with environment.idp_api() as api:
        for user_name in user_names:
            created = api.post(
                "/users",
                json={"userName": user_name, "password": password, "email": user_name},
            )
            if created.status_code not in (200, 201):
                raise ConfigError(f"the mock IdP refused {user_name}: {created.text[:300]}")
        if environment.scim_url is None:
            return
        target = {"scim_url": environment.scim_url, "token": environment.scim_token}
        answer = api.post("/provision", json={"target": {**target, "dialect": dialect}})
    report: dict[str, Any] = answer.json() if answer.status_code == 200 else {}
    failed = [r for r in report.get("results", []) if r.get("outcome") == "failed"]
    if answer.status_code != 200 or report.get("aborted") or failed:
        why = report.get("aborted") or (failed[0] if failed else answer.text[:300])
        raise ConfigError(f"provisioning the employees failed: {why}")


@dataclass(frozen=True)
class Usage:
    """The CPU seconds of the IdP (and of the SP, when started here) and the responses the IdP
    issued, at one moment."""

    at: float
    idp_cpu: float
    idp_responses: int
    sp_cpu: float | None


def process_cpu(pid: int) -> float | None:
    """User plus system CPU seconds of a local process, from /proc (None where there is none)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def usage(environment: Environment) -> Usage:
    with environment.idp_api() as api:
        stats = api.get("/stats").json()
    sp = environment.processes.get("reference SP")
    return Usage(
        at=time.monotonic(),
        idp_cpu=float(stats["cpu_seconds"]),
        idp_responses=int(stats["messages"]["out"].get("Response", 0)),
        sp_cpu=process_cpu(sp.pid) if sp is not None else None,
    )
