"""How long ``sso-harness sp`` takes to start, and how much memory it holds, at 1k and 100k users.

For each directory size, one SQLite file is seeded straight into the store (the server is not
running), then the SP is started three times and timed from the process's start until
``/healthz`` answers 200:

- first start: the accounts of a directory loaded behind the SP's back are judged (every user
  gets an account row: the business rules run over the whole directory);
- at head: nothing has changed since, the start does no work per user;
- after a rules change: the organisation's rules fingerprint is cleared (as a renamed admin
  group or a database from a release before fingerprints would leave it), so every account is
  judged again, nearly all of them unchanged.

Beside each start, the server's resident memory (VmRSS) after the start and after 1,000
filters by userName, and the floor: the same interpreter importing the SP and doing nothing.

    python benchmarks/start_at_scale.py [--users 1000 100000] [--keep DIR]

This is a measurement, not a test: nothing here passes or fails.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from scim_throughput import TOKEN, Connection, free_port, seed


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def _start(db_url: str, port: int) -> tuple[subprocess.Popen[bytes], float]:
    """The SP started on ``db_url``; seconds from the process's start to /healthz 200."""
    started = time.perf_counter()
    server = subprocess.Popen(
        [
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
        ],
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as answer:
                if answer.status == 200:
                    return server, time.perf_counter() - started
        except OSError:
            time.sleep(0.02)
    server.kill()
    raise RuntimeError("the SP did not start")


async def _filters(port: int, names: list[str], count: int) -> None:
    conn = await Connection.open(port)
    for _ in range(count):
        name = random.choice(names)
        target = "/scim/v2/Users?" + urllib.parse.urlencode({"filter": f'userName eq "{name}"'})
        status, body = await conn.request("GET", target)
        if status != 200 or json.loads(body)["totalResults"] != 1:
            raise RuntimeError(f"filter failed: {status} {body[:200]!r}")
    await conn.close()


def _clear_fingerprint(path: Path) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE organizations SET rules_fingerprint = NULL")


def _floor_rss() -> float:
    """The interpreter with the SP imported and nothing served."""
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "import reference_sp.app, harness.cli, pathlib;"
            "print([l for l in pathlib.Path('/proc/self/status').read_text().splitlines()"
            " if l.startswith('VmRSS:')][0].split()[1])",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(probe.stdout) / 1024


def measure(count: int, folder: Path) -> None:
    path = folder / f"start-{count}.sqlite3"
    names = [f"seed{i:06d}@example.com" for i in range(count)]
    if not path.exists():
        started = time.perf_counter()
        names = seed(f"sqlite:///{path}", count)
        print(f"({count} users seeded in {time.perf_counter() - started:.1f} s)")
    else:
        # A kept file from an earlier run: its accounts exist, so the "first start" is at head.
        _clear_fingerprint(path)
    for label, before in (
        ("first start", None),
        ("at head", None),
        ("after a rules change", _clear_fingerprint),
    ):
        if before is not None:
            before(path)
        port = free_port()
        server, seconds = _start(f"sqlite:///{path}", port)
        try:
            after_start = _rss_mib(server.pid)
            asyncio.run(_filters(port, names, 1000))
            after_filters = _rss_mib(server.pid)
        finally:
            server.terminate()
            server.wait(timeout=30)
        print(
            f"{count:>7} users, {label:<21} {seconds:6.2f} s to /healthz 200; "
            f"RSS {after_start:6.1f} MiB after start, {after_filters:6.1f} MiB after 1,000 filters"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, nargs="+", default=[1000, 100_000])
    parser.add_argument("--keep", type=Path, help="keep the seeded files here (reused next time)")
    args = parser.parse_args()
    random.seed(7)
    print(f"floor: the interpreter with the SP imported, RSS {_floor_rss():.1f} MiB")
    if args.keep is not None:
        args.keep.mkdir(parents=True, exist_ok=True)
        for count in args.users:
            measure(count, args.keep)
        return
    with tempfile.TemporaryDirectory() as folder:
        for count in args.users:
            measure(count, Path(folder))


if __name__ == "__main__":
    main()
