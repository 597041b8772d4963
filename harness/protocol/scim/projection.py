"""``attributes`` and ``excludedAttributes`` (RFC 7644 §3.4.2.5, §3.9) with the ``returned``
characteristic of RFC 7643 §2.4: ``always`` attributes survive any projection, ``never`` ones are
never served, ``request`` ones only when asked for by name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from harness.protocol.scim.schema import Attribute, ResourceType


@dataclass(frozen=True)
class _Selector:
    schema_id: str
    attribute: str  # canonical name; "" selects a whole extension
    sub: str | None


def _parse_list(raw: str | list[str] | None) -> list[str]:
    if raw is None:
        return []
    items = raw.split(",") if isinstance(raw, str) else raw
    return [item.strip() for item in items if isinstance(item, str) and item.strip()]


def _selectors(rt: ResourceType, raw: str | list[str] | None) -> list[_Selector]:
    """Resolve each listed path; paths naming nothing in the schema select nothing (a client
    asking for an attribute this server does not have gets the rest, as with an unset one)."""
    out = []
    for item in _parse_list(raw):
        urn, rest = rt.split_urn(item)
        if urn is not None and rest == "":
            ext = rt.extension(urn)
            if ext is not None:
                out.append(_Selector(ext.id, "", None))
            continue
        attr, _, sub = rest.partition(".")
        resolved = rt.resolve(attr, sub or None, urn)
        if resolved is not None:
            out.append(
                _Selector(
                    resolved.schema.id,
                    resolved.attribute.name,
                    resolved.sub_attribute.name if resolved.sub_attribute else None,
                )
            )
    return out


def wants_attribute(
    rt: ResourceType,
    name: str,
    attributes: str | list[str] | None,
    excluded: str | list[str] | None,
) -> bool:
    """Whether a core attribute (e.g. ``members``) will be served, so the store can skip
    loading what the client excluded (Entra asks for groups with ``excludedAttributes=members``)."""
    included = _selectors(rt, attributes)
    if included:
        return any(s.schema_id == rt.schema.id and s.attribute == name for s in included)
    return not any(
        s.schema_id == rt.schema.id and s.attribute == name and s.sub is None
        for s in _selectors(rt, excluded)
    )


def project(
    doc: dict[str, Any],
    rt: ResourceType,
    attributes: str | list[str] | None = None,
    excluded: str | list[str] | None = None,
) -> dict[str, Any]:
    """The served form of ``doc``. ``attributes`` wins over ``excludedAttributes`` when both
    are given (RFC 7644 §3.4.2.5 allows either; a client sending both means the inclusion)."""
    included = _selectors(rt, attributes)
    excluded_selectors = [] if included else _selectors(rt, excluded)
    out: dict[str, Any] = {}
    for key, value in doc.items():
        if key == "schemas":
            out[key] = value
            continue
        ext = rt.extension(key) if key.lower().startswith("urn:") else None
        if ext is not None:
            kept = _project_extension(ext.id, value, rt, included, excluded_selectors)
            if kept:
                out[key] = kept
            continue
        attribute = rt.resolve(key)
        if attribute is None:
            continue
        kept_value = _project_attribute(
            rt.schema.id, attribute.attribute, value, included, excluded_selectors
        )
        if kept_value is not None:
            out[key] = kept_value
    return out


def _project_extension(
    schema_id: str,
    value: Any,
    rt: ResourceType,
    included: list[_Selector],
    excluded: list[_Selector],
) -> dict[str, Any]:
    if not isinstance(value, dict):
        return {}
    whole_included = any(s.schema_id == schema_id and s.attribute == "" for s in included)
    if any(s.schema_id == schema_id and s.attribute == "" for s in excluded):
        return {}
    out = {}
    for key, sub_value in value.items():
        resolved = rt.resolve(key, None, schema_id)
        if resolved is None:
            continue
        kept = (
            _project_attribute(schema_id, resolved.attribute, sub_value, [], excluded)
            if whole_included
            else _project_attribute(schema_id, resolved.attribute, sub_value, included, excluded)
        )
        if kept is not None:
            out[key] = kept
    return out


def _project_attribute(
    schema_id: str,
    attribute: Attribute,
    value: Any,
    included: list[_Selector],
    excluded: list[_Selector],
) -> Any:
    if attribute.returned == "never":
        return None
    if attribute.returned == "always":
        return value
    mine = [s for s in included if s.schema_id == schema_id and s.attribute == attribute.name]
    if included:
        if not mine:
            return None
        subs = {s.sub for s in mine}
        if None in subs or not attribute.is_complex:
            return value
        return _keep_subs(value, attribute, {s for s in subs if s is not None}, keep=True)
    if attribute.returned == "request":
        return None
    mine = [s for s in excluded if s.schema_id == schema_id and s.attribute == attribute.name]
    if not mine:
        return value
    subs = {s.sub for s in mine}
    if None in subs or not attribute.is_complex:
        return None
    return _keep_subs(value, attribute, {s for s in subs if s is not None}, keep=False)


def _keep_subs(value: Any, attribute: Attribute, subs: set[str], *, keep: bool) -> Any:
    def pick(element: Any) -> Any:
        if not isinstance(element, dict):
            return element
        out = {}
        for key, sub_value in element.items():
            sub = attribute.sub(key)
            always = sub is not None and sub.returned == "always"
            listed = sub is not None and sub.name in subs
            if always or listed == keep:
                out[key] = sub_value
        return out

    if isinstance(value, list):
        picked = [pick(element) for element in value]
        return [element for element in picked if element] or None
    return pick(value) or None
