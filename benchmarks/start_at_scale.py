"""How long ``sso-harness sp`` takes to start, and how much memory it holds, at 1k and 100k users.

For each directory size, one SQLite file is seeded straight into the store by each checkout
measured (the server is not running; the file is kept aside untouched), then, on a fresh copy of
it, the SP is started three times and timed from the process's start until ``/healthz`` answers 200:

- first start: the accounts of a directory loaded behind the SP's back are judged (every user
  gets an account row: the business rules run over the whole directory);
- at head: nothing has changed since, the start does no work per user;
- after a rules change: the organisation's rules fingerprint is cleared (as a renamed admin
  group or a database from a release before fingerprints would leave it), so every account is
  judged again, nearly all of them unchanged.

Beside each start: the server's CPU time until /healthz answered (user + system, steadier than
wall time on a shared machine), its resident memory after the start and after 1,000 filters by
userName (their latency, p50 and p95, printed too), as VmRSS and split into RssAnon (the
process's own: Python's heap, SQLite's page cache) and RssFile (pages of the database file
mapped by SQLite's mmap, shared with the operating system's page cache, which takes them back
under pressure); and the floor: the same interpreter importing the SP and doing nothing (its
wall and CPU time, its VmRSS).

``--code DIR ...`` measures several checkouts side by side (each start runs with
``PYTHONPATH=DIR``), alternating them in each of ``--rounds`` rounds.

    python benchmarks/start_at_scale.py [--users 1000 100000] [--keep DIR] [--code DIR ...]
        [--rounds N]

This is a measurement, not a test: nothing here passes or fails.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from scim_throughput import free_port, latency, seed, sp_command

_TICK = os.sysconf("SC_CLK_TCK")
_KINDS = ("first start", "at head", "after a rules change")


def _memory_mib(pid: int) -> dict[str, float]:
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "RssAnon", "RssFile"):
            found[name] = int(value.split()[0]) / 1024
    return found


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICK


def _environment(code: Path | None) -> dict[str, str]:
    env = dict(os.environ)
    if code is not None:
        env["PYTHONPATH"] = str(code)
    return env


def _directory(code: Path | None) -> Path | None:
    """Where a start runs: in the checkout measured. ``python -m`` and ``-c`` put the working
    directory ahead of PYTHONPATH, so a start from another checkout ran that one's code."""
    return code


def _start(db_url: str, port: int, code: Path | None) -> tuple[subprocess.Popen[bytes], float]:
    """The SP started on ``db_url``; seconds from the process's start to /healthz 200."""
    started = time.perf_counter()
    server = subprocess.Popen(
        sp_command(db_url, port),
        stdout=subprocess.DEVNULL,
        env=_environment(code),
        cwd=_directory(code),
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


def _clear_fingerprint(path: Path) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE organizations SET rules_fingerprint = NULL")


def _copy(source: Path, target: Path) -> None:
    for stale in (target, Path(f"{target}-wal"), Path(f"{target}-shm")):
        stale.unlink(missing_ok=True)
    with sqlite3.connect(source) as given, sqlite3.connect(target) as copy:
        given.backup(copy)


def _floor(code: Path | None) -> str:
    """The interpreter with the SP imported and nothing served."""
    started = time.perf_counter()
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "import os, pathlib, reference_sp.app, harness.cli; t = os.times();"
            "print(t.user + t.system, [l for l in pathlib.Path('/proc/self/status').read_text()"
            ".splitlines() if l.startswith('VmRSS:')][0].split()[1])",
        ],
        capture_output=True,
        text=True,
        check=True,
        env=_environment(code),
        cwd=_directory(code),
    )
    seconds = time.perf_counter() - started
    cpu, rss = probe.stdout.split()
    return f"{seconds:5.2f} s, CPU {float(cpu):4.2f} s, VmRSS {int(rss) / 1024:5.1f} MiB"


