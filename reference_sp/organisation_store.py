"""The organisations of the reference SP as rows, and their SCIM bearer tokens.

Only the SHA-256 of a token is stored. A request's token is hashed and looked up by hash (an
attacker learns nothing from lookup timing about a token they do not have), then compared with
``hmac.compare_digest``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from sqlalchemy import Connection, insert, select, update

from reference_sp.tables import organizations


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


class OrganisationStore:
    def __init__(self) -> None:
        self._by_digest: dict[str, int] = {}

    def ensure(self, conn: Connection, name: str, scim_token: str) -> int:
        """The organisation called ``name``, created or given ``scim_token`` as its token."""
        digest = token_digest(scim_token)
        pk = conn.execute(select(organizations.c.pk).where(organizations.c.name == name)).scalar()
        if pk is None:
            inserted = conn.execute(
                insert(organizations).values(name=name, scim_token_sha256=digest)
            ).inserted_primary_key
            assert inserted is not None
            pk = int(inserted[0])
        else:
            conn.execute(
                update(organizations)
                .where(organizations.c.pk == pk)
                .values(scim_token_sha256=digest)
            )
        self._by_digest = {d: p for d, p in self._by_digest.items() if p != pk}
        self._by_digest[digest] = pk
        return int(pk)

    def by_token(self, conn: Connection, token: str) -> int | None:
        digest = token_digest(token)
        pk = self._by_digest.get(digest)
        if pk is None:
            row = conn.execute(
                select(organizations.c.pk, organizations.c.scim_token_sha256).where(
                    organizations.c.scim_token_sha256 == digest
                )
            ).first()
            if row is None or not hmac.compare_digest(row.scim_token_sha256, digest):
                return None
            pk = int(row.pk)
            self._by_digest[digest] = pk
        return pk

    def name_of(self, conn: Connection, pk: int) -> str:
        return str(
            conn.execute(select(organizations.c.name).where(organizations.c.pk == pk)).scalar_one()
        )
