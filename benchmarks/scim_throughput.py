"""SCIM server throughput and filter latency over loopback.

Starts ``sso-harness sp`` (one uvicorn process, an SQLite file) and drives it from this process
with a small keep-alive HTTP/1.1 client on asyncio (fast enough not to be the bottleneck), then:

- requests per second for create (POST /Users), filter by userName and PATCH (replace title);
- latency (p50, p95) of a filter by userName on one connection at 1k and at 100k users, the
  100k directory being seeded straight into the store before the server starts.

    python benchmarks/scim_throughput.py [--quick]

This is a measurement, not a test: nothing here passes or fails.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Callable
from pathlib import Path

from harness.protocol.scim.schema import PATCH_OP_SCHEMA, USER_RESOURCE, USER_SCHEMA
from reference_sp.db import Database, make_engine
from reference_sp.organisation_store import OrganisationStore
from reference_sp.scim.store import ScimStore

TOKEN = "bench-token"


class Connection:
    """One keep-alive HTTP/1.1 connection: request bytes out, status and body in."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int) -> Connection:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer)

    async def request(self, method: str, target: str, body: bytes = b"") -> tuple[int, bytes]:
        head = (
            f"{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: Bearer {TOKEN}\r\nContent-Type: application/scim+json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        self.writer.write(head.encode() + body)
        await self.writer.drain()
        status_line = await self.reader.readline()
        length = 0
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.decode().partition(":")
            if name.lower() == "content-length":
                length = int(value)
        payload = await self.reader.readexactly(length) if length else b""
        return int(status_line.split()[1]), payload

    async def close(self) -> None:
        self.writer.close()
        await self.writer.wait_closed()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def sp_command(db_url: str, port: int) -> list[str]:
    """``sso-harness sp`` on ``port`` and ``db_url``, with the benchmarks' SCIM token."""
    return [
        sys.executable,
        "-m",
        "harness",
        "sp",
        "--port",
        str(port),
        "--db",
        db_url,
        "--scim-token",
        TOKEN,
    ]


def start_server(db_url: str, port: int) -> subprocess.Popen[bytes]:
    server = subprocess.Popen(
        sp_command(db_url, port),
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return server
        except OSError:
            time.sleep(0.05)
    server.kill()
    raise RuntimeError("the SP did not start")


async def throughput(
    port: int, total: int, make: Callable[[int], tuple[str, str, bytes]], connections: int = 8
) -> float:
    """Requests per second for ``total`` requests spread over ``connections``."""
    pool = [await Connection.open(port) for _ in range(connections)]
    counter = iter(range(total))
    failures = 0

    async def worker(conn: Connection) -> None:
        nonlocal failures
        for i in counter:
            status, _ = await conn.request(*make(i))
            failures += status >= 400

    started = time.perf_counter()
    await asyncio.gather(*(worker(c) for c in pool))
    elapsed = time.perf_counter() - started
    for conn in pool:
        await conn.close()
    if failures:
        print(f"  warning: {failures} requests failed")
    return total / elapsed


async def latency(port: int, user_names: list[str], samples: int) -> tuple[float, float]:
    conn = await Connection.open(port)
    timings = []
    for _ in range(samples):
        name = random.choice(user_names)
        target = "/scim/v2/Users?" + urllib.parse.urlencode({"filter": f'userName eq "{name}"'})
        started = time.perf_counter()
        status, body = await conn.request("GET", target)
        timings.append(time.perf_counter() - started)
        if status != 200 or json.loads(body)["totalResults"] != 1:
            raise RuntimeError(f"filter failed: {status} {body[:200]!r}")
    await conn.close()
    timings.sort()
    return statistics.median(timings) * 1000, timings[int(len(timings) * 0.95)] * 1000


def user_body(name: str) -> bytes:
    return json.dumps(
        {
            "schemas": [USER_SCHEMA],
            "userName": name,
            "name": {"givenName": "Bench", "familyName": name},
            "emails": [{"value": name, "type": "work", "primary": True}],
            "active": True,
        }
    ).encode()


def seed(db_url: str, count: int) -> list[str]:
    """``count`` users written straight into the store (the server is not running yet)."""
    db = Database(make_engine(db_url))
    store = ScimStore()
    names = [f"seed{i:06d}@example.com" for i in range(count)]
    with db.transaction() as conn:
        org = OrganisationStore().ensure(conn, "default", TOKEN)
        for name in names:
            store.create(conn, org, USER_RESOURCE, json.loads(user_body(name)))
    db.close()
    return names


async def measure(db_url: str, seeded: list[str], quick: bool) -> None:
    port = free_port()
    server = start_server(db_url, port)
    try:
        n = 1000 if quick else 4000
        if not seeded:
            run = f"{os.getpid()}-{random.randrange(10**6)}"
            create_rate = await throughput(
                port, n, lambda i: ("POST", "/scim/v2/Users", user_body(f"u{i}-{run}@example.com"))
            )
            names = [f"u{i}-{run}@example.com" for i in range(n)]
            print(f"create:              {create_rate:8.0f} requests/s")
            ids = []
            conn = await Connection.open(port)
            for name in names[:200]:
                query = urllib.parse.urlencode({"filter": f'userName eq "{name}"'})
                _, body = await conn.request("GET", f"/scim/v2/Users?{query}")
                ids.append(json.loads(body)["Resources"][0]["id"])
            await conn.close()

            def filter_request(i: int) -> tuple[str, str, bytes]:
                query = urllib.parse.urlencode({"filter": f'userName eq "{names[i % len(names)]}"'})
                return "GET", f"/scim/v2/Users?{query}", b""

            filter_rate = await throughput(port, n, filter_request)
            print(f"filter by userName:  {filter_rate:8.0f} requests/s")

            def patch_request(i: int) -> tuple[str, str, bytes]:
                body = {
                    "schemas": [PATCH_OP_SCHEMA],
                    "Operations": [{"op": "replace", "path": "title", "value": f"t{i}"}],
                }
                return "PATCH", f"/scim/v2/Users/{ids[i % len(ids)]}", json.dumps(body).encode()

            patch_rate = await throughput(port, n, patch_request)
            print(f"PATCH (replace):     {patch_rate:8.0f} requests/s")
        else:
            p50, p95 = await latency(port, seeded, 300 if quick else 1000)
            print(f"filter latency at {len(seeded):>6} users: p50 {p50:.2f} ms, p95 {p95:.2f} ms")
    finally:
        server.terminate()
        server.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer requests, 10k instead of 100k")
    args = parser.parse_args()
    random.seed(7)
    with tempfile.TemporaryDirectory() as tmp:
        print("throughput over loopback (8 keep-alive connections, one server process):")
        asyncio.run(measure(f"sqlite:///{Path(tmp) / 'throughput.sqlite3'}", [], args.quick))
        for count in (1_000, 10_000 if args.quick else 100_000):
            url = f"sqlite:///{Path(tmp) / f'latency-{count}.sqlite3'}"
            started = time.perf_counter()
            names = seed(url, count)
            print(f"(seeded {count} users in {time.perf_counter() - started:.1f} s)")
            asyncio.run(measure(url, names, args.quick))


if __name__ == "__main__":
    main()
