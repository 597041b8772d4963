"""The per-organisation SCIM request journal: every request and response, bounded.

The harness's IdP-under-test judge reads it to see exactly what an IdP sent, with the
deviations the server tolerated. Old entries are pruned in batches so pruning costs nothing
per request.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select

from harness.protocol.scim.deviations import Deviation
from reference_sp import fastsql
from reference_sp.fastsql import Prepared
from reference_sp.tables import scim_journal

PRUNE_EVERY = 200  # inserts between two prunes of one organisation's journal
_REDACTED_HEADERS = {"authorization", "cookie"}
_INSERT = Prepared(
    insert(scim_journal), columns=[c.name for c in scim_journal.columns if c.name != "seq"]
)


@dataclass(frozen=True)
class JournalEntry:
    seq: int
    at: str
    method: str
    path: str
    query: str
    request_headers: dict[str, str]
    request_body: str
    status: int
    response_body: str
    deviations: list[dict[str, str]]
    duration_ms: float

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "at": self.at,
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "requestHeaders": self.request_headers,
            "requestBody": self.request_body,
            "status": self.status,
            "responseBody": self.response_body,
            "deviations": self.deviations,
            "durationMs": self.duration_ms,
        }


def redact(headers: dict[str, str]) -> dict[str, str]:
    out = {}
    for name, value in headers.items():
        if name.lower() in _REDACTED_HEADERS:
            scheme = value.split(" ", 1)[0] if " " in value else ""
            out[name] = f"{scheme} [redacted]".strip()
        else:
            out[name] = value
    return out


class Journal:
    def __init__(self, limit: int = 5000) -> None:
        self.limit = limit
        self._since_prune: dict[int | None, int] = {}

    def record(
        self,
        conn: Connection,
        org_pk: int | None,
        *,
        at: str,
        method: str,
        path: str,
        query: str,
        headers: dict[str, str],
        request_body: bytes,
        status: int,
        response_body: bytes,
        deviations: list[Deviation],
        duration_ms: float,
    ) -> None:
        fastsql.execute(
            conn,
            _INSERT,
            {
                "org_pk": org_pk,
                "at": at,
                "method": method,
                "path": path,
                "query": query,
                "request_headers": json.dumps(redact(headers)),
                "request_body": request_body.decode("utf-8", "replace"),
                "status": status,
                "response_body": response_body.decode("utf-8", "replace"),
                "deviations": json.dumps([d.to_json() for d in deviations]),
                "duration_ms": duration_ms,
            },
        )
        count = self._since_prune.get(org_pk, 0) + 1
        if count >= PRUNE_EVERY:
            count = 0
            self._prune(conn, org_pk)
        self._since_prune[org_pk] = count

    def _prune(self, conn: Connection, org_pk: int | None) -> None:
        owner = (
            scim_journal.c.org_pk.is_(None) if org_pk is None else scim_journal.c.org_pk == org_pk
        )
        newest = conn.execute(select(func.max(scim_journal.c.seq)).where(owner)).scalar()
        if newest is not None:
            conn.execute(
                delete(scim_journal).where(owner, scim_journal.c.seq <= newest - self.limit)
            )

    def entries(
        self, conn: Connection, org_pk: int, after: int = 0, limit: int = 1000
    ) -> list[JournalEntry]:
        rows = conn.execute(
            select(scim_journal)
            .where(scim_journal.c.org_pk == org_pk, scim_journal.c.seq > after)
            .order_by(scim_journal.c.seq)
            .limit(limit)
        )
        return [
            JournalEntry(
                seq=row.seq,
                at=row.at,
                method=row.method,
                path=row.path,
                query=row.query,
                request_headers=json.loads(row.request_headers),
                request_body=row.request_body,
                status=row.status,
                response_body=row.response_body,
                deviations=json.loads(row.deviations),
                duration_ms=row.duration_ms,
            )
            for row in rows
        ]