def _pristine(count: int, folder: Path, code: Path | None) -> Path:
    """The seeded directory of ``count`` users, never started on: seeded by the checkout
    measured, whose schema (its migrations) it then has; the same users for every checkout."""
    label = "" if code is None else f"-{code.name}"
    path = folder / f"pristine-{count}{label}.sqlite3"
    if not path.exists():
        started = time.perf_counter()
        if code is None:
            random.seed(7)
            seed(f"sqlite:///{path}", count)
        else:
            subprocess.run(
                [
                    sys.executable,
                    "-c",
                    "import random, sys; sys.path.insert(1, 'benchmarks'); random.seed(7); "
                    f"from scim_throughput import seed; seed({f'sqlite:///{path}'!r}, {count})",
                ],
                check=True,
                env=_environment(code),
                cwd=_directory(code),
            )
        print(f"({count} users seeded in {time.perf_counter() - started:.1f} s)", flush=True)
    return path


def measure(count: int, folder: Path, code: Path | None) -> list[tuple[str, float, float]]:
    """The three starts on a fresh copy of the seeded directory: (kind, seconds, CPU)."""
    path = folder / f"start-{count}.sqlite3"
    _copy(_pristine(count, folder, code), path)
    names = [f"seed{i:06d}@example.com" for i in range(count)]
    label = code.name if code is not None else "this checkout"
    found = []
    for kind in _KINDS:
        if kind == "after a rules change":
            _clear_fingerprint(path)
        port = free_port()
        server, seconds = _start(f"sqlite:///{path}", port, code)
        try:
            cpu = _cpu_seconds(server.pid)
            after_start = _memory_mib(server.pid)
            p50, p95 = asyncio.run(latency(port, names, 1000))
            after_filters = _memory_mib(server.pid)
        finally:
            server.terminate()
            server.wait(timeout=30)
        print(
            f"{label:<14} {count:>7} users, {kind:<20} {seconds:5.2f} s to /healthz 200 "
            f"(CPU {cpu:4.2f} s); MiB VmRSS/RssAnon/RssFile after start "
            f"{after_start['VmRSS']:5.1f}/{after_start['RssAnon']:5.1f}/"
            f"{after_start['RssFile']:5.1f}, after 1,000 filters {after_filters['VmRSS']:5.1f}/"
            f"{after_filters['RssAnon']:5.1f}/{after_filters['RssFile']:5.1f}; "
            f"filter p50 {p50:4.2f} ms, p95 {p95:4.2f} ms",
            flush=True,
        )
        found.append((kind, seconds, cpu))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, nargs="+", default=[1000, 100_000])
    parser.add_argument("--keep", type=Path, help="keep the seeded files here (reused next time)")
    parser.add_argument("--code", type=Path, nargs="+", help="checkouts to compare (PYTHONPATH)")
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    random.seed(7)
    # Absolute: each start runs in its checkout's directory.
    codes: list[Path | None] = [c.resolve() for c in args.code] if args.code else [None]
    with tempfile.TemporaryDirectory() as scratch:
        folder = (args.keep or Path(scratch)).resolve()
        folder.mkdir(parents=True, exist_ok=True)
        runs: dict[tuple[str, int, str], list[tuple[float, float]]] = defaultdict(list)
        for _ in range(args.rounds):
            for code in codes:
                label = code.name if code is not None else "this checkout"
                print(f"{label:<14} floor: the interpreter importing the SP {_floor(code)}")
                for count in args.users:
                    for kind, seconds, cpu in measure(count, folder, code):
                        runs[(label, count, kind)].append((seconds, cpu))
        if args.rounds > 1:
            print("\nrange over the rounds (wall s; CPU s):")
            for (label, count, kind), found in runs.items():
                walls, cpus = [w for w, _ in found], [c for _, c in found]
                print(
                    f"{label:<14} {count:>7} users, {kind:<20} {min(walls):5.2f}-{max(walls):5.2f}"
                    f"; {min(cpus):4.2f}-{max(cpus):4.2f}"
                )


if __name__ == "__main__":
    main()
