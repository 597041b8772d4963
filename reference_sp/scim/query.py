"""SCIM filters and sortBy compiled to SQL (RFC 7644 §3.4.2.2, §3.4.2.3).

A filter is resolved against the schema first (canonical names, types, case rules), then every
comparison becomes an indexed condition: on a dedicated column (id, externalId, userName, group
displayName, meta times), on ``attribute_values`` rows through EXISTS, or on ``memberships``.
The semantics are those of ``harness.protocol.scim.filter.evaluate`` (the reference evaluator);
a property test checks that both agree on generated users and filters.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import (
    ColumnElement,
    and_,
    bindparam,
    exists,
    func,
    literal,
    not_,
    or_,
    select,
    true,
)

from harness.protocol.scim import errors
from harness.protocol.scim.filter import (
    And,
    AttrPath,
    Compare,
    Filter,
    Not,
    Or,
    Present,
    ValuePath,
    parse_filter,
    resolve_filter,
)
from harness.protocol.scim.schema import Attribute, ResolvedAttribute, ResourceType
from reference_sp.fastsql import Prepared
from reference_sp.scim.filter_shapes import KnownShapes
from reference_sp.scim.groups_column import UserGroups
from reference_sp.scim.index import sortable_datetime
from reference_sp.tables import attribute_values, memberships, resources

# The columns a list query reads; the store turns each row into a StoredResource.
RESOURCE_COLUMNS = (
    resources.c.pk,
    resources.c.id,
    resources.c.rtype,
    resources.c.doc,
    resources.c.version,
    resources.c.created,
    resources.c.last_modified,
)

Kind = Literal["ci", "exact", "datetime", "boolean", "number"]


def _kind(attribute: Attribute) -> Kind:
    if attribute.type == "boolean":
        return "boolean"
    if attribute.type in ("integer", "decimal"):
        return "number"
    if attribute.type == "dateTime":
        return "datetime"
    return "exact" if attribute.case_exact else "ci"


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def operand(kind: Kind, op: str, value: Any) -> Any:
    """A filter literal in the form its column holds (lower-cased, normalised dateTime, float,
    "true"/"false"), as a LIKE pattern for co/sw/ew."""
    if kind == "boolean":
        return "true" if value else "false"
    if kind == "number":
        return float(value)
    if kind == "datetime":
        return sortable_datetime(str(value))
    text = str(value).lower() if kind == "ci" else str(value)
    if op in ("co", "sw", "ew"):
        escaped = _escape_like(text)
        return {"co": f"%{escaped}%", "sw": f"{escaped}%", "ew": f"%{escaped}"}[op]
    return text


@dataclass(frozen=True)
class _Slot:
    """Stands for the n-th literal of a filter in a planned (cached) query."""

    index: int


class FilterCompiler:
    """Compiles resolved filters for one resource type; ``dialect`` picks text collation.

    Every attribute is a *source* of values (a column, ``attribute_values`` rows, or membership
    rows), and every rule of the reference evaluator is written once over ``exists_value``:
    whether the source has a present value satisfying a condition. NOT over such terms is safe
    in SQL: none of them is ever NULL.
    """

    def __init__(self, rt: ResourceType, dialect: str, user_name_kind: Kind = "ci") -> None:
        self.rt = rt
        self.dialect = dialect
        self.user_name_kind = user_name_kind  # "exact": the scim-username-case-sensitive flaw
        self.slots: dict[int, tuple[Kind, str]] = {}  # planned value -> (kind, operator)

    def where(self, text: str) -> ColumnElement[bool]:
        return self.compile(resolve_filter(parse_filter(text), self.rt))

    def compile(self, f: Filter, element: _Element | None = None) -> ColumnElement[bool]:
        if isinstance(f, And):
            return self._conjunction(f, element)
        if isinstance(f, Or):
            return or_(self.compile(f.left, element), self.compile(f.right, element))
        if isinstance(f, Not):
            return not_(self.compile(f.inner, element))
        if isinstance(f, ValuePath):
            if element is not None:
                raise errors.invalid_filter("a value filter cannot nest another value filter")
            return self._value_path(f)
        source = element.source(f.path.attr) if element else self._source(f.path)
        if isinstance(f, Present):
            return source.exists_value(None)
        return self._compare(source, f)

    def _conjunction(self, f: And, element: _Element | None) -> ColumnElement[bool]:
        """``a and b and ...``, with the ``ne`` comparisons on one single-valued attribute
        merged into one condition: ``x ne "a" and x ne "b"`` is "x has no value in (a, b)",
        one subquery where a comparison each cost two per row (a 99-term ``ne`` chain took
        20 s on 25k users)."""
        terms: list[Filter] = []
        pending: list[Filter] = [f]
        while pending:  # flatten the left-leaning chain, keeping the order
            term = pending.pop()
            if isinstance(term, And):
                pending.extend((term.right, term.left))
            else:
                terms.append(term)
        conditions: list[ColumnElement[bool]] = []
        excluded: dict[str, tuple[_Source, list[Any]]] = {}  # path -> source, values
        for term in terms:
            if (
                element is None
                and isinstance(term, Compare)
                and term.op == "ne"
                and term.value is not None
            ):
                source = self._source(term.path)
                if source.single_valued:
                    merged = excluded.setdefault(str(term.path), (source, []))
                    merged[1].append(self._operand(source, term))
                    continue
            conditions.append(self.compile(term, element))
        for source, values in excluded.values():
            # Rules 4/5 on a single value: "ne" is "no value equal to it", absent included.
            conditions.append(not_(source.exists_value(_in_list(values))))
        return and_(*conditions)

    def _operand(self, source: _Source, f: Compare) -> Any:
        """The comparison's value as bound in SQL (a parameter in a planned query)."""
        if isinstance(f.value, _Slot):  # a planned query: the value arrives at execution
            self.slots[f.value.index] = (source.kind, f.op)
            return bindparam(f"v{f.value.index}")
        return operand(source.kind, f.op, f.value)

    def _compare(self, source: _Source, f: Compare) -> ColumnElement[bool]:
        if f.value is None:  # rule 4: eq null is "not present", ne null is "present"
            present = source.exists_value(None)
            return present if f.op == "ne" else not_(present)
        kind = source.kind
        value = self._operand(source, f)
        if f.op == "ne" and source.single_valued:  # rule 4/5 on one value: not equal to it
            return not_(source.exists_value(lambda col: col == value))
        if f.op == "ne":  # rule 4/5: some value differs, or there is no value at all
            return or_(
                source.exists_value(lambda col: col != value),
                not_(source.exists_value(None)),
            )
        return source.exists_value(lambda col: self._condition(col, kind, f.op, value))

    def _condition(self, col: Any, kind: Kind, op: str, value: Any) -> ColumnElement[bool]:
        if op == "eq":
            return col == value  # type: ignore[no-any-return]
        if op in ("co", "sw", "ew"):
            return col.like(value, escape="\\")  # type: ignore[no-any-return]
        if kind in ("ci", "exact") and self.dialect == "postgresql":
            col = col.collate("C")  # code-point order, as SQLite's BINARY and Python compare
        comparisons = {
            "gt": col.__gt__,
            "ge": col.__ge__,
            "lt": col.__lt__,
            "le": col.__le__,
        }
        if op not in comparisons:
            raise errors.invalid_filter(f"unknown operator {op!r}")
        return comparisons[op](value)  # type: ignore[no-any-return]

    # -- sources -------------------------------------------------------------------------

    def _source(self, path: AttrPath) -> _Source:
        if path.urn is None and path.attr == "schemas":
            return _ValueRows("schemas", "", "ci")
        resolved = self.rt.resolve(path.attr, path.sub, path.urn)
        if resolved is None:  # resolve_filter already refused unknown names
            raise errors.invalid_filter(f"unknown attribute '{path}'")
        name = resolved.attribute.name
        if resolved.is_core and name in ("members", "groups"):
            sub_name = resolved.sub_attribute.name if resolved.sub_attribute else ""
            return _RelationSource(_Relation(name), sub_name)
        column = self._column_of(resolved)
        if column is not None:
            return column
        sub = resolved.sub_attribute
        attr_key = resolved.dotted.rsplit(".", 1)[0] if sub else resolved.dotted
        # A complex attribute without a sub-attribute (only ``pr`` reaches here) is present
        # when any of its sub-attributes is.
        value_sub = sub.name if sub else (None if resolved.attribute.is_complex else "")
        rows = _ValueRows(attr_key, value_sub, _kind(resolved.target))
        rows.single_valued = not resolved.attribute.multi_valued and not (
            sub is not None and sub.multi_valued
        )
        return rows

    def _column_of(self, resolved: ResolvedAttribute) -> _Column | None:
        if not resolved.is_core:
            return None
        name = resolved.attribute.name
        sub = resolved.sub_attribute.name if resolved.sub_attribute else None
        if name == "id":
            return _Column(resources.c.id, "exact")
        if name == "externalId":
            return _Column(resources.c.external_id, "exact")
        if name == "userName" and self.rt.name == "User":
            return _Column(resources.c.user_name_ci, self.user_name_kind)
        if name == "displayName" and self.rt.name == "Group":
            return _Column(resources.c.display_name_ci, "ci")
        if name == "meta":
            if sub == "created":
                return _Column(resources.c.created, "datetime")
            if sub == "lastModified":
                return _Column(resources.c.last_modified, "datetime")
            if sub == "resourceType":
                return _Column(literal(self.rt.name), "exact")
            raise errors.invalid_filter(f"meta.{sub} cannot be filtered on")
        return None

    def _value_path(self, f: ValuePath) -> ColumnElement[bool]:
        """Rule 9: one element satisfies the whole inner filter."""
        resolved = self.rt.resolve(f.path.attr, None, f.path.urn)
        if resolved is None:
            raise errors.invalid_filter(f"unknown attribute '{f.path}'")
        if resolved.is_core and resolved.attribute.name in ("members", "groups"):
            relation = _Relation(resolved.attribute.name)
            return relation.exists(lambda: self.compile(f.filter, relation))
        element = _ElementRows(resolved)
        return exists(
            select(element.rows.c.elem).where(
                element.rows.c.resource_pk == resources.c.pk,
                element.rows.c.attr == resolved.dotted,
                self.compile(f.filter, element),
            )
        )

    # -- sorting -------------------------------------------------------------------------

    def order_by(self, sort_by: str | None, descending: bool) -> list[Any]:
        """ORDER BY terms for ``sortBy``; resources without a value sort last either way, and
        the caller adds the primary key so the order is total and stable across pages."""
        if not sort_by:
            return []
        urn, rest = self.rt.split_urn(sort_by)
        attr, _, sub = rest.partition(".")
        resolved = self.rt.resolve(attr, sub or None, urn)
        if resolved is None:
            raise errors.invalid_value(f"sortBy names an unknown attribute {sort_by!r}")
        if resolved.is_core and resolved.attribute.name in ("members", "groups"):
            raise errors.invalid_value(f"sorting by {resolved.attribute.name} is not supported")
        column = self._column_of(resolved)
        key: Any
        if column is not None:
            key = column.column
            if self.dialect == "postgresql" and column.kind in ("ci", "exact"):
                key = key.collate("C")
        else:
            key = self._sort_value(resolved)
        ordered = key.desc() if descending else key.asc()
        return [ordered.nulls_last()]

    def _sort_value(self, resolved: ResolvedAttribute) -> Any:
        attribute = resolved.attribute
        target = resolved.target
        sub_name = resolved.sub_attribute.name if resolved.sub_attribute else ""
        if attribute.is_complex and resolved.sub_attribute is None:
            if attribute.sub("value") is None:
                raise errors.invalid_value(f"cannot sort by the complex {attribute.name}")
            target = attribute.sub("value") or target
            sub_name = "value"
        attr_key = resolved.dotted.rsplit(".", 1)[0] if resolved.sub_attribute else resolved.dotted
        kind = _kind(target)
        v = attribute_values.alias()
        primary = attribute_values.alias()
        value_column = {"number": v.c.v_num, "ci": v.c.v_ci}.get(kind, v.c.v_exact)
        query = select(value_column).where(
            v.c.resource_pk == resources.c.pk, v.c.attr == attr_key, v.c.sub == sub_name
        )
        if attribute.multi_valued and attribute.sub("primary") is not None:
            # RFC 7644 §3.4.2.3: a multi-valued attribute sorts by its primary value, else
            # by its first.
            is_primary = exists(
                select(primary.c.elem).where(
                    primary.c.resource_pk == v.c.resource_pk,
                    primary.c.attr == v.c.attr,
                    primary.c.elem == v.c.elem,
                    primary.c.sub == "primary",
                    primary.c.v_exact == "true",
                )
            )
            query = query.order_by(is_primary.desc())
        return query.order_by(v.c.elem).limit(1).scalar_subquery()


