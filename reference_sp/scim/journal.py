"""The per-organisation SCIM request journal: every request and response, bounded.

The harness's IdP-under-test judge reads it to see exactly what an IdP sent, with the
deviations the server tolerated. Old entries are pruned in batches so pruning costs nothing
per request.

Secrets are never stored: the Authorization and Cookie headers keep only their scheme, and every
``password`` in a body (Okta sends one with each create) is replaced by ``[redacted]``, at any
depth and in any case, including the ``value`` of a PATCH operation whose ``path`` names it. A
body that is not JSON cannot be redacted by structure: when it mentions a password it is
withheld whole. NUL characters (which PostgreSQL's text refuses) are stored escaped.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select

from harness.protocol.scim.deviations import Deviation
from reference_sp import fastsql
from reference_sp.fastsql import Prepared
from reference_sp.tables import scim_journal

PRUNE_EVERY = 200  # inserts between two prunes of one organisation's journal
_REDACTED_HEADERS = {"authorization", "cookie"}
REDACTED = "[redacted]"
_SECRET_NAME = "password"  # noqa: S105 - the attribute name, not a password
# A PATCH path naming the password: ``password`` or ``urn:...:User:password``, any case.
_SECRET_PATH = re.compile(r"(?:^|:)password$", re.IGNORECASE)
_MENTIONS_SECRET = re.compile(r"password", re.IGNORECASE)
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


def redact_body(body: bytes) -> str:
    """The body as stored: every password replaced (see the module docstring)."""
    text = body.decode("utf-8", "replace")
    if not text:
        return text
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
                "path": _escape_nul(path),
                "query": _escape_nul(query),
                "request_headers": json.dumps(redact(headers)),
                "request_body": redact_body(request_body),
                "status": status,
                "response_body": redact_body(response_body),
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
