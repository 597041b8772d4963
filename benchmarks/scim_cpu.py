"""SCIM server CPU per request: the reference SP next to python-scim's scim2-server and a trivial
endpoint, each in its own uvicorn process, measured in the same run in alternating rounds.

The servers, each started as a process of its own on loopback:

- ``sp-sqlite``: ``sso-harness sp`` on an SQLite file, the business rules on (every SCIM write
  goes through the license, session and activation rules);
- ``sp-postgresql`` (with ``--db postgresql://...``): the same on PostgreSQL, in a schema of its
  own (``scim_cpu_bench``, dropped and created again at the start);
- ``scim2-server``: scim2-server's ASGI application (its in-memory storage, the default schemas
  and configuration, a static bearer token) on the same uvicorn setup as ``sso-harness sp``;
- ``floor``: a minimal Starlette app answering every request with a small JSON document after
  reading its body, on the same uvicorn setup: what the server stack alone costs.
- ``durable floor``: the same app keeping each user as one row of an SQLite file set up as the
  SP sets up its own (WAL, ``synchronous=NORMAL``), on a worker thread as the SP's database
  work runs: a create inserts the row (its id and a unique userName index) and commits, a
  filter reads it by userName, a PATCH rewrites it and commits. What a durable write on this
  stack costs with no SCIM work at all: the least an SP that keeps its users can cost.

The client sends pre-built request bytes on one kept-alive raw socket and reads each response
before sending the next, so its own cost stays small and off the server's CPU. Each round drives
every server in turn (the order rotates round by round) through the same workload: N creates
(POST /Users), N filters by userName of the users just created, N PATCHes replacing ``active``
with false on them (the deprovisioning rules on the SP). The figure is the server process's CPU
(user + system from ``/proc/PID/stat``, all its threads) per request; for PostgreSQL also the CPU
of the SP's database backends (``pg_stat_activity``).

    python benchmarks/scim_cpu.py [--rounds 3] [--requests 500] [--db postgresql://...]
                                  [--before DIR]

``--before DIR`` adds the SP of an earlier version (``git archive`` of a commit, unpacked in
DIR) on each database, measured in the same rounds: before and after in one run.

This is a measurement, not a test: nothing here passes or fails.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.scim_throughput import user_body  # noqa: E402 - the same user as there

TOKEN = "bench-token"
PATCH_OP_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
PG_SCHEMA = "scim_cpu_bench"  # and the connections' application_name, per server
OPERATIONS = ("create", "filter", "patch")
TICKS = os.sysconf("SC_CLK_TCK")

# The floor and the peer, each served as ``sso-harness sp`` serves the SP (harness.component_cli
# .serve_app: uvicorn with its defaults, uvloop and httptools, no access log).
SERVE_FLOOR = """
import sys
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route
from harness.component_cli import serve_app
from harness.sockets import listening_socket

async def answer(request):
    await request.body()
    return Response(b'{"schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"]}',
                    media_type="application/scim+json")

methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]
app = Starlette(routes=[Route("/{path:path}", answer, methods=methods)])
serve_app(app, listening_socket("127.0.0.1", int(sys.argv[1])))
"""
SERVE_DURABLE_FLOOR = """
import asyncio, json, sqlite3, sys, tempfile, uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route
from harness.component_cli import serve_app
from harness.sockets import listening_socket

path = Path(tempfile.mkdtemp()) / "floor.sqlite3"
db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
for pragma in ("journal_mode=WAL", "synchronous=NORMAL"):
    db.execute(f"PRAGMA {pragma}")
db.execute("CREATE TABLE users (id TEXT PRIMARY KEY, user_name TEXT UNIQUE, body TEXT)")
worker = ThreadPoolExecutor(1)

def create(body):
    user_id = uuid.uuid4().hex
    db.execute("BEGIN IMMEDIATE")
    db.execute("INSERT INTO users VALUES (?, ?, ?)", (user_id, json.loads(body)["userName"], body))
    db.execute("COMMIT")
    return user_id

def find(user_name):
    return db.execute("SELECT body FROM users WHERE user_name = ?", (user_name,)).fetchone()[0]

def rewrite(user_id, body):
    db.execute("BEGIN IMMEDIATE")
    db.execute("UPDATE users SET body = ? WHERE id = ?", (body, user_id))
    db.execute("COMMIT")

async def users(request):
    body = await request.body()
    loop = asyncio.get_running_loop()
    if request.method == "POST":
        user_id = await loop.run_in_executor(worker, create, body)
        return Response(b"{}", 201, {"Location": f"/scim/v2/Users/{user_id}"})
    user_name = request.query_params["filter"].split('"')[1]
    found = await loop.run_in_executor(worker, find, user_name)
    return Response(found, media_type="application/scim+json")