Condition = Callable[[Any], ColumnElement[bool]] | None


class _Source:
    kind: Kind
    single_valued = False  # at most one present value per resource

    def exists_value(self, condition: Condition) -> ColumnElement[bool]:
        raise NotImplementedError


class _Column(_Source):
    """A single-valued attribute kept in a column (lower-cased already when ``ci``)."""

    single_valued = True

    def __init__(self, column: ColumnElement[Any], kind: Kind, lower: bool = False) -> None:
        self.column = column
        self.kind = kind
        self.lower = lower  # lower-case the column in SQL (it holds the value as given)

    def exists_value(self, condition: Condition) -> ColumnElement[bool]:
        col: Any = func.lower(self.column) if self.lower else self.column
        present = and_(self.column.is_not(None), self.column != "")
        return present if condition is None else and_(present, condition(col))


class _ValueRows(_Source):
    """Values in ``attribute_values``, optionally restricted to one element's rows."""

    def __init__(self, attr: str, sub: str | None, kind: Kind, element: Any | None = None) -> None:
        self.attr, self.sub, self.kind, self.element = attr, sub, kind, element

    def exists_value(self, condition: Condition) -> ColumnElement[bool]:
        v = attribute_values.alias()
        column = {"number": v.c.v_num, "ci": v.c.v_ci}.get(self.kind, v.c.v_exact)
        # Inside ``attr[...]`` the row's own element (and through it, its resource) anchors
        # the subquery: correlation to ``resources`` reaches one level only.
        owner = self.element.c.resource_pk if self.element is not None else resources.c.pk
        conditions = [v.c.resource_pk == owner, v.c.attr == self.attr, _present_value(v)]
        if self.sub is not None:
            conditions.append(v.c.sub == self.sub)
        if self.element is not None:
            conditions.append(v.c.elem == self.element.c.elem)
        if condition is not None:
            conditions.append(condition(column))
        return exists(select(v.c.elem).where(*conditions))


