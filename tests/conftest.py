"""Running the tests on several cores (``pytest -n 2``, as tox does): each worker keeps its own
data directory (the keys ``sso-harness`` creates there on first use), and every test that
writes to the one PostgreSQL test database runs on the same worker (``--dist loadgroup``), so no
two of them drop or create its tables at once."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

_WORKER = os.environ.get("PYTEST_XDIST_WORKER")
if _WORKER and os.environ.get("SSO_HARNESS_HOME"):
    os.environ["SSO_HARNESS_HOME"] = str(Path(os.environ["SSO_HARNESS_HOME"]) / _WORKER)


def _uses_postgresql(item: pytest.Item) -> bool:
    return "postgresql" in item.nodeid or "test_database.py" in item.nodeid


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if _uses_postgresql(item):
            item.add_marker(pytest.mark.xdist_group("postgresql"))
