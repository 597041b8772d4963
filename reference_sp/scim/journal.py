"""The per-organisation SCIM request journal: every request and response, bounded.

The harness's IdP-under-test judge reads it to see exactly what an IdP sent, with the
deviations the server tolerated. Old entries are pruned in batches so pruning costs nothing
per request.

The entry of a request that writes is inserted in the request's own transaction, so it commits
with the write. The entries of reads (GET, .search) are held in memory and written in batches
of ``HELD_BATCH``, or sooner by the next write or read of the journal, so every entry is
there, in order, for whoever reads the journal: a read then costs no write transaction. A
process killed outright loses the reads it held (at most ``HELD_BATCH`` entries); while the
database takes no writes, reads are still answered and at most ``MAX_HELD`` entries wait.

Secrets are never stored: the Authorization and Cookie headers keep only their scheme, and every
``password`` in a body (Okta sends one with each create) is replaced by ``[redacted]``, at any
depth and in any case, including the ``value`` of a PATCH operation whose ``path`` names it. A
body that is not JSON cannot be redacted by structure: when it mentions a password it is
withheld whole. NUL characters (which PostgreSQL's text refuses) are stored escaped.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, func, select

from harness.protocol.scim.deviations import Deviation
from reference_sp import fastsql
from reference_sp.tables import scim_journal

PRUNE_EVERY = 200  # inserts between two prunes of one organisation's journal
HELD_BATCH = 64  # entries of reads held in memory before they are written
# While the database takes no writes, at most this many wait; older ones are dropped.
MAX_HELD = 16 * HELD_BATCH
_REDACTED_HEADERS = {"authorization", "cookie"}
REDACTED = "[redacted]"
_SECRET_NAME = "password"  # noqa: S105 - the attribute name, not a password
# A PATCH path naming the password: ``password`` or ``urn:...:User:password``, any case.
_SECRET_PATH = re.compile(r"(?:^|:)password$", re.IGNORECASE)
_MENTIONS_SECRET = re.compile(r"password", re.IGNORECASE)
_INSERT = fastsql.InsertRows(
    scim_journal, [c.name for c in scim_journal.columns if c.name != "seq"]
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


def redact_body(body: bytes) -> str:
    """The body as stored: every password replaced (see the module docstring)."""
    text = body.decode("utf-8", "replace")
    if not text:
        return text
    if "\\u" not in text and not _MENTIONS_SECRET.search(text):
        # Nothing that names a password, even through a JSON escape: stored as sent, without
        # parsing it (most bodies).
        return _escape_nul(text)
    try:
        # Depth is bounded by the limits of json.loads: a body nested too deeply raises
        # RecursionError, like any body that is not JSON.
        document = json.loads(text)
    except (ValueError, RecursionError):
        if _MENTIONS_SECRET.search(text):
            return f"[withheld: {len(body)} bytes that are not JSON and mention a password]"
        return _escape_nul(text)
    redacted, changed = _redact(document)
    if not changed:
        return _escape_nul(text)  # exactly what was sent
    try:
        out = json.dumps(redacted, ensure_ascii=False, separators=(",", ":"))
    except (ValueError, RecursionError):  # NaN, or a stack deeper here than when parsed
        return f"[withheld: {len(body)} bytes holding a password that could not be redacted]"
    return out.encode("utf-8", "backslashreplace").decode("utf-8")  # lone surrogates escaped


def _redact(document: Any) -> tuple[Any, bool]:
    """``document`` with its secrets replaced, and whether there was any. Iterative: a body
    may be nested as deeply as json.loads allows."""
    changed = False
    root: list[Any] = [document]
    stack: list[tuple[Any, Any]] = [(root, 0)]
    while stack:
        container, key = stack.pop()
        value = container[key]
        if isinstance(value, dict):
            value = dict(value)
            container[key] = value
            names_secret = isinstance(value.get("path"), str) and _SECRET_PATH.search(
                value["path"].strip()
            )
            for name in value:
                if name.lower() == _SECRET_NAME or (names_secret and name.lower() == "value"):
                    value[name] = REDACTED
                    changed = True
                else:
                    stack.append((value, name))
        elif isinstance(value, list):
            value = list(value)
            container[key] = value
            stack.extend((value, i) for i in range(len(value)))
    return root[0], changed


def _escape_nul(text: str) -> str:
    return text.replace("\x00", "\\u0000")


Row = dict[str, Any]


class Journal:
    def __init__(self, limit: int = 5000) -> None:
        self.limit = limit
        self._since_prune: dict[int | None, int] = {}
        self._held: list[Row] = []
        self._lock = threading.Lock()  # requests run on several threads (PostgreSQL)

    @staticmethod
    def entry(
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
    ) -> Row:
        """One request and its answer as the journal stores them: secrets redacted."""
        return {
            "org_pk": org_pk,
            "at": at,
            "method": method,
            "path": _escape_nul(path),
            "query": _escape_nul(query),
            "request_headers": json.dumps(redact(headers)),
            "request_body": redact_body(request_body),
            "status": status,
            "response_body": redact_body(response_body),
            "deviations": json.dumps([d.to_json() for d in deviations]),
            "duration_ms": duration_ms,
        }

    def hold(self, row: Row) -> bool:
        """Keep a read's entry in memory; whether a batch is due (then ``write_held``)."""
        with self._lock:
            self._held.append(row)
            del self._held[: max(0, len(self._held) - MAX_HELD)]
            return len(self._held) >= HELD_BATCH

    def write(self, conn: Connection, row: Row | None = None) -> list[Row]:
        """Insert the held entries, then ``row``, in the caller's transaction. Returns the held
        entries taken: should the transaction not commit, ``give_back`` them."""
        with self._lock:
            taken, self._held = self._held, []
        rows = [*taken, row] if row is not None else taken
        if rows:
            fastsql.insert_rows(conn, _INSERT, rows)
            self._count(conn, rows)
        return taken

    def give_back(self, taken: list[Row]) -> None:
        """Held entries whose transaction rolled back: held again, ahead of newer ones."""
        if taken:
            with self._lock:
                self._held[:0] = taken
                del self._held[: max(0, len(self._held) - MAX_HELD)]

    def held(self) -> int:
        with self._lock:
            return len(self._held)

    def _count(self, conn: Connection, rows: list[Row]) -> None:
        for org_pk in {row["org_pk"] for row in rows}:
            count = self._since_prune.get(org_pk, 0) + sum(r["org_pk"] == org_pk for r in rows)
            if count >= PRUNE_EVERY:
                count = 0
                self._prune(conn, org_pk)
            self._since_prune[org_pk] = count

    def record(self, conn: Connection, org_pk: int | None, **fields: Any) -> None:
        """Insert one entry now (after the held ones), in the caller's transaction."""
        self.write(conn, self.entry(org_pk, **fields))

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
        """The organisation's entries after ``after``, oldest first; held ones written first
        (``conn``'s transaction must be able to write)."""
        self.write(conn)
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
