"""The default ``sso-harness run`` against an SP the harness did not start: the reference SP in
a process of its own (``sso-harness sp`` on an SQLite file), described by a target file with
every feature, as a QA team points the harness at its own SP. Optionally next to an earlier
version of the harness in the same rounds (the SP process is the same for both).

Against a real SP each scenario run serves the mock IdP on a loopback port of its own, started
and stopped with the run; this is where that costs, unlike the in-process default run.

    python benchmarks/remote_run.py [--rounds 2] [--before DIR] [suite paths...]

Each run is a fresh ``python -m harness run --target FILE`` process: its wall time from start to
exit and its last summary line. This is a measurement, not a test: nothing here passes or fails.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(HERE))

from benchmarks.default_run import harness_run  # noqa: E402
from tests.support.reference_process import reference_sp_process  # noqa: E402

SCIM_TOKEN = "remote-token"  # the token reference_sp_process gives its SP


def run_once(code: Path, target: Path, paths: list[str], home: str) -> tuple[float, str, str]:
    """(wall seconds, the line naming the runs, the run's last summary line)."""
    arguments = [*paths, "--target", str(target)]
    wall, done = harness_run(code, home, arguments, {"REMOTE_SCIM_TOKEN": SCIM_TOKEN})
    lines = done.stdout.splitlines()
    runs = next((line for line in lines if "scenario runs against" in line), "")
    summary = next((line for line in reversed(lines) if " in " in line and "checks" in line), "")
    return wall, runs.split(" against ")[0], summary or f"exit {done.returncode}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--before", type=Path, help="a checkout of an earlier version")
    parser.add_argument("paths", nargs="*", help="suites to run (default: every suite)")
    args = parser.parse_args()
    versions = [("now", HERE)] + ([("before", args.before.resolve())] if args.before else [])
    with tempfile.TemporaryDirectory() as home:
        os.environ["SSO_HARNESS_HOME"] = home  # the SP trusts the IdP key of this data directory
        with reference_sp_process(Path(home)) as target:
            for round_ in range(1, args.rounds + 1):
                order = versions if round_ % 2 else versions[::-1]
                for name, code in order:
                    wall, runs, summary = run_once(code, target, args.paths, home)
                    print(f"round {round_} {name:6} {wall:5.1f} s wall | {runs} | {summary}")


if __name__ == "__main__":
    main()
