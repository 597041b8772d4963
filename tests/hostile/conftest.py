"""The SCIM server fixtures of tests/scim (SQLite, and PostgreSQL when configured)."""

from tests.scim.conftest import http, reference_sp, scim

__all__ = ["http", "reference_sp", "scim"]
