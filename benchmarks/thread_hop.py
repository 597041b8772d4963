"""What one hand-over from an event loop to a worker thread and back costs on this machine, for
work that does nothing: the price the reference SP pays for each unit of work it runs off the
event loop (``Database.run``, the endpoints of ``reference_sp.app._off_loop``).

Measured on asyncio's loop and on uvloop (the servers' loop), with the executor the SP uses
(``loop.run_in_executor`` on a ``ThreadPoolExecutor``), with the least a hand-over can be (one
queue, one future resolved by ``call_soon_threadsafe``), and inline (no hand-over), in CPU of
the whole process (every thread) per call.

    python benchmarks/thread_hop.py [--calls 20000]
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import queue
import resource
import threading
import time
from collections.abc import Callable, Coroutine
from typing import Any


def cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def nothing() -> int:
    return 1


class LeastHandOver:
    """One worker thread, one queue; the result comes back through call_soon_threadsafe."""

    def __init__(self) -> None:
        self.calls: queue.SimpleQueue[tuple[asyncio.AbstractEventLoop, asyncio.Future[int]]]
        self.calls = queue.SimpleQueue()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            loop, future = self.calls.get()
            loop.call_soon_threadsafe(future.set_result, nothing())


async def executor(calls: int, pool: concurrent.futures.ThreadPoolExecutor) -> None:
    loop = asyncio.get_running_loop()
    for _ in range(calls):
        await loop.run_in_executor(pool, nothing)


async def least(calls: int, worker: LeastHandOver) -> None:
    loop = asyncio.get_running_loop()
    for _ in range(calls):
        future: asyncio.Future[int] = loop.create_future()
        worker.calls.put((loop, future))
        await future


async def inline(calls: int) -> None:
    for _ in range(calls):
        nothing()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=20000)
    calls = parser.parse_args().calls
    loops: list[tuple[str, Callable[[], asyncio.AbstractEventLoop]]] = [
        ("asyncio", asyncio.new_event_loop)
    ]
    try:
        import uvloop

        loops.append(("uvloop", uvloop.new_event_loop))
    except ImportError:
        pass
    pool = concurrent.futures.ThreadPoolExecutor(1)
    worker = LeastHandOver()
    ways: list[tuple[str, Callable[[], Coroutine[Any, Any, None]]]] = [
        ("run_in_executor", lambda: executor(calls, pool)),
        ("least hand-over", lambda: least(calls, worker)),
        ("inline", lambda: inline(calls)),
    ]
    for loop_name, factory in loops:
        for way, work in ways:
            with asyncio.Runner(loop_factory=factory) as runner:
                runner.run(work())  # warm
                cpu, wall = cpu_s(), time.perf_counter()
                runner.run(work())
                cpu, wall = cpu_s() - cpu, time.perf_counter() - wall
            print(
                f"{loop_name:8} {way:16} {cpu * 1e6 / calls:6.1f} us CPU "
                f"{wall * 1e6 / calls:6.1f} us wall per call"
            )


if __name__ == "__main__":
    main()
