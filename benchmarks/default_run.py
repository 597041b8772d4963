"""The default ``sso-harness run`` (every suite, the reference SP and the mock IdP in-process),
serially and with ``--workers 2``, optionally next to an earlier version of the code in the same
rounds.

Each run is a fresh ``python -m harness run`` process: its wall time from start to exit
(imports included, as a user waits for it), the CPU it and its worker processes used (user +
system, from ``getrusage(RUSAGE_CHILDREN)``) and the checks it counted. Rounds alternate the
versions and the worker counts, so a busy moment of the machine falls on each alike.

    python benchmarks/default_run.py [--rounds 2] [--before DIR] [--workers 1 2]

``--before DIR``: a checkout of an earlier version (``git worktree add --detach DIR REV``), run
with ``PYTHONPATH=DIR``. This is a measurement, not a test: nothing here passes or fails.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def harness_run(
    code: Path, home: str, arguments: list[str], env: dict[str, str] | None = None
) -> tuple[float, subprocess.CompletedProcess[str]]:
    """``python -m harness run ARGUMENTS`` with the code in ``code``: (wall seconds, the
    finished process)."""
    env = {**os.environ, **(env or {}), "PYTHONPATH": str(code), "SSO_HARNESS_HOME": home}
    # As a user runs it: modules imported from their cached bytecode, not compiled each time
    # (a machine that sets PYTHONDONTWRITEBYTECODE pays about a second more per run).
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "harness", "run", *arguments],
        cwd=code,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    return time.perf_counter() - started, done


def run_once(code: Path, workers: int, home: str) -> tuple[float, float, str]:
    """(wall seconds, CPU seconds, the run's last summary line)."""
    cpu = _children_cpu()
    wall, done = harness_run(code, home, ["--workers", str(workers)])
    summary = [line for line in done.stdout.splitlines() if re.search(r"passed|failed", line)]
    return wall, _children_cpu() - cpu, (summary[-1] if summary else f"exit {done.returncode}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--before", type=Path, help="a checkout of an earlier version")
    parser.add_argument(
        "--workers", type=int, nargs="+", default=[1, 2], help="worker counts to run (1 2)"
    )
    args = parser.parse_args()
    versions = [("now", HERE)] + ([("before", args.before.resolve())] if args.before else [])
    with tempfile.TemporaryDirectory() as home:
        for round_number in range(1, args.rounds + 1):
            order = versions if round_number % 2 else versions[::-1]
            for label, code in order:
                for workers in args.workers:
                    wall, cpu, summary = run_once(code, workers, home)
                    load = os.getloadavg()[0]
                    print(
                        f"round {round_number} {label:<6} --workers {workers}: "
                        f"{wall:5.1f} s wall, {cpu:5.1f} s CPU (load {load:.1f}) | {summary}",
                        flush=True,
                    )


if __name__ == "__main__":
    main()
