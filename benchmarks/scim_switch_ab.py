"""One SCIM speed-up switched on and off in the same process, batches alternating: the SP's CPU
per create, filter by userName and PATCH ``active=false`` with it and without it. On a machine
whose speed drifts from minute to minute, both sides then meet the same drift; between processes
(``benchmarks/scim_cpu.py``) the same code can differ by a quarter from one round to the next.

In-process as ``benchmarks/scim_profile.py`` (no HTTP server, the database's worker thread
replaced by a call in place). The switches, each replacing one function by what it replaced:

- ``pg-direct``: prebuilt statements on libpq (``reference_sp.pg_direct``), against psycopg's
  ``cursor.execute(..., prepare=True)`` (PostgreSQL);
- ``begin-with-first``: BEGIN in the first statement's exchange, against BEGIN alone
  (PostgreSQL);
- ``filter-shapes``: one-comparison filters' shapes known from their text
  (``reference_sp.scim.filter_shapes``), against parsing every filter.

    python benchmarks/scim_switch_ab.py filter-shapes [--db URL] [--batches 10] [--batch 100]

This is a measurement, not a test: nothing here passes or fails.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.scim_cpu import DEACTIVATE, TOKEN, filter_target, user_body  # noqa: E402
from benchmarks.scim_profile import call  # noqa: E402
from reference_sp import fastsql  # noqa: E402
from reference_sp.app import ReferenceSP  # noqa: E402
from reference_sp.scim import filter_shapes  # noqa: E402
from reference_sp.settings import Settings  # noqa: E402

KINDS = ("create", "filter", "patch")


def switch(name: str) -> Callable[[bool], None]:
    """A function turning the named speed-up on (True) or off (False)."""
    if name == "pg-direct":
        direct = fastsql._run

        def psycopg_run(conn: Any, form: Any, params: Any) -> Any:
            return fastsql._driver(conn).execute(form.sql, form.named(params), prepare=True)

        def turn(on: bool) -> None:
            fastsql._run = direct if on else psycopg_run  # type: ignore[assignment]

        return turn
    if name == "begin-with-first":
        from reference_sp import pg_direct

        together = pg_direct._begin_and_execute

        def begin_alone(session: Any, pgconn: Any, name: bytes, values: Any, formats: Any) -> Any:
            pg_direct._check(session, pgconn, pgconn.exec_(b"BEGIN"))
            return pgconn.exec_prepared(name, values, formats)

        def turn_begin(on: bool) -> None:
            pg_direct._begin_and_execute = together if on else begin_alone  # type: ignore[assignment]

        return turn_begin
    known = filter_shapes.KnownShapes.shape

    def parse_always(self: Any, text: str, rt: Any, parametrise: Any, values: list[Any]) -> Any:
        return parametrise(text, rt, values)

    def turn_shapes(on: bool) -> None:
        filter_shapes.KnownShapes.shape = known if on else parse_always  # type: ignore[method-assign]

    return turn_shapes


async def measure(sp: ReferenceSP, turn: Callable[[bool], None], batches: int, size: int) -> None:
    base = "/scim/v2"
    cpu = {(kind, on): 0.0 for kind in KINDS for on in (True, False)}
    for batch in range(batches):
        for on in (True, False) if batch % 2 == 0 else (False, True):
            turn(on)
            names = [f"ab{batch}-{on}-{i}-{time.time_ns()}@example.com" for i in range(size)]
            ids = []
            started = time.process_time()
            for name in names:
                status, headers = await call(sp.app, "POST", f"{base}/Users", user_body(name))
                assert status == 201, status
                ids.append(headers["location"].rsplit("/", 1)[1])
            cpu["create", on] += time.process_time() - started
            started = time.process_time()
            for name in names:
                status, _ = await call(sp.app, "GET", base + filter_target(name), b"")
                assert status == 200, status
            cpu["filter", on] += time.process_time() - started
            started = time.process_time()
            for user_id in ids:
                status, _ = await call(sp.app, "PATCH", f"{base}/Users/{user_id}", DEACTIVATE)
                assert status == 200, status
            cpu["patch", on] += time.process_time() - started
    turn(True)
    each = batches * size / 2
    for kind in KINDS:
        on, off = cpu[kind, True] / each * 1000, cpu[kind, False] / each * 1000
        print(f"{kind}: on {on:.3f} ms, off {off:.3f} ms of CPU per request, on/off {on / off:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("switch", choices=["pg-direct", "begin-with-first", "filter-shapes"])
    parser.add_argument("--db", help="database URL (an SQLite file in a temporary directory)")
    parser.add_argument("--batches", type=int, default=10, help="even: as many on as off")
    parser.add_argument("--batch", type=int, default=100, help="requests of each kind a batch")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        sp = ReferenceSP(Settings(db_url=args.db or f"sqlite:///{Path(tmp) / 'sp.sqlite3'}"))

        async def in_place(fn: Callable[..., Any], *fn_args: Any) -> Any:
            return fn(*fn_args)

        sp.db.run = in_place  # type: ignore[method-assign]
        sp.add_organisation("default", TOKEN)
        try:
            asyncio.run(measure(sp, switch(args.switch), args.batches, args.batch))
        finally:
            sp.close()


if __name__ == "__main__":
    main()
