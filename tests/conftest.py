"""Running the tests on several cores (``pytest -n 2``, as tox does): each worker keeps its own
data directory (the keys ``sso-harness`` creates there on first use) and its own schema of the
PostgreSQL test database, so no two workers create or drop the same tables at once.

Runs at import, before the fixtures that read ``SSO_HARNESS_TEST_PG``.
"""

from __future__ import annotations

import os
from pathlib import Path

_WORKER = os.environ.get("PYTEST_XDIST_WORKER")


def _own_schema(url: str, worker: str) -> str:
    """``url`` with the worker's own schema first on its search path (created if missing)."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{worker}"')
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}options=-csearch_path%3D{worker}"


if _WORKER:
    if os.environ.get("SSO_HARNESS_HOME"):
        os.environ["SSO_HARNESS_HOME"] = str(Path(os.environ["SSO_HARNESS_HOME"]) / _WORKER)
    if os.environ.get("SSO_HARNESS_TEST_PG"):
        os.environ["SSO_HARNESS_TEST_PG"] = _own_schema(os.environ["SSO_HARNESS_TEST_PG"], _WORKER)
