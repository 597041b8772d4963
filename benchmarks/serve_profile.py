"""Where a sign-in's server CPU goes in ``sso-harness serve``: sign-ins as in
``serve_sign_ins.py`` for ``--seconds``, sampled meanwhile by py-spy over every thread of the
server (``pip install py-spy``), then each sample put in one part: the SP's SAML endpoints
(its ACS, its signature checks and decryption, the start of a sign-in, ``/api/me``), the mock
IdP's endpoints, and the server's own machinery (uvicorn, Starlette, the event loop, the
hand-over to the SP's worker threads). A measurement, not a test.

    python benchmarks/serve_profile.py [--seconds 10]
"""

from __future__ import annotations

import argparse
import collections
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
import serve_sign_ins as bench

# The first of these found in a sample's stack (outermost first) names its part.
PARTS = (
    ("SP: signature checks and decryption", "validate_response ("),
    ("SP: the rest of the ACS (form, routing, session, database)", "SamlRoutes.acs ("),
    ("SP: start of a sign-in (AuthnRequest signed, stored)", "SamlRoutes.login ("),
    ("SP: /api/me", "api_me ("),
    ("IdP: its endpoints (AuthnRequest read, login, Response signed)", "mock_idp/sso"),
)


def part_of(stack: str) -> str:
    for name, marker in PARTS:
        if marker in stack:
            return name
    return "server machinery (uvicorn, Starlette, the loop, the hand-overs)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    seconds = parser.parse_args().seconds
    raw = Path(tempfile.mkdtemp()) / "serve.raw"
    server, sp_url, idp_url, users = bench.start_serve(Path(tempfile.mkdtemp()), plain=False)
    try:
        with (
            httpx.Client(base_url=sp_url, timeout=30) as sp,
            httpx.Client(base_url=idp_url, timeout=30) as idp,
        ):
            for index in range(50):  # connections open, code warm
                bench.sign_in(sp, idp, users[index % len(users)])
            # py-spy's flags: 500 samples a second, every thread, raw stacks.
            record = ["py-spy", "record", "-p", str(server.pid), "-r", "500", "--threads"]
            record += ["-d", str(int(seconds) + 2), "--format", "raw", "-o", str(raw)]
            profiler = subprocess.Popen(
                [*record, "--nonblocking"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            time.sleep(1)
            rate, cpu_ms = bench.sign_ins(sp, idp, users, seconds, server.pid)
            profiler.wait()
    finally:
        server.terminate()
        server.wait()
    parts: collections.Counter[str] = collections.Counter()
    for line in raw.read_text().splitlines():
        stack, count = line.rsplit(" ", 1)
        parts[part_of(stack)] += int(count)
    total = sum(parts.values())
    print(f"{rate:.1f} sign-ins/s, {cpu_ms:.2f} ms of server CPU per sign-in; {total} samples")
    for name, count in parts.most_common():
        print(f"{100 * count / total:5.1f} %  {cpu_ms * count / total:5.2f} ms  {name}")


if __name__ == "__main__":
    main()