class _Element:
    """The context inside ``attr[...]``: sub-attribute names resolve against one element."""

    def source(self, sub: str) -> _Source:
        raise NotImplementedError


class _ElementRows(_Element):
    def __init__(self, resolved: ResolvedAttribute) -> None:
        self.resolved = resolved
        self.rows = attribute_values.alias()

    def source(self, sub: str) -> _Source:
        attribute = self.resolved.attribute.sub(sub)
        if attribute is None:
            raise errors.invalid_filter(f"unknown sub-attribute {sub!r}")
        return _ValueRows(self.resolved.dotted, attribute.name, _kind(attribute), self.rows)


class _Relation(_Element):
    """Membership rows seen from a group (``members``) or from a user (``groups``); each row is
    one element, whose sub-attributes are columns of the row and of the other resource."""

    def __init__(self, name: str) -> None:
        self.other = resources.alias()
        self.m = memberships.alias()
        if name == "members":
            self.link = self.m.c.group_pk == resources.c.pk
            self.join_on = self.other.c.pk == self.m.c.member_pk
            display: ColumnElement[Any] = self.m.c.display
            kind_column: ColumnElement[Any] = self.other.c.rtype
        else:
            self.link = self.m.c.member_pk == resources.c.pk
            self.join_on = self.other.c.pk == self.m.c.group_pk
            display = self.other.c.display_name
            kind_column = literal("direct")
        self.columns = {
            "value": _Column(self.other.c.id, "ci", lower=True),
            "display": _Column(display, "ci", lower=True),
            "type": _Column(kind_column, "ci", lower=True),
        }

    def source(self, sub: str) -> _Source:
        if sub not in self.columns:
            raise errors.invalid_filter(f"{sub} cannot be filtered on")
        return self.columns[sub]

    def exists(self, condition: Callable[[], ColumnElement[bool]]) -> ColumnElement[bool]:
        return exists(
            select(self.m.c.group_pk).join(self.other, self.join_on).where(self.link, condition())
        )


