"""``sso-harness serve``: the reference SP and the mock IdP, wired to trust each other, the IdP
provisioning a seeded demo directory to the SP's SCIM endpoint (shared/CONTRACT.md, "Commands").

Both listen in one process and one event loop, uvloop where installed (as ``sp`` and ``idp``).
Their sockets are bound first (so ``--sp-port 0`` works and a busy port is a one-line error,
exit 2); then the two are built on those URLs and wired (SP metadata into the IdP, IdP metadata
into the SP's default organisation, the SCIM base URL and token into the IdP's provisioning);
the initial cycle runs over real HTTP; the URLs, the token and a few demo logins are printed;
both serve until interrupted (Ctrl+C, SIGTERM).
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from harness.component_cli import ConfigError, base_url, bound_port, refuse
from harness.exit_codes import ExitCode
from harness.home import data_dir
from harness.protocol.scim.dialects import DIALECTS
from harness.sockets import ListenError, listening_socket

if TYPE_CHECKING:
    from mock_idp.idp import MockIdP
    from mock_idp.provisioning_results import CycleReport
    from reference_sp.app import ReferenceSP

PRESET_OF_DIALECT = {
    "rfc": "generic",
    "entra": "entra",
    "entra-compat": "entra",
    "okta": "okta",
    "ping": "ping",
}
DEMO_LOGINS_SHOWN = 4
# A demo shows the seeded directory and nothing else: the SP's own database under the data
# directory keeps the users of earlier runs of `sp`, so `serve` keeps a file of its own there
# (CONTRACT: an SQLite file under the data directory) and starts it afresh each time.
DEMO_DB_FILE = "serve-demo.sqlite3"


def fresh_demo_db() -> str:
    path = data_dir() / DEMO_DB_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    for leftover in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        leftover.unlink(missing_ok=True)
    return f"sqlite:///{path}"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    parser.add_argument("--sp-port", type=int, default=8001, help="reference SP port (8001)")
    parser.add_argument("--idp-port", type=int, default=8002, help="mock IdP port (8002)")
    parser.add_argument(
        "--db",
        default=None,
        help="the SP's database URL (default: serve-demo.sqlite3 under the data directory, "
        "emptied at every start, so a demo shows the seeded directory alone); another SQLite "
        "file such as 'sqlite:///demo.sqlite3' or 'postgresql://...' is kept between runs",
    )
    parser.add_argument(
        "--scim-token", default=None, help="the SP's SCIM bearer token (generated if omitted)"
    )
    parser.add_argument(
        "--dialect",
        choices=list(DIALECTS),
        default="rfc",
        help="how the mock IdP provisions (default rfc); also picks the IdP's SAML preset",
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="seed of the demo directory (same seed, same people)"
    )
    parser.add_argument(
        "--demo-users", type=int, default=8, metavar="N", help="demo people to seed (default 8)"
    )
    parser.add_argument(
        "--cycle-interval",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="run an incremental cycle every SECONDS, like an IdP's schedule (Entra: 2400); "
        "default 0: only on POST /api/provision",
    )


@dataclass
class Served:
    """The wired pair, before serving (``build``), for tests and for ``run``."""

    sp: ReferenceSP
    idp: MockIdP
    token: str
    sp_socket: socket.socket
    idp_socket: socket.socket

    @property
    def sp_url(self) -> str:
        return self.sp.base_url

    @property
    def idp_url(self) -> str:
        return self.idp.base_url

    @property
    def scim_url(self) -> str:
        return f"{self.sp.base_url}/scim/v2"

    def close(self) -> None:
        self.sp_socket.close()
        self.idp_socket.close()
        self.sp.close()


def _bind(host: str, port: int, what: str) -> socket.socket:
    try:
        sock = listening_socket(host, port, what)
    except ListenError as exc:
        raise ConfigError(str(exc)) from None
    sock.setblocking(False)
    return sock


def build(args: argparse.Namespace) -> Served:
    """Bind both sockets, build the SP and the IdP on their URLs and wire them together."""
    from sqlalchemy.exc import SQLAlchemyError

    from mock_idp.demo import seed_demo_directory
    from mock_idp.idp import MockIdP
    from mock_idp.keystore import load_or_create
    from mock_idp.provisioning import ProvisioningTarget
    from reference_sp.app import DEFAULT_ORGANISATION, ReferenceSP, Settings
    from reference_sp.organisation_store import new_token

    if args.demo_users < 1:
        raise ConfigError("--demo-users must be at least 1")
    if args.cycle_interval < 0:
        raise ConfigError("--cycle-interval cannot be negative")
    sp_socket = _bind(args.host, args.sp_port, "reference SP")
    try:
        idp_socket = _bind(args.host, args.idp_port, "mock IdP")
    except ConfigError:
        sp_socket.close()
        raise
    try:
        db_url = args.db or fresh_demo_db()
        sp_url = base_url(args.host, bound_port(sp_socket))
        sp = ReferenceSP(Settings(db_url=db_url, base_url=sp_url))
    except (SQLAlchemyError, ValueError, ImportError, OSError) as exc:
        sp_socket.close()
        idp_socket.close()
        from reference_sp.db import describe, mask_url

        where = mask_url(args.db) if args.db else "(the demo database)"
        raise ConfigError(f"cannot open the database {where}: {describe(exc, args.db)}") from exc
    idp = MockIdP(
        base_url(args.host, bound_port(idp_socket)),
        signing_keys=[load_or_create(data_dir() / "mock-idp", "signing")],
        preset=PRESET_OF_DIALECT[args.dialect],
        seed=args.seed,
        allow_passwordless_idp_init=True,  # a local demo: idp-init?user= links sign in at once
    )
    idp.register_sp(sp.saml.sp_metadata())
    token = args.scim_token or new_token()
    sp.add_organisation(DEFAULT_ORGANISATION, token, idp_metadata=idp.metadata_xml())
    seed_demo_directory(idp.directory, args.demo_users, args.seed)
    idp.provision_to(
        ProvisioningTarget(scim_url=f"{sp.base_url}/scim/v2", token=token, dialect=args.dialect)
    )
    return Served(sp, idp, token, sp_socket, idp_socket)


def banner(served: Served, report: CycleReport) -> str:
    from mock_idp.demo import ADMIN_GROUP, DEMO_PASSWORD

    summary = report.summary()
    lines = [
        f"reference SP   {served.sp_url}/   (sign in: {served.sp_url}/saml/login, "
        f"admin page: {served.sp_url}/admin)",
        f"mock IdP       {served.idp_url}/   (control API: {served.idp_url}/api/)",
        f"SCIM endpoint  {served.scim_url}   Authorization: Bearer {served.token}",
        f"provisioning   {report.dialect}, {report.kind} cycle: {summary['provisioned']} "
        f"provisioned, {summary['failed']} failed, {summary['skipped']} skipped "
        f"({report.requests} requests)",
    ]
    if report.aborted:
        lines.append(f"               aborted: {report.aborted}")
    for failed in report.failed()[:5]:
        lines.append(f"               failed: {failed.name}: {(failed.error or {}).get('message')}")
    lines.append(f'demo logins    (password "{DEMO_PASSWORD}")')
    users = served.idp.directory.users()
    admins = [u for u in users if ADMIN_GROUP in u.groups]
    others = [u for u in users if ADMIN_GROUP not in u.groups]
    for user in (admins + others)[:DEMO_LOGINS_SHOWN]:
        role = "admin" if user in admins else "user"
        about = f"{user.display_name} ({user.title}, {user.department})"
        lines.append(f"  {user.user_name:<40} {role:<5}  {about}")
    lines.append("run a cycle    curl -X POST " + served.idp_url + "/api/provision")
    lines.append("Press Ctrl+C to stop.")
    return "\n".join(lines)


async def _cycle_every(served: Served, interval: float) -> None:
    """Incremental cycles on a schedule; each one that sent something prints a line."""
    while True:
        await asyncio.sleep(interval)
        report = await served.idp.provision("incremental")
        if report.requests or report.aborted:
            summary = report.summary()
            print(
                f"cycle {report.cycle}: {summary['provisioned']} provisioned, "
                f"{summary['failed']} failed ({report.requests} requests)"
                + (f"; aborted: {report.aborted}" if report.aborted else ""),
                flush=True,
            )


async def serve(served: Served, *, log_level: str = "warning", cycle_interval: float = 0.0) -> int:
    import uvicorn

    from mock_idp.app import create_app

    servers = [
        uvicorn.Server(uvicorn.Config(app, log_level=log_level, lifespan="off"))
        for app in (served.sp.app, create_app(served.idp))
    ]
    tasks = [
        asyncio.create_task(server.serve(sockets=[sock]))
        for server, sock in zip(servers, (served.sp_socket, served.idp_socket), strict=True)
    ]
    while not all(s.started for s in servers):
        if any(t.done() for t in tasks):
            print("sso-harness serve: a server did not start", file=sys.stderr)
            for server in servers:
                server.should_exit = True
            await asyncio.gather(*tasks, return_exceptions=True)
            return ExitCode.USAGE
        await asyncio.sleep(0.02)
    report = await served.idp.provision("initial")
    print(banner(served, report), flush=True)
    schedule = asyncio.create_task(_cycle_every(served, cycle_interval)) if cycle_interval else None
    try:
        await asyncio.gather(*tasks)
    finally:
        if schedule is not None:
            schedule.cancel()
            await asyncio.gather(schedule, return_exceptions=True)
    return ExitCode.OK


def _loop_factory(served: Served) -> Callable[[], asyncio.AbstractEventLoop] | None:
    """The event loop ``sp`` and ``idp`` run on (uvicorn's "auto": uvloop where installed)."""
    import uvicorn

    return uvicorn.Config(served.sp.app, loop="auto").get_loop_factory()


def run(args: argparse.Namespace) -> int:
    try:
        served = build(args)
    except ConfigError as exc:
        return refuse("serve", exc)
    try:
        with asyncio.Runner(loop_factory=_loop_factory(served)) as runner:
            return runner.run(serve(served, cycle_interval=args.cycle_interval))
    except KeyboardInterrupt:
        return ExitCode.OK
    finally:
        served.close()