async def user(request):
    body = await request.body()
    await asyncio.get_running_loop().run_in_executor(
        worker, rewrite, request.path_params["id"], body
    )
    return Response(b"{}", media_type="application/scim+json")

app = Starlette(routes=[
    Route("/scim/v2/Users", users, methods=["GET", "POST"]),
    Route("/scim/v2/Users/{id}", user, methods=["PATCH"]),
])
serve_app(app, listening_socket("127.0.0.1", int(sys.argv[1])))
"""
SERVE_SCIM2_SERVER = """
import sys
from scim2_models import ScimProvider, UnauthorizedException
from scim2_server.applications.asgi import ASGIApplication
from scim2_server.memory import AsyncInMemoryStorage
from scim2_server.service import ScimService
from scim2_server.testserver.application import BEARER_TOKEN_SCHEME
from scim2_server.utils import (
    load_default_resource_types, load_default_schemas, load_default_service_provider_config,
)
from harness.component_cli import serve_app
from harness.sockets import listening_socket

class BearerToken(ASGIApplication):  # as scim2_server.testserver.application, on ASGI
    def check_auth(self, request):
        scheme, _, token = (request.header("Authorization") or "").partition(" ")
        if scheme.lower() != "bearer" or token != sys.argv[2]:
            raise UnauthorizedException

