"""SCIM resources in SQL: create, read, replace, delete and search, each inside the caller's
transaction (a ``Connection`` from ``Database.transaction``), so one request is one transaction.

Documents are stored without ``meta``, ``members`` and ``groups``: meta lives in columns, and
memberships are rows, from which both a group's ``members`` and a user's ``groups`` are read.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    ARRAY,
    Connection,
    any_,
    bindparam,
    cast,
    delete,
    insert,
    select,
    update,
)

from harness.protocol.scim import errors
from harness.protocol.scim.schema import ResourceType
from reference_sp import fastsql
from reference_sp.fastsql import Prepared
from reference_sp.scim import groups_column
from reference_sp.scim.groups_column import UserGroups
from reference_sp.scim.index import value_rows
from reference_sp.scim.query import RESOURCE_COLUMNS, Plan
from reference_sp.tables import attribute_values, memberships, resources


@dataclass(frozen=True)
class Member:
    id: str
    type: str  # "User" or "Group"
    display: str | None


@dataclass(frozen=True)
class GroupRef:
    id: str
    display: str | None


@dataclass
class StoredResource:
    pk: int
    id: str
    rtype: str
    doc: dict[str, Any]
    version: int
    created: str
    last_modified: str
    members: list[Member] | None = None  # groups, when loaded
    groups: list[GroupRef] | None = None  # users, when loaded
    extra: dict[str, Any] = field(default_factory=dict)

    def patchable(self) -> dict[str, Any]:
        """The document PATCH operates on: stored attributes plus members for a group."""
        doc: dict[str, Any] = json.loads(json.dumps(self.doc))
        doc["id"] = self.id
        if self.members:
            doc["members"] = [_member_json(m) for m in self.members]
        return doc


def _member_json(member: Member) -> dict[str, Any]:
    out: dict[str, Any] = {"value": member.id, "type": member.type}
    if member.display is not None:
        out["display"] = member.display
    return out


def timestamp(now: datetime) -> str:
    return now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


_COLUMNS = RESOURCE_COLUMNS


# Hot statements are built once, with bind parameters, and run through ``fastsql``: building
# a statement (an alias copies every column) and executing it through SQLAlchemy each cost more
# than SQLite takes to run it.
_MEMBER = resources.alias("member")
_GROUP = resources.alias("grp")
_SELECT_BY_ID = select(*_COLUMNS).where(
    resources.c.id == bindparam("id"),
    resources.c.org_pk == bindparam("org_pk"),
    resources.c.rtype == bindparam("rtype"),
)
_BY_ID = Prepared(_SELECT_BY_ID)
_BY_ID_FOR_UPDATE = Prepared(_SELECT_BY_ID.with_for_update())
# A user with their groups (scim.groups_column); the lock, FOR UPDATE, is on the user's row only.
_SELECT_USER_BY_ID = _SELECT_BY_ID.add_columns(UserGroups())
_USER_BY_ID = Prepared(_SELECT_USER_BY_ID)
_USER_BY_ID_FOR_UPDATE = Prepared(_SELECT_USER_BY_ID.with_for_update())
_MEMBERS_OF = Prepared(
    select(memberships.c.group_pk, _MEMBER.c.id, _MEMBER.c.rtype, memberships.c.display)
    .join(_MEMBER, _MEMBER.c.pk == memberships.c.member_pk)
    .where(memberships.c.group_pk.in_(bindparam("pks", expanding=True)))
    .order_by(memberships.c.group_pk, _MEMBER.c.pk)
)
_MEMBERS_OF_ONE = Prepared(
    select(memberships.c.group_pk, _MEMBER.c.id, _MEMBER.c.rtype, memberships.c.display)
    .join(_MEMBER, _MEMBER.c.pk == memberships.c.member_pk)
    .where(memberships.c.group_pk == bindparam("pk"))
    .order_by(_MEMBER.c.pk)
)
_GROUPS_OF = Prepared(
    select(memberships.c.member_pk, _GROUP.c.id, _GROUP.c.display_name)
    .join(_GROUP, _GROUP.c.pk == memberships.c.group_pk)
    .where(memberships.c.member_pk.in_(bindparam("pks", expanding=True)))
    .order_by(memberships.c.member_pk, _GROUP.c.pk)
)
_GROUPS_OF_ONE = Prepared(
    select(memberships.c.member_pk, _GROUP.c.id, _GROUP.c.display_name)
    .join(_GROUP, _GROUP.c.pk == memberships.c.group_pk)
    .where(memberships.c.member_pk == bindparam("pk"))
    .order_by(_GROUP.c.pk)
)
# A resource deleted: the groups it was a member of move on (their version, so caches see it),
# then its memberships either way, its indexed values and itself.
_TOUCH_GROUPS_OF = Prepared(
    update(resources)
    .where(
        resources.c.pk.in_(
            select(memberships.c.group_pk).where(memberships.c.member_pk == bindparam("pk"))
        )
    )
    .values(version=resources.c.version + 1, last_modified=bindparam("now"))
)
_DELETE_RESOURCE = (
    Prepared(
        delete(memberships).where(
            (memberships.c.member_pk == bindparam("pk"))
            | (memberships.c.group_pk == bindparam("pk"))
        )
    ),
    Prepared(delete(attribute_values).where(attribute_values.c.resource_pk == bindparam("pk"))),
    Prepared(delete(resources).where(resources.c.pk == bindparam("pk"))),
)
_INSERT_RESOURCE = Prepared(
    insert(resources),
    columns=[c.name for c in resources.columns if c.name != "pk"],
)
_UPDATE_RESOURCE_STATEMENT = (
    update(resources)
    .where(resources.c.pk == bindparam("b_pk"))
    .values(
        version=resources.c.version + 1,
        last_modified=bindparam("b_last_modified"),
        doc=bindparam("b_doc"),
        external_id=bindparam("b_external_id"),
        user_name_ci=bindparam("b_user_name_ci"),
        display_name=bindparam("b_display_name"),
        display_name_ci=bindparam("b_display_name_ci"),
    )
    .returning(resources.c.version)
)
_UPDATE_RESOURCE = Prepared(_UPDATE_RESOURCE_STATEMENT)
_DELETE_VALUES_OF = Prepared(
    delete(attribute_values).where(
        attribute_values.c.resource_pk == bindparam("b_pk"),
        attribute_values.c.attr == bindparam("b_attr"),
    )
)
_INSERT_VALUES = fastsql.InsertRows(
    attribute_values, [c.name for c in attribute_values.columns], "values_"
)
# PostgreSQL: the resource's update rewrites the value rows of the attributes that changed in
# the same statement (data-modifying CTEs: one round trip instead of three). The DELETE sees
# the rows as they were before the statement, so it never removes the rows inserted with it.
_VALUES_GONE = delete(attribute_values).where(
    attribute_values.c.resource_pk == bindparam("b_pk"),
    attribute_values.c.attr
    == any_(cast(bindparam("b_attrs"), ARRAY(attribute_values.c.attr.type))),
)
# PostgreSQL: a create inserts the resource and its value rows in one statement, the rows
# taking the new resource's key from the first INSERT's RETURNING.
_NEW_VALUE_COLUMNS = [c.name for c in attribute_values.columns if c.name != "resource_pk"]
_NEW_VALUES = fastsql.JsonRows("values_rows", attribute_values, _NEW_VALUE_COLUMNS)
_CREATED = (
    insert(resources)
    .values({c: bindparam(c) for c in _INSERT_RESOURCE.columns or []})
    .returning(resources.c.pk)
    .cte("created_")
)
_INSERT_RESOURCE_AND_VALUES = Prepared(
    select(_CREATED.c.pk).add_cte(
        insert(attribute_values)
        .from_select(
            ["resource_pk", *_NEW_VALUE_COLUMNS],
            select(_CREATED.c.pk, *_NEW_VALUES.fields)
            .select_from(_CREATED, _NEW_VALUES.source)
            .order_by(_NEW_VALUES.order),
        )
        .cte("created_values_")
    )
)
_UPDATE_RESOURCE_AND_VALUES = Prepared(
    _UPDATE_RESOURCE_STATEMENT.add_cte(_VALUES_GONE.cte("values_gone_")).add_cte(
        _INSERT_VALUES.many_statement.cte("values_added_")
    )
)
_INSERT_MEMBERSHIPS = fastsql.InsertRows(memberships, [c.name for c in memberships.columns])
_USER_NAME_TAKEN = Prepared(
    select(resources.c.pk).where(
        resources.c.org_pk == bindparam("org_pk"),
        resources.c.user_name_ci == bindparam("user_name_ci"),
        resources.c.pk != bindparam("exclude_pk"),
    )
)


def _rows_by_attr(rt: ResourceType, doc: dict[str, Any], pk: int) -> dict[str, list[Any]]:
    grouped: dict[str, list[Any]] = {}
    for row in value_rows(rt, doc, pk):
        grouped.setdefault(row["attr"], []).append(row)
    return grouped


def _from_row(row: Sequence[Any]) -> StoredResource:
    """A row of RESOURCE_COLUMNS, by position (fastsql returns plain tuples), and for a user
    read with them, their groups (``UserGroups``)."""
    pk, resource_id, rtype, doc, version, created, last_modified = row[:7]
    stored = StoredResource(
        pk=pk,
        id=resource_id,
        rtype=rtype,
        doc=json.loads(doc),
        version=version,
        created=created,
        last_modified=last_modified,
    )
    if len(row) > 7:
        stored.groups = [GroupRef(gid, display) for _, gid, display in groups_column.parse(row[7])]
    return stored


def _columns(rt: ResourceType, doc: dict[str, Any]) -> dict[str, Any]:
    columns: dict[str, Any] = {
        "doc": json.dumps(doc, separators=(",", ":")),
        "external_id": doc.get("externalId"),
        "user_name_ci": None,
        "display_name": None,
        "display_name_ci": None,
    }
    if rt.name == "User":
        columns["user_name_ci"] = str(doc["userName"]).lower()
    else:
        columns["display_name"] = doc.get("displayName")
        columns["display_name_ci"] = str(doc.get("displayName", "")).lower()
    return columns


def _update_columns(rt: ResourceType, doc: dict[str, Any]) -> dict[str, Any]:
    return {f"b_{name}": value for name, value in _columns(rt, doc).items()}


def _check_unique(
    conn: Connection,
    org_pk: int,
    rt: ResourceType,
    doc: dict[str, Any],
    exclude_pk: int | None,
) -> None:
    if rt.name != "User":
        return
    params = {
        "org_pk": org_pk,
        "user_name_ci": str(doc["userName"]).lower(),
        "exclude_pk": -1 if exclude_pk is None else exclude_pk,
    }
    if fastsql.fetch_one(conn, _USER_NAME_TAKEN, params) is not None:
        raise errors.uniqueness(f"userName {doc['userName']!r} is already taken")


def _value_changes(
    rt: ResourceType, pk: int, before: dict[str, Any], after: dict[str, Any]
) -> tuple[list[str], list[Any]]:
    """The attributes whose value rows changed, and their new rows: replacing a title must not
    rewrite (and re-index) every email and name part."""
    old_rows, new_rows = _rows_by_attr(rt, before, pk), _rows_by_attr(rt, after, pk)
    changed = [a for a in old_rows.keys() | new_rows.keys() if old_rows.get(a) != new_rows.get(a)]
    return changed, [row for attr in changed for row in new_rows.get(attr, [])]


def _rewrite_values(conn: Connection, changed: list[str], rows: list[Any], pk: int) -> None:
    for attr in changed:
        fastsql.execute(conn, _DELETE_VALUES_OF, {"b_pk": pk, "b_attr": attr})
    fastsql.insert_rows(conn, _INSERT_VALUES, rows)


def _write_values(conn: Connection, rt: ResourceType, pk: int, doc: dict[str, Any]) -> None:
    fastsql.insert_rows(conn, _INSERT_VALUES, value_rows(rt, doc, pk))


class ScimStore:
    def __init__(
        self,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
    ) -> None:
        self.clock = clock
        self.new_id = new_id

    # -- reads ---------------------------------------------------------------------------

    def get(
        self,
        conn: Connection,
        org_pk: int,
        rt: ResourceType,
        resource_id: str,
        *,
        relations: bool = True,
        for_update: bool = False,
    ) -> StoredResource:
        if rt.name == "User" and relations:
            query = _USER_BY_ID_FOR_UPDATE if for_update else _USER_BY_ID
        else:
            query = _BY_ID_FOR_UPDATE if for_update else _BY_ID
        row = fastsql.fetch_one(
            conn, query, {"id": resource_id, "org_pk": org_pk, "rtype": rt.name}
        )
        if row is None:
            raise errors.not_found(f"{rt.name} {resource_id} not found")
        stored = _from_row(row)
        if relations:
            self.load_relations(conn, [stored])
        return stored

    def search(
        self,
        conn: Connection,
        org_pk: int,
        rt: ResourceType,
        plan: Plan,
        parameters: dict[str, Any],
        start_index: int,
        count: int,
        *,
        relations: bool = True,
    ) -> tuple[int, list[StoredResource]]:
        """One page of a planned query, and the total number of matches."""
        params = {**parameters, "org_pk": org_pk, "rtype": rt.name}
        found: list[StoredResource] = []
        if count > 0:
            rows = fastsql.fetch_all(
                conn, plan.rows, {**params, "offset": start_index - 1, "limit": count}
            )
            found = [_from_row(row) for row in rows]
        if start_index == 1 and len(found) < count:
            total_results = len(found)  # the page holds everything: no COUNT query needed
        else:
            total_results = int(fastsql.fetch_all(conn, plan.count, params)[0][0])
        if relations:
            self.load_relations(conn, found)
        return total_results, found

    def load_relations(self, conn: Connection, found: list[StoredResource]) -> None:
        """Members of the groups and groups of the users in ``found``: one query each (users
        read with their groups already are left as they are)."""
        groups = {s.pk: s for s in found if s.rtype == "Group"}
        users = {s.pk: s for s in found if s.rtype == "User" and s.groups is None}
        members_of: dict[int, list[Member]] = {pk: [] for pk in groups}
        groups_of: dict[int, list[GroupRef]] = {pk: [] for pk in users}
        if groups:
            member_rows = (
                fastsql.fetch_all(conn, _MEMBERS_OF_ONE, {"pk": next(iter(groups))})
                if len(groups) == 1
                else fastsql.fetch_all(conn, _MEMBERS_OF, {"pks": list(groups)})
            )
            for group_pk, member_id, rtype, display in member_rows:
                members_of[group_pk].append(Member(member_id, rtype, display))
        if users:
            group_rows = (
                fastsql.fetch_all(conn, _GROUPS_OF_ONE, {"pk": next(iter(users))})
                if len(users) == 1
                else fastsql.fetch_all(conn, _GROUPS_OF, {"pks": list(users)})
            )
            for member_pk, group_id, display in group_rows:
                groups_of[member_pk].append(GroupRef(group_id, display))
        for pk, stored in groups.items():
            stored.members = members_of[pk]
        for pk, stored in users.items():
            stored.groups = groups_of[pk]

    # -- writes --------------------------------------------------------------------------

    def create(
        self, conn: Connection, org_pk: int, rt: ResourceType, doc: dict[str, Any]
    ) -> StoredResource:
        doc = dict(doc)
        members = doc.pop("members", None) if rt.name == "Group" else None
        # A taken userName is found by the unique index (no lookup first): 409 below.
        now = timestamp(self.clock())
        resource_id = self.new_id()
        row = {
            "org_pk": org_pk,
            "rtype": rt.name,
            "id": resource_id,
            "version": 1,
            "created": now,
            "last_modified": now,
            **_columns(rt, doc),
        }
        together = conn.dialect.name == "postgresql"
        try:
            if together:  # the value rows with the resource: one round trip
                values = _NEW_VALUES.params(value_rows(rt, doc, 0))
                pk = int(fastsql.fetch_all(conn, _INSERT_RESOURCE_AND_VALUES, row | values)[0][0])
            else:
                pk = fastsql.insert(conn, _INSERT_RESOURCE, row)
        except fastsql.IntegrityErrors as exc:  # a concurrent create won the race
            raise errors.uniqueness(f"userName {doc.get('userName')!r} is already taken") from exc
        stored = StoredResource(pk, resource_id, rt.name, doc, 1, now, now)
        if not together:
            _write_values(conn, rt, stored.pk, doc)
        if rt.name == "Group":
            stored.members = self._set_members(conn, org_pk, stored.pk, members or [], [])
        else:
            stored.groups = []
        return stored

    def replace(
        self,
        conn: Connection,
        org_pk: int,
        rt: ResourceType,
        current: StoredResource,
        doc: dict[str, Any],
    ) -> StoredResource:
        """Store ``doc`` (which, for a group, carries the full new ``members``) in place of
        ``current``; a no-op replace keeps the version (and so the ETag)."""
        doc = dict(doc)
        doc.pop("id", None)
        members = doc.pop("members", None) if rt.name == "Group" else None
        new_members = members or []
        old_members = current.members or []
        same_members = rt.name != "Group" or {m.id: m.display for m in old_members} == {
            str(m["value"]): m.get("display") for m in new_members
        }
        if doc == current.doc and same_members:
            return current
        if (
            rt.name == "User"
            and str(doc["userName"]).lower() != str(current.doc.get("userName", "")).lower()
        ):
            _check_unique(conn, org_pk, rt, doc, exclude_pk=current.pk)
        now = timestamp(self.clock())
        changed, rows = (
            _value_changes(rt, current.pk, current.doc, doc) if doc != current.doc else ([], [])
        )
        together = bool(changed) and conn.dialect.name == "postgresql"
        params: dict[str, Any] = {"b_pk": current.pk, "b_last_modified": now}
        params |= _update_columns(rt, doc)
        if together:
            params |= _INSERT_VALUES.many_params(rows)
            params["b_attrs"] = changed
        try:
            returned = fastsql.fetch_one(
                conn, _UPDATE_RESOURCE_AND_VALUES if together else _UPDATE_RESOURCE, params
            )
            version = int(returned[0]) if returned is not None else current.version + 1
        except fastsql.IntegrityErrors as exc:
            raise errors.uniqueness(f"userName {doc.get('userName')!r} is already taken") from exc
        if changed and not together:
            _rewrite_values(conn, changed, rows, current.pk)
        updated = StoredResource(
            current.pk, current.id, rt.name, doc, version, current.created, now
        )
        if rt.name == "Group":
            updated.members = self._set_members(conn, org_pk, current.pk, new_members, old_members)
        else:
            updated.groups = current.groups
        return updated

    def delete(self, conn: Connection, org_pk: int, rt: ResourceType, resource_id: str) -> None:
        stored = self.get(conn, org_pk, rt, resource_id, relations=False, for_update=True)
        # Groups that lose a member change too: their version moves so caches see it.
        now = timestamp(self.clock())
        fastsql.execute(conn, _TOUCH_GROUPS_OF, {"pk": stored.pk, "now": now})
        for statement in _DELETE_RESOURCE:
            fastsql.execute(conn, statement, {"pk": stored.pk})

    def _set_members(
        self,
        conn: Connection,
        org_pk: int,
        group_pk: int,
        wanted: list[dict[str, Any]],
        current: list[Member],
    ) -> list[Member]:
        """Make the group's membership rows equal ``wanted``: only the difference is written."""
        wanted_by_id: dict[str, dict[str, Any]] = {}
        for member in wanted:
            wanted_by_id.setdefault(str(member["value"]), member)
        found: dict[str, tuple[int, str]] = {}
        if wanted_by_id:
            rows = conn.execute(
                select(resources.c.id, resources.c.pk, resources.c.rtype).where(
                    resources.c.org_pk == org_pk, resources.c.id.in_(wanted_by_id)
                )
            )
            found = {row.id: (row.pk, row.rtype) for row in rows}
        result: list[Member] = []
        for member_id, member in wanted_by_id.items():
            if member_id not in found:
                raise errors.invalid_value(f"member {member_id!r} does not exist")
            member_pk, rtype = found[member_id]
            declared = member.get("type")
            if declared is not None and str(declared).lower() != rtype.lower():
                raise errors.invalid_value(f"member {member_id!r} is a {rtype}, not {declared}")
            if member_pk == group_pk:
                raise errors.invalid_value("a group cannot be a member of itself")
            result.append(Member(member_id, rtype, member.get("display")))
        old = {m.id: m for m in current}
        gone = [m_id for m_id in old if m_id not in wanted_by_id]
        if gone:
            conn.execute(
                delete(memberships).where(
                    memberships.c.group_pk == group_pk,
                    memberships.c.member_pk.in_(
                        select(resources.c.pk).where(resources.c.id.in_(gone))
                    ),
                )
            )
        added = [m for m in result if m.id not in old]
        if added:
            fastsql.insert_rows(
                conn,
                _INSERT_MEMBERSHIPS,
                [
                    {"group_pk": group_pk, "member_pk": found[m.id][0], "display": m.display}
                    for m in added
                ],
            )
        for m in result:
            if m.id in old and old[m.id].display != m.display:
                conn.execute(
                    update(memberships)
                    .where(
                        memberships.c.group_pk == group_pk,
                        memberships.c.member_pk == found[m.id][0],
                    )
                    .values(display=m.display)
                )
        result.sort(key=lambda m: found[m.id][0])
        return result
