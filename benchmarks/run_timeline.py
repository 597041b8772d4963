"""Where a ``sso-harness run`` spends its time, scenario by scenario: each scenario run's wall
time and its process's CPU time, totals per suite, and with ``--workers 2`` which worker ran what
and when (so an idle worker or a scenario slowed by its neighbour shows).

    python benchmarks/run_timeline.py [--workers 1] [--top 15] [-- RUN-ARGS...]

The run is in this process (``harness.cli.main``), as ``python -m harness run`` makes it; the
scenario runner is wrapped to time each call, in the worker processes too (they are forked with
the wrapper in place). CPU is the process's (every thread: the harness's and the in-process
apps'), not a browser's. This is a measurement, not a test: nothing here passes or fails.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import multiprocessing
import os
import time
from typing import Any

from harness import runner
from harness.cli import main as harness_main

STARTED = time.perf_counter()


# What the wrapped runner records: (pid, start s, end s, CPU s, suite/name); a manager's list
# when workers run, so that the forked workers' records reach this process.
_SINK: dict[str, Any] = {"rows": []}
_scenario_runner = runner.run_scenario


def _timed_scenario(run: Any, *rest: Any, **options: Any) -> Any:
    """The runner, timed. At module level: the worker pool pickles it by name."""
    wall, cpu = time.perf_counter(), time.process_time()
    try:
        return _scenario_runner(run, *rest, **options)
    finally:
        _SINK["rows"].append(
            (
                os.getpid(),
                wall - STARTED,
                time.perf_counter() - STARTED,
                time.process_time() - cpu,
                f"{run.suite}/{run.name}",
            )
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--top", type=int, default=15, help="the longest scenario runs listed")
    parser.add_argument("run_args", nargs="*", help="more arguments for `sso-harness run`")
    args = parser.parse_args()
    if args.workers > 1:
        _SINK["rows"] = multiprocessing.Manager().list()
    runner.run_scenario = _timed_scenario
    with contextlib.suppress(SystemExit):
        harness_main(["run", "--workers", str(args.workers), *args.run_args])
    ended = time.perf_counter() - STARTED
    rows = list(_SINK["rows"])
    in_scenarios = sum(end - start for _, start, end, _, _ in rows)
    print(f"\nrun {ended:.2f} s wall; {len(rows)} scenario runs, {in_scenarios:.2f} s in them")
    suites: dict[str, list[float]] = collections.defaultdict(lambda: [0.0, 0.0, 0])
    for _, start, end, cpu, name in rows:
        suite = suites[name.split("/")[0]]
        suite[0] += end - start
        suite[1] += cpu
        suite[2] += 1
    print(f"{'wall s':>7} {'CPU s':>6} {'runs':>4}  suite")
    for name, (wall, cpu, count) in sorted(suites.items(), key=lambda item: -item[1][0]):
        print(f"{wall:7.2f} {cpu:6.2f} {count:4d}  {name}")
    print(f"{'wall s':>7} {'CPU s':>6}  longest scenario runs")
    for _, start, end, cpu, name in sorted(rows, key=lambda row: row[1] - row[2])[: args.top]:
        print(f"{end - start:7.3f} {cpu:6.3f}  {name}")
    if args.workers > 1:
        print("worker: busy s, first start -> last end")
        for pid in sorted({row[0] for row in rows}):
            mine = [row for row in rows if row[0] == pid]
            busy = sum(end - start for _, start, end, _, _ in mine)
            first, last = min(r[1] for r in mine), max(r[2] for r in mine)
            print(f"{pid}: {busy:.2f} s, {first:.2f} -> {last:.2f} s ({len(mine)} runs)")


if __name__ == "__main__":
    main()