config = load_default_service_provider_config()
config.authentication_schemes = [*(config.authentication_schemes or []), BEARER_TOKEN_SCHEME]
provider = ScimProvider.from_discovery(
    load_default_schemas().values(), load_default_resource_types().values(), config=config
)
app = BearerToken(AsyncInMemoryStorage(), provider, service=ScimService(provider))
serve_app(app, listening_socket("127.0.0.1", int(sys.argv[1])))
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """User + system CPU of the process (every thread), from /proc/PID/stat."""
    with open(f"/proc/{pid}/stat", "rb") as f:
        fields = f.read().rsplit(b")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


class RawClient:
    """One kept-alive HTTP/1.1 connection: pre-built request bytes out, status and body in."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.sock = self._connect()
        self.buffer = b""

    def _connect(self) -> socket.socket:
        sock = socket.create_connection(("127.0.0.1", self.port))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock

    def exchange(self, request: bytes) -> tuple[int, bytes, bytes]:
        """(status, head, body) of the response to ``request``."""
        try:
            self.sock.sendall(request)
            return self._response()
        except ConnectionError:  # the server closed an idle connection: once more
            self.sock.close()
            self.sock, self.buffer = self._connect(), b""
            self.sock.sendall(request)
            return self._response()

    def _response(self) -> tuple[int, bytes, bytes]:
        while (end := self.buffer.find(b"\r\n\r\n")) < 0:
            self._receive()
        head, self.buffer = self.buffer[:end], self.buffer[end + 4 :]
        length, chunked = 0, False
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding":
                chunked = b"chunked" in value.lower()
        body = self._chunked() if chunked else self._exactly(length)
        return int(head.split(b" ", 2)[1]), head, body

    def _exactly(self, length: int) -> bytes:
        while len(self.buffer) < length:
            self._receive()
        data, self.buffer = self.buffer[:length], self.buffer[length:]
        return data

    def _chunked(self) -> bytes:
        body = b""
        while True:
            while (end := self.buffer.find(b"\r\n")) < 0:
                self._receive()
            size = int(self.buffer[:end].split(b";")[0], 16)
            self.buffer = self.buffer[end + 2 :]
            chunk = self._exactly(size + 2)  # the chunk and its CRLF
            if size == 0:
                return body
            body += chunk[:-2]

    def _receive(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionResetError("the server closed the connection")
        self.buffer += chunk

    def close(self) -> None:
        self.sock.close()


@dataclass
class Server:
    name: str
    process: subprocess.Popen[bytes]
    port: int
    base: str  # the SCIM root's path
    is_scim: bool = True
    database_pids: Callable[[], list[int]] | None = None
    client: RawClient | None = None

    def request(self, method: str, target: str, body: bytes = b"") -> bytes:
        head = (
            f"{method} {self.base}{target} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n"
            f"Authorization: Bearer {TOKEN}\r\nContent-Type: application/scim+json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        return head.encode() + body

    def cpu(self) -> float:
        return cpu_seconds(self.process.pid)

    def database_cpu(self) -> float | None:
        if self.database_pids is None:
            return None
        total = 0.0
        for pid in self.database_pids():
            with suppress(OSError):
                total += cpu_seconds(pid)
        return total


def wait_listening(process: subprocess.Popen[bytes], port: int, what: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError(f"{what} did not start")


def launch(command: list[str], port: int, what: str, code: Path = ROOT) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(code)}
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, cwd=code, env=env)
    wait_listening(process, port, what)
    return process


def start_sp(
    name: str,
    db_url: str,
    database_pids: Callable[[], list[int]] | None,
    code: Path = ROOT,
) -> Server:
    port = free_port()
    command = [sys.executable, "-m", "harness", "sp", "--port", str(port), "--db", db_url]
    process = launch([*command, "--scim-token", TOKEN], port, name, code)
    return Server(name, process, port, "/scim/v2", database_pids=database_pids)


def start_script(name: str, script: str, base: str, is_scim: bool) -> Server:
    port = free_port()
    process = launch([sys.executable, "-c", script, str(port), TOKEN], port, name)
    return Server(name, process, port, base, is_scim=is_scim)


def postgresql_url(url: str, schema: str) -> str:
    """``url`` on a fresh schema of its own, its connections named for pg_stat_activity."""
    import psycopg

    plain = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        conn.execute(f"CREATE SCHEMA {schema}")
    separator = "&" if "?" in url else "?"
    options = urllib.parse.quote(f"-csearch_path={schema}")
    return f"{url}{separator}options={options}&application_name={schema}"


def backend_pids(url: str, schema: str) -> Callable[[], list[int]]:
    import psycopg

    plain = url.replace("postgresql+psycopg://", "postgresql://")

    def pids() -> list[int]:
        with psycopg.connect(plain, autocommit=True) as conn:
            rows = conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE application_name = %s", (schema,)
            ).fetchall()
        return [int(pid) for (pid,) in rows]

    return pids


# -- the workload ------------------------------------------------------------------------


DEACTIVATE = json.dumps(
    {
        "schemas": [PATCH_OP_SCHEMA],
        "Operations": [{"op": "replace", "path": "active", "value": False}],
    }
).encode()


def filter_target(name: str) -> str:
    return "/Users?" + urllib.parse.urlencode({"filter": f'userName eq "{name}"'})


def resource_id(head: bytes, body: bytes) -> str:
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"location":
            return value.strip().decode().rsplit("/", 1)[1]
    return str(json.loads(body)["id"])


@dataclass
class Phase:
    cpu_ms: float  # server CPU per request
    wall_ms: float  # client-observed time per request
    database_ms: float | None = None  # PostgreSQL backends' CPU per request


@dataclass
class Figures:
    rounds: list[dict[str, Phase]] = field(default_factory=list)


def timed(
    server: Server, requests: list[bytes], expect: tuple[int, ...]
) -> tuple[Phase, list[tuple[bytes, bytes]]]:
    assert server.client is not None
    answers = []
    database_before = server.database_cpu()
    cpu_before, started = server.cpu(), time.perf_counter()
    for request in requests:
        status, head, body = server.client.exchange(request)
        if status not in expect and server.is_scim:
            raise RuntimeError(f"{server.name}: {status} {body[:300]!r}")
        answers.append((head, body))
    wall, cpu = time.perf_counter() - started, server.cpu() - cpu_before
    database_after = server.database_cpu()
    database = None
    if database_before is not None and database_after is not None:
        database = (database_after - database_before) / len(requests) * 1000
    return Phase(cpu / len(requests) * 1000, wall / len(requests) * 1000, database), answers


def drive(server: Server, names: list[str]) -> dict[str, Phase]:
    """Create the users ``names``, find each by userName, deactivate each."""
    if server.client is None:
        server.client = RawClient(server.port)
    creates = [server.request("POST", "/Users", user_body(n)) for n in names]
    filters = [server.request("GET", filter_target(n)) for n in names]
    create, answers = timed(server, creates, (201,))
    ids = [resource_id(h, b) if server.is_scim else "x" for h, b in answers]
    patches = [server.request("PATCH", f"/Users/{i}", DEACTIVATE) for i in ids]
    found, _ = timed(server, filters, (200,))
    patch, _ = timed(server, patches, (200, 204))  # RFC 7644 §3.5.2: either
    return {"create": create, "filter": found, "patch": patch}


# -- the report --------------------------------------------------------------------------


def span(values: list[float], digits: int = 3) -> str:
    low, high = min(values), max(values)
    return (
        f"{low:.{digits}f}"
        if round(low, digits) == round(high, digits)
        else f"{low:.{digits}f}-{high:.{digits}f}"
    )


def report(figures: dict[str, Figures], peer: str, floor: str) -> None:
    names = list(figures)
    print("\nserver CPU per request, ms (each round; the range over rounds)")
    for op in OPERATIONS:
        print(f"\n{op}:")
        for name in names:
            cpu = [r[op].cpu_ms for r in figures[name].rounds]
            wall = [r[op].wall_ms for r in figures[name].rounds]
            line = f"  {name:14} CPU {' / '.join(f'{c:.3f}' for c in cpu)}   wall {span(wall)}"
            database = [r[op].database_ms for r in figures[name].rounds]
            if all(d is not None for d in database):
                line += f"   database CPU {span([d for d in database if d is not None])}"
            print(line)
        for name in names:
            if name in (peer, floor) or name.endswith(floor) or peer not in figures:
                continue
            ratios = [
                mine[op].cpu_ms / theirs[op].cpu_ms
                for mine, theirs in zip(figures[name].rounds, figures[peer].rounds, strict=True)
            ]
            print(f"  {name} / {peer}: {' / '.join(f'{r:.2f}' for r in ratios)}")
    for suffix in ("", " before"):
        pg_name, lite_name = f"sp-postgresql{suffix}", f"sp-sqlite{suffix}"
        if pg_name not in figures or lite_name not in figures:
            continue
        print(f"\n{pg_name} / {lite_name}, SP CPU per request (and with the backends' CPU):")
        for op in OPERATIONS:
            pg, lite = figures[pg_name].rounds, figures[lite_name].rounds
            ratios = [p[op].cpu_ms / s[op].cpu_ms for p, s in zip(pg, lite, strict=True)]
            total = [
                (p[op].cpu_ms + (p[op].database_ms or 0)) / s[op].cpu_ms
                for p, s in zip(pg, lite, strict=True)
            ]
            print(f"  {op:7} {span(ratios, 2)}   with backends {span(total, 2)}")
    for name in names:
        if f"{name} before" not in figures:
            continue
        print(f"\n{name} / {name} before, SP CPU per request:")
        for op in OPERATIONS:
            now, then = figures[name].rounds, figures[f"{name} before"].rounds
            ratios = [a[op].cpu_ms / b[op].cpu_ms for a, b in zip(now, then, strict=True)]
            print(f"  {op:7} {' / '.join(f'{r:.2f}' for r in ratios)}")


@contextmanager
def servers(args: argparse.Namespace, tmp: Path) -> Iterator[list[Server]]:
    started: list[Server] = []
    try:
        codes = [("", ROOT)] + ([(" before", args.before.resolve())] if args.before else [])
        for suffix, code in codes:
            name = f"sp-sqlite{suffix}"
            database = f"sqlite:///{tmp / name.replace(' ', '-')}.sqlite3"
            started.append(start_sp(name, database, None, code))
            if args.db:
                schema = PG_SCHEMA + suffix.replace(" ", "_")
                url = postgresql_url(args.db, schema)
                pids = backend_pids(args.db, schema)
                started.append(start_sp(f"sp-postgresql{suffix}", url, pids, code))
        if not args.no_peer:
            started.append(start_script("scim2-server", SERVE_SCIM2_SERVER, "/v2", True))
        started.append(start_script("floor", SERVE_FLOOR, "/scim/v2", False))
        started.append(start_script("durable floor", SERVE_DURABLE_FLOOR, "/scim/v2", True))
        yield started
    finally:
        for server in started:
            if server.client is not None:
                server.client.close()
            server.process.terminate()
        for server in started:
            try:
                server.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.process.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--requests", type=int, default=500, help="of each kind, per round")
    parser.add_argument("--warm-up", type=int, default=100, help="requests of each kind first")
    parser.add_argument("--db", help="also the SP on this PostgreSQL database (postgresql://...)")
    parser.add_argument("--no-peer", action="store_true", help="without scim2-server")
    parser.add_argument(
        "--before",
        type=Path,
        help="also the SP of the project's code in this directory (an earlier version)",
    )
    args = parser.parse_args()
    run = f"{os.getpid()}"
    with tempfile.TemporaryDirectory() as tmp_dir, servers(args, Path(tmp_dir)) as started:
        for server in started:
            drive(server, [f"warm{i}-{run}@example.com" for i in range(args.warm_up)])
        figures = {server.name: Figures() for server in started}
        for round_no in range(args.rounds):
            names = [f"r{round_no}u{i}-{run}@example.com" for i in range(args.requests)]
            order = started[round_no % len(started) :] + started[: round_no % len(started)]
            for server in order:
                figures[server.name].rounds.append(drive(server, names))
            print(
                f"round {round_no + 1}: "
                + ", ".join(
                    f"{s.name} {figures[s.name].rounds[-1]['create'].cpu_ms:.3f}/"
                    f"{figures[s.name].rounds[-1]['filter'].cpu_ms:.3f}/"
                    f"{figures[s.name].rounds[-1]['patch'].cpu_ms:.3f}"
                    for s in started
                ),
                flush=True,
            )
    report(figures, "scim2-server", "floor")
    print(
        f"\n{args.rounds} rounds of {args.requests} requests of each kind per server, after "
        f"{args.warm_up} of each kind; CPU from /proc at {TICKS} ticks a second."
    )


if __name__ == "__main__":
    main()
