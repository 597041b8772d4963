"""A user's groups read in the same statement as the user: a correlated subquery that gathers
them into one JSON array of ``[pk, id, display name]``, so a filter by userName or a PATCH reads
the user and their groups in one round trip instead of two.

The array's order is not relied on (SQLite before 3.44 has no ordered aggregate): the store
sorts the groups by their key, the order the separate query gave them.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Text, cast, func, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ColumnElement

from reference_sp.tables import memberships, resources

_GROUP = resources.alias("grp")


class UserGroups(ColumnElement[str]):
    """The groups of the row's user (``resources.pk``) as JSON text; NULL or ``[]`` for none."""

    inherit_cache = True
    type = Text()


def _subquery(aggregate: Any, entry: Any) -> Any:
    return (
        select(aggregate(entry))
        .select_from(memberships.join(_GROUP, _GROUP.c.pk == memberships.c.group_pk))
        .where(memberships.c.member_pk == resources.c.pk)
        .scalar_subquery()
    )


@compiles(UserGroups, "postgresql")
def _postgresql(element: UserGroups, compiler: Any, **kw: Any) -> str:
    entry = func.json_build_array(_GROUP.c.pk, _GROUP.c.id, _GROUP.c.display_name)
    subquery = _subquery(lambda e: cast(func.json_agg(e), Text), entry)
    return str(compiler.process(subquery, **kw))


@compiles(UserGroups, "sqlite")
def _sqlite(element: UserGroups, compiler: Any, **kw: Any) -> str:
    entry = func.json_array(_GROUP.c.pk, _GROUP.c.id, _GROUP.c.display_name)
    return str(compiler.process(_subquery(func.json_group_array, entry), **kw))


def parse(text: str | None) -> list[tuple[int, str, str | None]]:
    """The column's groups, in the order of their keys."""
    if not text:
        return []
    return sorted((int(pk), str(gid), display) for pk, gid, display in json.loads(text))
