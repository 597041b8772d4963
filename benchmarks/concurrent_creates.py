"""Concurrent SCIM creators against `sso-harness sp` over loopback: errors and requests per second.

Starts ``sso-harness sp --db URL`` in its own process and opens N keep-alive connections, each
creating users (POST /Users, the business rules on) as fast as it can, all at once; prints the
statuses it got and the rate. On PostgreSQL this is the deadlock test under load: every insert
takes a KEY SHARE lock on the organisation's row through the foreign key, and the rules lock that
row.

    python benchmarks/concurrent_creates.py --db "$SSO_HARNESS_TEST_PG" --clients 8
    python benchmarks/concurrent_creates.py --db sqlite:///tmp/bench.sqlite3 --clients 50

This is a measurement, not a test: nothing here passes or fails.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import secrets
import subprocess
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from scim_throughput import TOKEN, free_port, sp_command


async def creator(
    port: int, prefix: str, n: int, count: int, statuses: collections.Counter[int]
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    for i in range(count):
        body = json.dumps(
            {
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": f"{prefix}-{n}-{i}@example.com",
            }
        ).encode()
        writer.write(
            (
                "POST /scim/v2/Users HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                f"Authorization: Bearer {TOKEN}\r\nContent-Type: application/scim+json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n"
            ).encode()
            + body
        )
        await writer.drain()
        status = int((await reader.readline()).split()[1])
        length = 0
        while (line := await reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            if name.lower() == "content-length":
                length = int(value)
        if length:
            await reader.readexactly(length)
        statuses[status] += 1
    writer.close()


async def drive(port: int, clients: int, per_client: int) -> tuple[collections.Counter[int], float]:
    statuses: collections.Counter[int] = collections.Counter()
    prefix = secrets.token_hex(4)
    started = time.perf_counter()
    await asyncio.gather(*(creator(port, prefix, n, per_client, statuses) for n in range(clients)))
    return statuses, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", required=True, help="the SP's database URL")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--requests", type=int, default=2000, help="creates in all")
    args = parser.parse_args()
    port = free_port()
    server = subprocess.Popen(
        sp_command(args.db, port),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                said = server.stderr.read().decode() if server.stderr else ""
                raise SystemExit(f"the SP did not start: {said}")
            time.sleep(0.1)
        per_client = max(1, args.requests // args.clients)
        statuses, took = asyncio.run(drive(port, args.clients, per_client))
        total = sum(statuses.values())
        errors = total - statuses.get(201, 0)
        print(
            f"{args.clients} clients, {total} creates in {took:.1f} s: {total / took:.0f} req/s, "
            f"{errors} errors ({100 * errors / total:.1f} %), "
            f"statuses {dict(sorted(statuses.items()))}"
        )
    finally:
        server.terminate()
        server.wait(10)


if __name__ == "__main__":
    main()
