"""In-memory databases for the reference SPs of in-process worlds, emptied and lent again.

Every scenario opens a world with a new reference SP. A new in-memory database each time costs
its engine, its schema and, above all, SQLAlchemy's cache of compiled statements, which lives on
the engine: every statement of every scenario would be compiled again (a tenth of a default
run). An engine lent here is emptied of every row when its world closes, which leaves it as a
new database, and then lent to the next world.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine

from reference_sp.db import delete_all_rows, make_engine

_free: list[Engine] = []
_lock = threading.Lock()  # worlds may be opened from several threads (the pytest plugin)


@contextmanager
def lent_database() -> Iterator[Engine]:
    """An empty in-memory database, for as long as the block runs."""
    with _lock:
        engine = _free.pop() if _free else None
    if engine is None:
        engine = make_engine("sqlite://")
    try:
        yield engine
    finally:
        try:
            delete_all_rows(engine)
        except Exception:  # not known to be empty: never lent again, the next world makes one
            engine.dispose()
        else:
            with _lock:
                _free.append(engine)
