"""What one in-process request costs the harness, part by part: ``GET /healthz`` on the
reference SP of a world through the world's client (with no cookies, then with a signed-in
session's, and the same through ``httpx.Client``: what ``harness.http_client`` saves), through
its transport alone, the SP's ASGI app run in this thread, and the hand-over to the portal's
event loop alone (a coroutine that returns at once). CPU time per request
(``time.process_time``) over ``--requests`` requests; run it with ``PYTHONPATH`` pointing at two
checkouts in turn to compare them.

    python benchmarks/in_process_request.py [--requests 3000]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.append(str(ROOT))  # PYTHONPATH, when set, names the code measured

from harness.scenario.loader import discover  # noqa: E402
from harness.transport import _exchange, process_portal  # noqa: E402
from harness.world import World  # noqa: E402


def per_request_us(requests: int, one: Callable[[], object]) -> float:
    for _ in range(200):  # warm
        one()
    started = time.process_time()
    for _ in range(requests):
        one()
    return (time.process_time() - started) / requests * 1e6


async def _nothing() -> None:
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=3000)
    requests = parser.parse_args().requests
    run = next(iter(discover([ROOT / "scenarios" / "admin_grants"])))
    with World.open(run, seed=0) as world, world.client() as client:
        url = world.url("/healthz")
        request = httpx.Request("GET", url)
        host = httpx.URL(url).netloc
        app = world.transport._by_host[host.decode()]._app  # type: ignore[attr-defined]
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "headers": [(b"host", host)],
            "scheme": "http",
            "path": "/healthz",
            "raw_path": b"/healthz",
            "query_string": b"",
            "server": ("sp.test", 80),
            "client": ("127.0.0.1", 1),
            "root_path": "",
        }
        loop = asyncio.new_event_loop()
        portal = process_portal()
        # A signed-in browser session's cookies (the SP's session, the IdP's, a relay): the
        # harness's client against httpx's own, the same transport.
        signed_in = world.client()
        plain = httpx.Client(transport=world.transport, timeout=30)
        for each in (signed_in, plain):
            for name, domain in (("sp_session", host.decode()), ("relay", host.decode())):
                each.cookies.set(name, "s" * 43, domain=domain.split(":")[0])
            each.cookies.set("idp_session", "i" * 43, domain="idp.test")
        rows = [
            ("the whole request through the world's client", lambda: client.get(url)),
            ("the same with a signed-in session's cookies", lambda: signed_in.get(url)),
            ("the same through httpx.Client, for comparison", lambda: plain.get(url)),
            ("the transport alone", lambda: world.transport.handle_request(request)),
            (
                "the SP's ASGI app in this thread",
                lambda: loop.run_until_complete(_exchange(app, dict(scope), b"")),
            ),
            ("the hand-over to the portal alone", lambda: portal.call(_nothing)),
        ]
        code = Path(str(sys.modules["harness"].__file__)).parents[1]
        print(f"{requests} requests, the code in {code}")
        for name, one in rows:
            print(f"{per_request_us(requests, one):7.0f} us CPU  {name}")
        loop.close()


if __name__ == "__main__":
    main()
