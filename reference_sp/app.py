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
                Route("/api/scim/journal", self._journal),
                Mount("/scim/v2", routes=self.scim_endpoints.routes()),
            ]
        )

    def close(self) -> None:
        """Release the database (connections, and SQLite's file handles)."""
        self.db.close()

    def add_organization(self, name: str, scim_token: str) -> int:
        """Create (or re-key) an organisation; its SCIM clients authenticate with the token."""
        with self.db.transaction() as conn:
            return self.orgs.ensure(conn, name, scim_token)

    def scim_journal(self, org_pk: int, after: int = 0, limit: int = 1000) -> list[JournalEntry]:
        with self.db.transaction() as conn:
            return self.journal.entries(conn, org_pk, after, limit)

    async def _healthz(self, request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def _journal(self, request: Request) -> Response:
        """The calling organisation's SCIM journal (its SCIM bearer token), oldest first:
        ``?after=SEQ`` continues from an entry, ``?limit=N`` (at most 1000) bounds the page."""
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        try:
            after = int(request.query_params.get("after", "0"))
            limit = min(max(1, int(request.query_params.get("limit", "1000"))), 1000)
        except ValueError:
            return JSONResponse({"error": "after and limit must be integers"}, status_code=400)
        with self.db.transaction() as conn:
            org_pk = self.orgs.by_token(conn, token.strip()) if scheme.lower() == "bearer" else None
            if org_pk is None:
                return JSONResponse(
                    {"error": "a valid SCIM bearer token is required"},
                    status_code=401,
                    headers={"WWW-Authenticate": 'Bearer realm="SCIM"'},
                )
            entries = self.journal.entries(conn, org_pk, after, limit)
        return JSONResponse({"entries": [e.to_json() for e in entries]})