class _RelationSource(_Source):
    """``members.value``-style paths outside ``[...]``: any membership row's column."""

    def __init__(self, relation: _Relation, sub: str) -> None:
        self.relation = relation
        self.sub = sub
        self.kind = "ci"

    def exists_value(self, condition: Condition) -> ColumnElement[bool]:
        if not self.sub:
            return self.relation.exists(true)
        column = self.relation.source(self.sub)
        return self.relation.exists(lambda: column.exists_value(condition))


def _in_list(values: list[Any]) -> Condition:
    def condition(col: Any) -> ColumnElement[bool]:
        return col.in_(values)  # type: ignore[no-any-return]

    return condition


def _present_value(v: Any) -> ColumnElement[bool]:
    return or_(and_(v.c.v_exact.is_not(None), v.c.v_exact != ""), v.c.v_num.is_not(None))


def _parsed_shape(text: str, rt: ResourceType, values: list[Any]) -> Filter:
    """The filter ``text`` parsed, resolved against ``rt``'s schema and parametrised."""
    return _parametrised(resolve_filter(parse_filter(text), rt), values)


def _parametrised(f: Filter, values: list[Any]) -> Filter:
    """``f`` with each non-null literal replaced by a slot (its value appended to ``values``):
    filters that differ only in their literals share one planned query."""
    if isinstance(f, And):
        return And(_parametrised(f.left, values), _parametrised(f.right, values))
    if isinstance(f, Or):
        return Or(_parametrised(f.left, values), _parametrised(f.right, values))
    if isinstance(f, Not):
        return Not(_parametrised(f.inner, values))
    if isinstance(f, ValuePath):
        return ValuePath(f.path, _parametrised(f.filter, values))
    if isinstance(f, Compare) and f.value is not None:
        values.append(f.value)
        return Compare(f.path, f.op, _Slot(len(values) - 1))  # type: ignore[arg-type]
    return f


