"""The reference SP as one object: its store, its organisations and its Starlette app.

``ReferenceSP`` is also the Python API the harness drives in-process (no HTTP needed there).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

from reference_sp.db import Database, make_engine
from reference_sp.orgs import Organizations
from reference_sp.scim.journal import Journal, JournalEntry
from reference_sp.scim.routes import ScimEndpoints
from reference_sp.scim.service import ScimService
from reference_sp.scim.store import ScimStore

DEFAULT_ORGANIZATION = "default"


@dataclass(frozen=True)
class Settings:
    db_url: str | None = None  # None: an SQLite file under the data directory
    journal_limit: int = 5000  # entries kept per organisation


class ReferenceSP:
    def __init__(
        self,
        settings: Settings | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.settings = settings or Settings()
        self.clock = clock
        self.db = Database(make_engine(self.settings.db_url))
        self.orgs = Organizations()
        self.store = ScimStore(clock=clock)
        self.journal = Journal(limit=self.settings.journal_limit)
        self.scim = ScimService(self.store, self.db.engine.dialect.name)
        self.scim_endpoints = ScimEndpoints(self.db, self.orgs, self.scim, self.journal, clock)
        self.app = Starlette(
            routes=[
                Route("/healthz", self._healthz),
                Mount("/scim/v2", routes=self.scim_endpoints.routes()),
            ]
        )

    def add_organization(self, name: str, scim_token: str) -> int:
        """Create (or re-key) an organisation; its SCIM clients authenticate with the token."""
        with self.db.transaction() as conn:
            return self.orgs.ensure(conn, name, scim_token)

    def scim_journal(self, org_pk: int, after: int = 0, limit: int = 1000) -> list[JournalEntry]:
        with self.db.transaction() as conn:
            return self.journal.entries(conn, org_pk, after, limit)

    async def _healthz(self, request: Request) -> Response:
        return JSONResponse({"status": "ok"})
