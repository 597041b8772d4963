"""PATCH paths (RFC 7644 §3.5.2, §3.10): ``attr``, ``attr.sub``, ``urn:...:attr[.sub]``,
``attr[filter]`` and ``attr[filter].sub``, parsed with the filter grammar's own parser.

PATH = attrPath / valuePath [subAttr]. A bare schema URN is not a path here (attrPath needs an
attribute name after the URN); extension attributes are addressed as ``urn:...:User:attr``, or
set with a path-less operation whose value has the URN as a key. Errors are 400 invalidPath.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.protocol.scim.errors import ScimError, invalid_path
from harness.protocol.scim.filter import (
    AttrPath,
    Filter,
    Parser,
    ValuePath,
    format_filter,
    resolve_filter,
)
from harness.protocol.scim.schema import ResolvedAttribute, ResourceType


@dataclass(frozen=True)
class PatchPath:
    """``attr`` carries the sub-attribute of the ``attr.sub`` form; ``sub`` is the one after a
    value filter (``emails[type eq "work"].value``). At most one of them is set."""

    attr: AttrPath
    value_filter: Filter | None = None
    sub: str | None = None

    @property
    def target_sub(self) -> str | None:
        return self.attr.sub or self.sub

    def __str__(self) -> str:
        if self.value_filter is None:
            return str(self.attr)
        text = f"{self.attr}[{format_filter(self.value_filter)}]"
        return f"{text}.{self.sub}" if self.sub else text


def parse_path(text: str) -> PatchPath:
    """Parse a PATCH path; any error is a 400 invalidPath saying where and what."""
    parser = Parser(text, invalid_path, "path")
    first = parser.peek()
    if first is None:
        raise parser.fail("the path is empty", 0)
    token = parser.next("an attribute path")
    if token.kind != "word":
        raise parser.fail("expected an attribute name", token.start)
    attr = parser.attr_path(token)
    after = parser.peek()
    if after is not None and after.kind == "[":
        value_path, sub = parser.value_path(attr)
        parser.finish()
        return PatchPath(attr, value_path.filter, sub)
    parser.finish()
    return PatchPath(attr)


def resolve_patch_path(path: PatchPath, rt: ResourceType) -> tuple[PatchPath, ResolvedAttribute]:
    """``path`` with canonical names, and where it lands. Unknown attributes, sub-attributes of
    simple attributes and value filters on attributes that are not complex multi-valued are
    400 invalidPath; so is a value filter naming an unknown sub-attribute."""
    attr = path.attr
    top = rt.resolve(attr.attr, None, attr.urn)
    if top is None:
        whole = f"{attr.urn}:{attr.attr}" if attr.urn else attr.attr
        if rt.extension(whole) is not None:
            raise invalid_path(
                f"'{whole}' is a schema, not an attribute: use '{whole}:attributeName' or a "
                "path-less operation with the schema URN as a key of the value"
            )
        raise invalid_path(f"unknown attribute '{attr}'")
    resolved = rt.resolve(attr.attr, path.target_sub, attr.urn)
    if resolved is None:
        raise invalid_path(f"'{top.attribute.name}' has no sub-attribute '{path.target_sub}'")
    urn = None if resolved.is_core else resolved.schema.id
    name = resolved.attribute.name
    sub = resolved.sub_attribute.name if resolved.sub_attribute else None
    value_filter = path.value_filter
    if value_filter is not None:
        if not (resolved.attribute.is_complex and resolved.attribute.multi_valued):
            raise invalid_path(f"'{name}' is not multi-valued and complex; it takes no '[...]'")
        try:
            canonical = resolve_filter(ValuePath(AttrPath(urn, name), value_filter), rt)
        except ScimError as error:
            raise invalid_path(f"in the value filter of '{name}': {error.detail}") from None
        if not isinstance(canonical, ValuePath):  # resolve_filter keeps the shape
            raise invalid_path(f"invalid value filter on '{name}'")
        value_filter = canonical.filter
        return PatchPath(AttrPath(urn, name), value_filter, sub), resolved
    return PatchPath(AttrPath(urn, name, sub)), resolved