@dataclass(frozen=True)
class Plan:
    """A list query built once and run with parameters: ``org_pk``, ``rtype``, ``offset``,
    ``limit`` and one ``vN`` per filter literal."""

    rows: Prepared
    count: Prepared
    slots: tuple[tuple[Kind, str], ...]

    def parameters(self, values: list[Any]) -> dict[str, Any]:
        return {f"v{i}": operand(kind, op, values[i]) for i, (kind, op) in enumerate(self.slots)}


class _Plans:
    """The most recent plans of one dialect and kind of userName, shared by every planner of
    the process: a plan depends on nothing else, and each harness world builds a new SP whose
    planner would otherwise build and compile its statements again."""

    def __init__(self) -> None:
        self.plans: OrderedDict[Any, Plan] = OrderedDict()
        self.lock = threading.Lock()
        self.shapes = KnownShapes()


_SHARED: dict[tuple[str, Kind], _Plans] = {}
_SHARED_LOCK = threading.Lock()


def _shared_plans(dialect: str, user_name_kind: Kind) -> _Plans:
    with _SHARED_LOCK:
        return _SHARED.setdefault((dialect, user_name_kind), _Plans())


class QueryPlanner:
    """Plans list and search queries, keeping the most recent plans: IdPs look users up with
    the same filter shape again and again (``userName eq "..."``), and building a statement
    costs more than running it."""

    def __init__(self, dialect: str, size: int = 256, user_name_kind: Kind = "ci") -> None:
        self.dialect = dialect
        self.size = size
        self.user_name_kind = user_name_kind
        shared = _shared_plans(dialect, user_name_kind)
        self._plans = shared.plans
        self._lock = shared.lock
        self._shapes = shared.shapes

    def plan(
        self, rt: ResourceType, filter_text: str | None, sort_by: str | None, descending: bool
    ) -> tuple[Plan, dict[str, Any]]:
        values: list[Any] = []
        shape = None
        if filter_text:
            shape = self._shapes.shape(filter_text, rt, _parsed_shape, values)
        key = (rt.name, shape, sort_by.lower() if sort_by else None, descending)
        with self._lock:
            plan = self._plans.get(key)
            if plan is not None:
                self._plans.move_to_end(key)
        if plan is None:
            plan = self._build(rt, shape, sort_by, descending)
            with self._lock:
                self._plans[key] = plan
                if len(self._plans) > self.size:
                    self._plans.popitem(last=False)
        return plan, plan.parameters(values)

    def _build(
        self, rt: ResourceType, shape: Filter | None, sort_by: str | None, descending: bool
    ) -> Plan:
        compiler = FilterCompiler(rt, self.dialect, self.user_name_kind)
        conditions = [
            resources.c.org_pk == bindparam("org_pk"),
            resources.c.rtype == bindparam("rtype"),
        ]
        if shape is not None:
            conditions.append(compiler.compile(shape))
        order = compiler.order_by(sort_by, descending)
        # A user's groups come with the user: one round trip, not two (scim.groups_column).
        columns = (*RESOURCE_COLUMNS, UserGroups()) if rt.name == "User" else RESOURCE_COLUMNS
        rows = (
            select(*columns)
            .where(*conditions)
            .order_by(*order, resources.c.pk)
            .offset(bindparam("offset"))
            .limit(bindparam("limit"))
        )
        count = select(func.count()).select_from(resources).where(*conditions)
        slots = tuple(compiler.slots[i] for i in range(len(compiler.slots)))
        return Plan(Prepared(rows), Prepared(count), slots)
