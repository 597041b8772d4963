"""Hypothesis strategies for SCIM filters and User documents.

Public, because the reference SP's SQL-versus-reference-evaluator test imports them. Values come
from small alphabets in mixed case so that comparisons actually match and case rules matter.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import strategies as st

from harness.protocol.scim.filter import (
    And,
    AttrPath,
    Compare,
    Filter,
    Not,
    Or,
    Present,
    ValuePath,
)
from harness.protocol.scim.schema import (
    ENTERPRISE_USER_SCHEMA,
    USER_SCHEMA,
    ResourceType,
)

WORDS = ("a", "A", "ab", "aB", "Ab", "b", "B", "ba", "abc", "ABC", "a@x", "A@X", "")
EMAIL_TYPES = ("work", "Work", "home", "other")
_BASE = datetime(2024, 1, 1, tzinfo=UTC)
INSTANTS = tuple(
    _BASE + timedelta(seconds=s, microseconds=us) for s in (0, 1, 3600) for us in (0, 500000)
)

# (path, kind) over which filters are generated; kind picks operators and literals.
USER_PATHS: tuple[tuple[AttrPath, str], ...] = (
    (AttrPath(None, "userName"), "string"),
    (AttrPath(None, "displayName"), "string"),
    (AttrPath(None, "name", "givenName"), "string"),
    (AttrPath(None, "name", "familyName"), "string"),
    (AttrPath(None, "title"), "string"),
    (AttrPath(None, "externalId"), "string"),
    (AttrPath(None, "active"), "boolean"),
    (AttrPath(None, "emails", "value"), "string"),
    (AttrPath(None, "emails", "type"), "string"),
    (AttrPath(None, "emails", "primary"), "boolean"),
    (AttrPath(None, "emails"), "multi-complex"),  # compares emails.value (RFC example)
    (AttrPath(None, "name"), "complex"),
    (AttrPath(ENTERPRISE_USER_SCHEMA, "employeeNumber"), "string"),
    (AttrPath(ENTERPRISE_USER_SCHEMA, "department"), "string"),
    (AttrPath(None, "meta", "created"), "dateTime"),
    (AttrPath(None, "meta", "lastModified"), "dateTime"),
)
EMAIL_SUB_PATHS: tuple[tuple[str, str], ...] = (
    ("value", "string"),
    ("type", "string"),
    ("primary", "boolean"),
)
GROUP_PATHS: tuple[tuple[AttrPath, str], ...] = (
    (AttrPath(None, "displayName"), "string"),
    (AttrPath(None, "externalId"), "string"),
    (AttrPath(None, "members", "value"), "string"),
    (AttrPath(None, "members", "display"), "string"),
    (AttrPath(None, "members"), "multi-complex"),
    (AttrPath(None, "meta", "created"), "dateTime"),
)
MEMBER_SUB_PATHS: tuple[tuple[str, str], ...] = (("value", "string"), ("display", "string"))

_OPS = {
    "string": ("eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"),
    "multi-complex": ("eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"),
    "boolean": ("eq", "ne"),
    "dateTime": ("eq", "ne", "gt", "ge", "lt", "le"),
    "complex": (),
}


def words() -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(WORDS), st.text(alphabet="aAbB@", max_size=3))


def instant_spellings() -> st.SearchStrategy[str]:
    """One of INSTANTS, written in UTC or with an offset, with or without a fraction."""

    def spell(instant: datetime, hours: int, zulu: bool) -> str:
        local = instant.astimezone(timezone(timedelta(hours=hours)))
        text = local.isoformat()
        return text.replace("+00:00", "Z") if zulu else text

    return st.builds(spell, st.sampled_from(INSTANTS), st.sampled_from((0, 2, -5)), st.booleans())


def _respell(name: str, flips: list[bool]) -> str:
    """Change the case of some letters: attribute names match without regard to case."""
    return "".join(c.swapcase() if flip else c for c, flip in zip(name, flips, strict=False))


@st.composite
def _spelled(draw: st.DrawFn, path: AttrPath, core_urn: str) -> AttrPath:
    """``path`` as a client might write it: letters in another case, core URN or not."""
    if not draw(st.booleans()):
        return path
    flips = draw(st.lists(st.booleans(), min_size=40, max_size=40))
    urn = path.urn
    if urn is None and draw(st.booleans()):
        urn = core_urn
    if urn is not None and draw(st.booleans()):
        urn = urn.upper()
    return AttrPath(
        urn,
        _respell(path.attr, flips),
        _respell(path.sub, flips[20:]) if path.sub else None,
    )


def _comparison(path: AttrPath, kind: str, core_urn: str | None) -> st.SearchStrategy[Filter]:
    spelled = _spelled(path, core_urn) if core_urn else st.just(path)
    present: st.SearchStrategy[Filter] = st.builds(Present, spelled)
    ops = _OPS[kind]
    if not ops:
        return present
    values: st.SearchStrategy[Any]
    if kind == "boolean":
        values = st.booleans()
    elif kind == "dateTime":
        values = instant_spellings()
    else:
        values = words()
    compare = st.builds(Compare, spelled, st.sampled_from(ops), values)
    null = st.builds(Compare, spelled, st.sampled_from(("eq", "ne")), st.none())
    return st.one_of(present, compare, compare, compare, null)


def _combine(children: st.SearchStrategy[Filter]) -> st.SearchStrategy[Filter]:
    return st.one_of(
        st.builds(And, children, children),
        st.builds(Or, children, children),
        st.builds(Not, children),
    )


def _value_filters(
    parent: AttrPath, subs: tuple[tuple[str, str], ...]
) -> st.SearchStrategy[Filter]:
    leaves = st.one_of(*(_comparison(AttrPath(None, name), kind, None) for name, kind in subs))
    inner = st.recursive(leaves, _combine, max_leaves=3)
    return st.builds(ValuePath, st.just(parent), inner)


def filters(rt: ResourceType) -> st.SearchStrategy[Filter]:
    """Filters that ``resolve_filter(f, rt)`` accepts, for the User or the Group resource type."""
    if rt.name == "Group":
        paths, parent, subs = GROUP_PATHS, AttrPath(None, "members"), MEMBER_SUB_PATHS
    else:
        paths, parent, subs = USER_PATHS, AttrPath(None, "emails"), EMAIL_SUB_PATHS
    leaves = st.one_of(
        *(_comparison(path, kind, rt.schema.id) for path, kind in paths),
        _value_filters(parent, subs),
    )
    return st.recursive(leaves, _combine, max_leaves=6)


def _datetime_text(instant: datetime) -> str:
    text = instant.strftime("%Y-%m-%dT%H:%M:%S")
    if instant.microsecond:
        text += "." + f"{instant.microsecond:06d}".rstrip("0")
    return text + "Z"


@st.composite
def _emails(draw: st.DrawFn) -> list[dict[str, Any]]:
    count = draw(st.integers(0, 3))
    primary_index = draw(st.one_of(st.none(), st.integers(0, 2)))
    emails = []
    for index in range(count):
        email: dict[str, Any] = {}
        if draw(st.integers(0, 5)):
            email["value"] = draw(words())
        if draw(st.booleans()):
            email["type"] = draw(st.sampled_from(EMAIL_TYPES))
        if index == primary_index:
            email["primary"] = True
        elif draw(st.booleans()):
            email["primary"] = False
        if not email:  # coerce drops empty elements, so a stored document has none
            email["value"] = draw(words())
        emails.append(email)
    return emails


@st.composite
def user_documents(draw: st.DrawFn) -> dict[str, Any]:
    """User documents as a server serves them: canonical names, extension attributes under
    the extension's URN, and values from the same small alphabets as ``filters``."""
    created = draw(st.sampled_from(INSTANTS))
    modified = max(created, draw(st.sampled_from(INSTANTS)))
    user_id = draw(st.uuids()).hex
    doc: dict[str, Any] = {
        "schemas": [USER_SCHEMA],
        "id": user_id,
        "userName": draw(words().filter(bool)),
        "meta": {
            "resourceType": "User",
            "created": _datetime_text(created),
            "lastModified": _datetime_text(modified),
            "location": f"https://sp.example/scim/v2/Users/{user_id}",
            "version": 'W/"1"',
        },
    }
    for key in ("displayName", "title", "externalId"):
        if draw(st.booleans()):
            doc[key] = draw(words())
    if draw(st.booleans()):
        doc["active"] = draw(st.booleans())
    name = {key: draw(words()) for key in ("givenName", "familyName") if draw(st.booleans())}
    if name:
        doc["name"] = name
    emails = draw(_emails())
    if emails:
        doc["emails"] = emails
    enterprise = {
        key: draw(words()) for key in ("employeeNumber", "department") if draw(st.booleans())
    }
    if enterprise:
        doc["schemas"].append(ENTERPRISE_USER_SCHEMA)
        doc[ENTERPRISE_USER_SCHEMA] = enterprise
    return doc
