"""Where the reference SP's CPU goes in one kind of SCIM request: cProfile of the SP's ASGI app,
in-process, driven with the requests of ``benchmarks/scim_cpu.py`` (no network, no uvicorn).

The database's worker thread is replaced by a call in place for the profile (cProfile sees
one thread only), so the hop to that thread is not part of it; everything else is.

    python benchmarks/scim_profile.py create|filter|patch [--db URL] [--requests 500] [--top 40]
                                      [--keep-hop] [--cpu-only] [--round-trips]

``--keep-hop --cpu-only`` next to ``--cpu-only`` alone gives what the hop to the database
thread costs (CPU of every thread, without the profiler's own). ``--round-trips`` (PostgreSQL)
counts the exchanges with the server per request, from libpq's trace.

This is a measurement, not a test: nothing here passes or fails.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import pstats
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import event

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.scim_cpu import DEACTIVATE, TOKEN, filter_target, user_body  # noqa: E402
from reference_sp.app import ReferenceSP  # noqa: E402
from reference_sp.settings import Settings  # noqa: E402


async def call(app: Any, method: str, target: str, body: bytes = b"") -> tuple[int, dict[str, str]]:
    path, _, query = target.partition("?")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": query.encode(),
        "headers": [
            (b"host", b"127.0.0.1"),
            (b"authorization", f"Bearer {TOKEN}".encode()),
            (b"content-type", b"application/scim+json"),
            (b"content-length", str(len(body)).encode()),
        ],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }
    sent = False
    status = 0
    headers: dict[str, str] = {}

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            await asyncio.sleep(3600)
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
            headers.update((k.decode(), v.decode()) for k, v in message["headers"])

    await app(scope, receive, send)
    return status, headers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("operation", choices=["create", "filter", "patch"])
    parser.add_argument("--db", help="database URL (an SQLite file in a temporary directory)")
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--sort", default="cumulative")
    parser.add_argument(
        "--keep-hop",
        action="store_true",
        help="keep the hop to the database's worker thread (CPU of every thread counted)",
    )
    parser.add_argument("--cpu-only", action="store_true", help="no profile: CPU per request")
    parser.add_argument(
        "--round-trips",
        action="store_true",
        help="PostgreSQL: count the exchanges with the server (libpq's trace) per request",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        sp = ReferenceSP(Settings(db_url=args.db or f"sqlite:///{Path(tmp) / 'sp.sqlite3'}"))

        async def in_place(fn: Callable[..., Any], *fn_args: Any) -> Any:
            return fn(*fn_args)

        if not args.keep_hop:
            sp.db.run = in_place  # type: ignore[method-assign]
        args.exchanges = None
        if args.round_trips:
            args.exchanges = _trace_exchanges(sp, Path(tmp) / "libpq.trace")
        sp.add_organisation("default", TOKEN)
        try:
            asyncio.run(profile(sp, args))
        finally:
            sp.close()


def _trace_exchanges(sp: ReferenceSP, path: Path) -> Callable[[], int]:
    """Trace every new PostgreSQL connection of the SP; the count of exchanges so far (each
    ends with the server's ReadyForQuery: one round trip, a pipeline's sync included)."""
    if sp.db.engine.dialect.name != "postgresql":
        raise SystemExit("--round-trips needs --db postgresql://...")
    trace = path.open("w")
    sp.db.engine.dispose()  # the connections made from now on are traced

    @event.listens_for(sp.db.engine, "connect")
    def traced(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.pgconn.trace(trace.fileno())

    def exchanges() -> int:
        trace.flush()
        with path.open() as lines:
            return sum("ReadyForQuery" in line for line in lines)

    return exchanges


async def profile(sp: ReferenceSP, args: argparse.Namespace) -> None:
    base = "/scim/v2"
    names = [f"p{i}-{time.time_ns()}@example.com" for i in range(args.requests)]
    ids = []
    requests: list[tuple[str, str, bytes]] = []
    for name in names if args.operation != "create" else []:
        status, headers = await call(sp.app, "POST", f"{base}/Users", user_body(name))
        ids.append(headers["location"].rsplit("/", 1)[1])
    if args.operation == "create":
        requests = [("POST", f"{base}/Users", user_body(n)) for n in names]
    elif args.operation == "filter":
        requests = [("GET", base + filter_target(n), b"") for n in names]
    else:
        requests = [("PATCH", f"{base}/Users/{i}", DEACTIVATE) for i in ids]
    profiler = cProfile.Profile()
    exchanged = args.exchanges() if args.exchanges else 0
    started = time.process_time()  # every thread of the process
    if not args.cpu_only:
        profiler.enable()
    for method, target, body in requests:
        status, _ = await call(sp.app, method, target, body)
        if status >= 300:
            raise RuntimeError(f"{method} {target}: {status}")
    profiler.disable()
    cpu = time.process_time() - started
    if not args.cpu_only:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats(args.sort).print_stats(args.top)
        print(out.getvalue())
    how = ("with" if args.keep_hop else "without") + " the hop to the database thread"
    profiled = "" if args.cpu_only else ", profiled"
    if args.exchanges:
        trips = (args.exchanges() - exchanged) / len(requests)
        print(f"{args.operation}: {trips:.2f} round trips to PostgreSQL per request")
    per_request = cpu / len(requests) * 1000
    print(f"{args.operation}: {per_request:.3f} ms of CPU per request ({how}{profiled})")


if __name__ == "__main__":
    main()
